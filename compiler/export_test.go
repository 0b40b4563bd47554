package compiler

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
)

// SetParallelMinEndpoints sets the model size from which lowering is split
// across CPUs, for tests; restore puts the old one back.
func SetParallelMinEndpoints(n int) (restore func()) {
	old := parallelMinEndpoints
	parallelMinEndpoints = n
	return func() { parallelMinEndpoints = old }
}

// CheckSplitSameAsOnePass is the frame of the tests that hold work split
// across CPUs to what one pass gives. For the benchmark cluster (big
// enough to be split) and every golden input, in both families, it calls
// build on one CPU, then with splitting forced on 2, 3 and 7 CPUs, and
// reports every result that differs from the one-CPU one (what names the
// result in the message; opts are go-cmp's options for T).
func CheckSplitSameAsOnePass[T any](t *testing.T, what string, build func(t *testing.T, snap *Snapshot, fam Family) T, opts ...cmp.Option) {
	t.Helper()
	var bench bytes.Buffer
	if err := benchgen.YAML(&bench, 2500, 10); err != nil {
		t.Fatal(err)
	}
	names := []string{"bench"}
	inputs := map[string][]byte{"bench": bench.Bytes()}
	files, err := filepath.Glob("../testdata/cases/*/input.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs (%v)", err)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names, inputs[f] = append(names, f), data
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, name := range names {
		snap, err := Load([]Source{{Name: name, Data: inputs[name]}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, fam := range []Family{IPv4, IPv6} {
			runtime.GOMAXPROCS(1)
			want := build(t, snap, fam)
			restore := SetParallelMinEndpoints(0)
			for _, procs := range []int{2, 3, 7} {
				runtime.GOMAXPROCS(procs)
				if diff := cmp.Diff(want, build(t, snap, fam), opts...); diff != "" {
					t.Errorf("%s %s, %d CPUs: %s differs from one pass (-one +split):\n%s", name, fam, procs, what, diff)
				}
			}
			restore()
		}
	}
}
