package conformance

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/conformance/gen"
)

// casesDir is the main module's golden cases (see testdata/cases/README.md).
const casesDir = "../testdata/cases"

var goldenFile = regexp.MustCompile(`^([a-z]+)-(ipv4|ipv6)\.golden$`)

var fill = flag.Bool("fill", false, "TestGolden: write kube-proxy's output into golden files that are empty (to add a golden file, create it empty first)")

// TestGolden checks every golden file against kube-proxy: the golden
// files are what kubeproxyc's own golden test compares its output with, so
// this proves they hold what kube-proxy programs.
func TestGolden(t *testing.T) {
	dirs, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatalf("reading %s: %v", casesDir, err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(casesDir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			m := goldenFile.FindStringSubmatch(f.Name())
			if m == nil {
				continue
			}
			name := d.Name() + "/" + strings.TrimSuffix(f.Name(), ".golden")
			t.Run(name, func(t *testing.T) {
				mode, ok := modeNamed(m[1])
				if !ok {
					t.Skipf("mode %s is not compared yet", m[1])
				}
				fam := compiler.IPv4
				if m[2] == "ipv6" {
					fam = compiler.IPv6
				}
				flags, err := os.ReadFile(filepath.Join(dir, "flags"))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				node, err := gen.ParseArgs(strings.Fields(string(flags)))
				if err != nil {
					t.Fatalf("flags: %v", err)
				}
				input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				in, err := Load(input, node)
				if err != nil {
					t.Fatal(err)
				}
				cfg := KubeProxyConfig(node, mode.Name, fam, in.KubeProxy)
				want, err := mode.KubeProxy(&cfg, in.KubeProxy)
				if err != nil {
					t.Fatalf("kube-proxy: %v", err)
				}
				golden, err := os.ReadFile(filepath.Join(dir, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if *fill && len(golden) == 0 {
					if err := os.WriteFile(filepath.Join(dir, f.Name()), want, 0o644); err != nil {
						t.Fatal(err)
					}
					t.Logf("wrote %s from kube-proxy", filepath.Join(dir, f.Name()))
					return
				}
				if !bytes.Equal(golden, want) {
					t.Errorf("%s is not what kube-proxy programs (-kube-proxy +golden):\n%s",
						filepath.Join(dir, f.Name()), UnifiedDiff(want, golden, "kube-proxy", f.Name()))
				}
			})
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("no golden files under %s", casesDir)
	}
}

func modeNamed(name string) (Mode, bool) {
	for _, m := range Modes {
		if m.Name == name {
			return m, true
		}
	}
	return Mode{}, false
}
