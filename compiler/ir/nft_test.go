package ir

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNFTChainRules adds rules to chains in interleaved orders, across
// more than one rule slab, and checks every chain keeps exactly its own
// rules in order.
func TestNFTChainRules(t *testing.T) {
	tests := []struct {
		reason string
		chains int
		order  func(i int) int // chain of the i-th rule
		rules  int
	}{
		{"one chain", 1, func(int) int { return 0 }, 10},
		{"chains one after another", 3, func(i int) int { return i / 4 }, 12},
		{"round robin", 3, func(i int) int { return i % 3 }, 12},
		{"back to an earlier chain", 3, func(i int) int { return []int{0, 0, 1, 1, 0, 2, 0, 1}[i] }, 8},
		{"more rules than a slab", 2, func(i int) int { return i * 2 / (2*slabSize + 9) }, 2*slabSize + 9},
		{"many short chains across slabs", slabSize, func(i int) int { return i / 3 }, 3 * slabSize},
	}
	for _, tc := range tests {
		tb := NewNFT("ip", "kube-proxy", "")
		want := make([][]NFTRule, tc.chains)
		for i := 0; i < tc.chains; i++ {
			tb.NewChain(fmt.Sprintf("c%d", i))
		}
		for i := 0; i < tc.rules; i++ {
			ci := tc.order(i)
			r := NFTRule{Text: fmt.Sprintf("rule %d", i), Origin: int32(i)}
			tb.Chains[ci].AddRule(r.Origin, r.Text, "")
			want[ci] = append(want[ci], r)
		}
		got := make([][]NFTRule, tc.chains)
		for i, c := range tb.Chains {
			got[i] = c.Rules
			if cap(c.Rules) != len(c.Rules) {
				t.Errorf("%s: chain %s has room after its rules (len %d cap %d)", tc.reason, c.Name, len(c.Rules), cap(c.Rules))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: rules per chain (-want +got):\n%s", tc.reason, diff)
		}
	}
}

// TestNFTLookups checks that chains, sets and maps added without the
// name index (NewChain, NewSet) or with it (AddChain, AddSet, AddMap) are
// all found by name, and that adding an existing name returns it.
func TestNFTLookups(t *testing.T) {
	tb := NewNFT("ip", "kube-proxy", "")
	a := tb.AddChain("a")
	b := tb.NewChain("b")
	if tb.AddChain("a") != a || tb.AddChain("b") != b {
		t.Errorf("AddChain of an existing chain did not return it")
	}
	c := tb.NewChain("c")
	s := tb.NewSet("s", "ipv4_addr", "")
	m := tb.AddMap("m", "ipv4_addr : verdict", "")
	s2 := tb.NewSet("s2", "ipv4_addr", "")
	if tb.AddSet("s", "other", "") != s || tb.AddMap("s2", "other", "") != s2 || tb.AddSet("m", "other", "") != m {
		t.Errorf("AddSet/AddMap of an existing set or map did not return it")
	}
	tests := []struct {
		name      string
		chain     *NFTChain
		set       *NFTSet
		wantChain *NFTChain
		wantSet   *NFTSet
	}{
		{"a", tb.Chain("a"), tb.Set("a"), a, nil},
		{"b", tb.Chain("b"), tb.Set("b"), b, nil},
		{"c", tb.Chain("c"), tb.Set("c"), c, nil},
		{"s", tb.Chain("s"), tb.Set("s"), nil, s},
		{"m", tb.Chain("m"), tb.Set("m"), nil, m},
		{"s2", tb.Chain("s2"), tb.Set("s2"), nil, s2},
		{"missing", tb.Chain("missing"), tb.Set("missing"), nil, nil},
	}
	for _, tc := range tests {
		if tc.chain != tc.wantChain || tc.set != tc.wantSet {
			t.Errorf("%s: Chain = %p, Set = %p; want %p, %p", tc.name, tc.chain, tc.set, tc.wantChain, tc.wantSet)
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names(tb.Chains)); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
	if len(tb.Sets) != 2 || len(tb.Maps) != 1 {
		t.Errorf("got %d sets and %d maps, want 2 and 1", len(tb.Sets), len(tb.Maps))
	}
}

func names(cs []*NFTChain) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestNFTSetGrow checks that a grown set still replaces elements by key.
func TestNFTSetGrow(t *testing.T) {
	tests := []struct {
		reason string
		grow   int
		add    []NFTElement
		want   []NFTElement
	}{
		{"grown before any element", 4,
			[]NFTElement{{Key: "a", Value: "1"}, {Key: "b"}, {Key: "a", Value: "2"}},
			[]NFTElement{{Key: "a", Value: "2"}, {Key: "b"}}},
		{"not grown", 0,
			[]NFTElement{{Key: "a", Value: "1"}, {Key: "a", Value: "3"}},
			[]NFTElement{{Key: "a", Value: "3"}}},
	}
	for _, tc := range tests {
		s := NewNFT("ip", "t", "").AddSet("s", "ipv4_addr", "")
		if tc.grow > 0 {
			s.Grow(tc.grow)
			if cap(s.Elements) < tc.grow {
				t.Errorf("%s: cap %d after Grow(%d)", tc.reason, cap(s.Elements), tc.grow)
			}
		}
		for _, e := range tc.add {
			s.AddElement(e)
		}
		if diff := cmp.Diff(tc.want, s.Elements); diff != "" {
			t.Errorf("%s: elements (-want +got):\n%s", tc.reason, diff)
		}
	}
}
