package compiler_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// TestParallelIPVSSameBytes checks that IPVS lowering, whose virtual
// servers and sets are ordered side by side for a big model, writes what
// one pass writes: the benchmark cluster and, with splitting forced, every
// golden input, in both families.
func TestParallelIPVSSameBytes(t *testing.T) {
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
	state := func(snap *compiler.Snapshot, opts compiler.Options) string {
		p, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := render.IPVSState(&b, p.IPVS); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, data := range inputs {
		snap, err := compiler.Load([]compiler.Source{{Name: name, Data: data}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, fam := range []compiler.Family{compiler.IPv4, compiler.IPv6} {
			opts := compiler.DefaultOptions()
			opts.Mode, opts.Family = compiler.ModeIPVS, fam
			runtime.GOMAXPROCS(1)
			want := state(snap, opts)
			restore := compiler.SetParallelMinEndpoints(0)
			runtime.GOMAXPROCS(2)
			if diff := cmp.Diff(want, state(snap, opts)); diff != "" {
				t.Errorf("%s %s: output differs from one pass (-one +side by side):\n%s", name, fam, diff)
			}
			restore()
		}
	}
}
