package compiler

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParallelModelSame checks that a model built on several CPUs equals
// the one built in one pass, field by field.
func TestParallelModelSame(t *testing.T) {
	CheckSplitSameAsOnePass(t, "model", func(_ *testing.T, snap *Snapshot, fam Family) *Model {
		opts := DefaultOptions()
		opts.Family = fam
		return BuildModel(snap, &opts)
	},
		cmp.AllowUnexported(ServicePort{}),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	)
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
