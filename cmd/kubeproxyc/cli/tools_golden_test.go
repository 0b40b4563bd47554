package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// toolsDir holds the golden cases of the commands for people (diff,
// explain, inspect, lint, graph): testdata/tools/<command>/<case>/ with
//
//   - args: the command line after "kubeproxyc", one line, run with the
//     case directory as the working directory;
//   - stdout.golden: what the command prints;
//   - exitcode: its exit status, when not 0;
//   - any input files the arguments name.
//
// With -update, stdout.golden and exitcode are rewritten.
const toolsDir = "../../../testdata/tools"

func TestToolsGolden(t *testing.T) {
	cmds, err := os.ReadDir(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		cases, err := os.ReadDir(filepath.Join(root, c.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range cases {
			dir := filepath.Join(root, c.Name(), cs.Name())
			t.Run(c.Name()+"/"+cs.Name(), func(t *testing.T) {
				runToolsCase(t, dir)
			})
		}
	}
}

func runToolsCase(t *testing.T, dir string) {
	argLine, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	args, err := ir.Tokenize(strings.TrimSpace(string(argLine)))
	if err != nil {
		t.Fatalf("args: %v", err)
	}
	wantCode := 0
	if data, err := os.ReadFile(filepath.Join(dir, "exitcode")); err == nil {
		if wantCode, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
			t.Fatalf("exitcode: %v", err)
		}
	}
	t.Chdir(dir)
	out, stderr, code := runCLI(t, nil, args...)
	golden := filepath.Join(dir, "stdout.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		exitFile := filepath.Join(dir, "exitcode")
		if code != 0 {
			err = os.WriteFile(exitFile, []byte(strconv.Itoa(code)+"\n"), 0o644)
		} else {
			err = os.Remove(exitFile)
			if os.IsNotExist(err) {
				err = nil
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if code != wantCode {
		t.Errorf("kubeproxyc %s: exit %d, want %d\nstderr:\n%s", argLine, code, wantCode, stderr)
	}
	if diff := cmp.Diff(string(want), out); diff != "" {
		t.Errorf("kubeproxyc %s: stdout mismatch (-want +got):\n%s", argLine, diff)
	}
}

// TestGraphSVG renders a graph through Graphviz's dot, when installed.
func TestGraphSVG(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz's dot is not installed")
	}
	out, stderr, code := runCLI(t, nil, "graph", "-f", "../../../examples/shop.yaml", "--service", "shop/web", "--format", "svg")
	if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "KUBE&#45;SVC&#45;67NZLRHBNDSAWJRO") {
		t.Errorf("graph --format svg: exit %d, output without an <svg> holding the chains\n%.300s\n%s", code, out, stderr)
	}
}
