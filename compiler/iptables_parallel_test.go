package compiler_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// renderIPTables compiles and renders one snapshot in iptables mode, and
// lists the IR's rules after the payload.
func renderIPTables(t *testing.T, snap *compiler.Snapshot, opts compiler.Options, standalone bool) string {
	t.Helper()
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: standalone})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := render.IPTablesRestore(&b, p.IPTables); err != nil {
		t.Fatal(err)
	}
	// the rules as the IR indexes them, with their chains and origins
	for _, tb := range p.IPTables.Tables {
		for i, r := range tb.Rules {
			origin := ""
			if r.Origin > 0 {
				origin = p.IPTables.Origins[r.Origin-1].String()
			}
			fmt.Fprintf(&b, "%s %s | %s\n", r.Chain, origin, tb.Line(i))
		}
	}
	return b.String()
}

// TestParallelLoweringSameBytes checks that lowering split across CPUs
// writes what one pass writes: the benchmark cluster (big enough to be
// split) and, with splitting forced, every golden input.
func TestParallelLoweringSameBytes(t *testing.T) {
	var in bytes.Buffer
	if err := benchgen.YAML(&in, 2500, 10); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{"bench": in.Bytes()}
	files, _ := filepath.Glob("../testdata/cases/*/input.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, data := range inputs {
		snap, err := compiler.Load([]compiler.Source{{Name: name, Data: data}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, fam := range []compiler.Family{compiler.IPv4, compiler.IPv6} {
			for _, standalone := range []bool{false, true} {
				opts := compiler.DefaultOptions()
				opts.Family = fam
				runtime.GOMAXPROCS(1)
				want := renderIPTables(t, snap, opts, standalone)
				restore := compiler.SetParallelMinEndpoints(0)
				for _, procs := range []int{2, 3, 7} {
					runtime.GOMAXPROCS(procs)
					if diff := cmp.Diff(want, renderIPTables(t, snap, opts, standalone)); diff != "" {
						t.Errorf("%s %s standalone=%v, %d CPUs: output differs from one pass (-one +split):\n%s", name, fam, standalone, procs, diff)
					}
				}
				restore()
			}
		}
	}
}
