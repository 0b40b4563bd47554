package compiler

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
)

// TestParallelModelSame checks that a model built on several CPUs equals
// the one built in one pass, field by field: the benchmark cluster (big
// enough to be split) and, with splitting forced, every golden input.
func TestParallelModelSame(t *testing.T) {
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
	opt := []cmp.Option{
		cmp.AllowUnexported(ServicePort{}),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, data := range inputs {
		snap, err := Load([]Source{{Name: name, Data: data}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, fam := range []Family{IPv4, IPv6} {
			opts := DefaultOptions()
			opts.Family = fam
			runtime.GOMAXPROCS(1)
			want := BuildModel(snap, &opts)
			old := parallelMinEndpoints
			parallelMinEndpoints = 0
			for _, p := range []int{2, 3, 7} {
				runtime.GOMAXPROCS(p)
				if diff := cmp.Diff(want, BuildModel(snap, &opts), opt...); diff != "" {
					t.Errorf("%s %s, %d CPUs: model differs from one pass (-one +split):\n%s", name, fam, p, diff)
				}
			}
			parallelMinEndpoints = old
		}
	}
}

// TestSplitRuns: runs cover every item once, in order, with about equal
// weights, and small totals or one CPU give one run.
func TestSplitRuns(t *testing.T) {
	weights := []int{5, 1, 1, 1, 8, 0, 0, 2, 2, 10, 1, 1}
	total := 0
	for _, w := range weights {
		total += w
	}
	weight := func(i int) int { return weights[i] }
	old := parallelMinEndpoints
	defer func() { parallelMinEndpoints = old }()
	parallelMinEndpoints = 0
	for _, tc := range []struct {
		procs int
		want  []run // nil: only the properties are checked
	}{
		{1, []run{{0, 12}}},
		{2, []run{{0, 5}, {5, 12}}},           // 16 | 16
		{3, []run{{0, 5}, {5, 10}, {10, 12}}}, // 16 | 14 | 2: cut at the first item past each third
		{7, nil},
		{100, nil},
	} {
		got := splitRuns(len(weights), total, tc.procs, weight)
		if tc.want != nil {
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(run{})); diff != "" {
				t.Errorf("%d CPUs (-want +got):\n%s", tc.procs, diff)
			}
		}
		next := 0
		for _, r := range got {
			if r.from != next || r.to <= r.from {
				t.Errorf("%d CPUs: runs %v do not cover the items in order", tc.procs, got)
				break
			}
			next = r.to
		}
		if next != len(weights) || len(got) > tc.procs {
			t.Errorf("%d CPUs: runs %v: want at most %d runs covering %d items", tc.procs, got, tc.procs, len(weights))
		}
	}
	parallelMinEndpoints = total + 1
	if diff := cmp.Diff([]run{{0, 12}}, splitRuns(len(weights), total, 4, weight), cmp.AllowUnexported(run{})); diff != "" {
		t.Errorf("below the threshold (-want +got):\n%s", diff)
	}
}
