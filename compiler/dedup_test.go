package compiler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDedupEndpoints checks the rule kube-proxy's endpoint cache applies
// when one "ip:port" arrives several times (from several slices, taken in
// name order): the first copy stays unless a later one is not
// terminating; the last such copy wins.
func TestDedupEndpoints(t *testing.T) {
	type in struct {
		key  string
		term bool
		from string
	}
	for _, tc := range []struct {
		name string
		eps  []in
		want []string // "key@from"
	}{
		{"distinct, sorted by string", []in{{"10.0.0.2:80", false, "a"}, {"10.0.0.10:80", false, "a"}}, []string{"10.0.0.10:80@a", "10.0.0.2:80@a"}},
		{"later ready copy wins", []in{{"k", false, "a"}, {"k", false, "b"}}, []string{"k@b"}},
		{"terminating copy never replaces", []in{{"k", false, "a"}, {"k", true, "b"}}, []string{"k@a"}},
		{"first terminating stays if all terminate", []in{{"k", true, "a"}, {"k", true, "b"}}, []string{"k@a"}},
		{"ready replaces terminating", []in{{"k", true, "a"}, {"k", false, "b"}, {"k", true, "c"}}, []string{"k@b"}},
		{"last ready of several", []in{{"k", false, "a"}, {"k", true, "b"}, {"k", false, "c"}, {"j", false, "d"}}, []string{"j@d", "k@c"}},
		{"empty", nil, []string{}},
		// slices count in name order, whatever the input order
		{"later slice by name wins", []in{{"k", false, "ns/b"}, {"k", false, "ns/a"}}, []string{"k@ns/b"}},
		{"ready in a later-named slice replaces", []in{{"k", false, "ns/b"}, {"k", true, "ns/a"}}, []string{"k@ns/b"}},
		{"all terminating: first by name", []in{{"k", true, "ns/b"}, {"k", true, "ns/a"}}, []string{"k@ns/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var list []*Endpoint
			for _, e := range tc.eps {
				list = append(list, &Endpoint{String: e.key, Terminating: e.term, Source: &EndpointSource{Slice: e.from}})
			}
			got := []string{}
			for _, ep := range dedupEndpoints(list) {
				got = append(got, ep.String+"@"+ep.SliceName())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
