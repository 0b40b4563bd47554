package tools

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEditScript(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		want string
	}{
		{"equal", "abc", "abc", "=a =b =c"},
		{"insert middle", "ac", "abc", "=a +b =c"},
		{"delete before insert", "axc", "ayc", "=a -x +y =c"},
		{"all new", "", "ab", "+a +b"},
		{"all gone", "ab", "", "-a -b"},
		{"move", "abc", "bca", "-a =b =c +a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := strings.Split(tc.a, ""), strings.Split(tc.b, "")
			var got []string
			for _, e := range editScript(a, b) {
				switch e.op {
				case '+':
					got = append(got, "+"+b[e.j])
				default:
					got = append(got, string(e.op)+a[e.i])
				}
			}
			if diff := cmp.Diff(tc.want, strings.Join(got, " ")); diff != "" {
				t.Errorf("editScript(%q, %q) mismatch (-want +got):\n%s", tc.a, tc.b, diff)
			}
		})
	}
}

func TestOwnerFromComment(t *testing.T) {
	for in, want := range map[string]string{
		"ns/svc:p80 cluster IP": "ns/svc:p80",
		"ns/svc":                "ns/svc",
		"masquerade traffic for kube-system/dns:dns-tcp external destinations":         "kube-system/dns:dns-tcp",
		"other traffic to ns/lb will be dropped by KUBE-PROXY-FIREWALL":                "ns/lb",
		"ns/svc:http -> 10.244.1.2:8080":                                               "ns/svc:http",
		"kubernetes service portals":                                                   "",
		"kubernetes service nodeports; NOTE: this must be the last rule in this chain": "",
		"10.0.0.0/8 is not a name":                                                     "",
		"Upper/Case is not a name":                                                     "",
		"ns/-bad:port is not a name":                                                   "",
		"ns/svc:Bad port is not a name":                                                "",
	} {
		if got := ownerFromComment(in); got != want {
			t.Errorf("ownerFromComment(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDiffGroups checks grouping: items of a shared chain go to their own
// service port, the order between service ports in a shared chain is not
// a difference, and an object only one side has is reported with its
// owner.
func TestDiffGroups(t *testing.T) {
	chain := func(name, owner string, items ...Item) *Object {
		return &Object{Kind: "chain", Table: "nat", Name: name, Ordered: true, Owner: owner, Items: items}
	}
	old := &Ruleset{Name: "old", Objects: []*Object{
		chain("KUBE-SERVICES", "", Item{"-d 10.0.0.1/32 -j KUBE-SVC-A", "ns/a"}, Item{"-d 10.0.0.2/32 -j KUBE-SVC-B", "ns/b"}),
		chain("KUBE-SVC-A", "ns/a", Item{"-j KUBE-SEP-1", "ns/a"}),
		chain("KUBE-SVC-B", "ns/b", Item{"-j KUBE-SEP-2", "ns/b"}),
	}}
	new := &Ruleset{Name: "new", Objects: []*Object{
		chain("KUBE-SERVICES", "", Item{"-d 10.0.0.2/32 -j KUBE-SVC-B", "ns/b"}, Item{"-d 10.0.0.1/32 -j KUBE-SVC-A", "ns/a"}),
		chain("KUBE-SVC-A", "ns/a", Item{"-j KUBE-SEP-3", "ns/a"}),
		chain("KUBE-SVC-B", "ns/b", Item{"-j KUBE-SEP-2", "ns/b"}),
		chain("KUBE-SVC-C", "ns/c"),
	}}
	rep := Diff(old, new)
	var got []string
	for _, g := range rep.Groups {
		got = append(got, g.ServicePort+" "+g.Status)
		for _, od := range g.Objects {
			got = append(got, "  "+od.Title+" "+od.Status)
			for _, l := range od.Lines {
				got = append(got, "    "+l.Op+" "+l.Text)
			}
		}
	}
	want := []string{
		"ns/a changed",
		"  nat chain KUBE-SVC-A changed",
		"    - -A KUBE-SVC-A -j KUBE-SEP-1",
		"    + -A KUBE-SVC-A -j KUBE-SEP-3",
		"ns/c added",
		"  nat chain KUBE-SVC-C added",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff groups mismatch (-want +got):\n%s", diff)
	}
	if rep.Equal() {
		t.Error("Equal() = true")
	}
	if !Diff(old, old).Equal() {
		t.Error("a ruleset differs from itself")
	}
}
