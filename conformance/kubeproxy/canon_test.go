package kubeproxy

import (
	"strings"
	"testing"
)

func TestServicesComment(t *testing.T) {
	for _, tc := range []struct {
		line, name, rest string
		ok               bool
	}{
		{`-A KUBE-SERVICES -m comment --comment "ns/web:http cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j KUBE-SVC-X`, "ns/web:http", "cluster IP", true},
		{`-A KUBE-SERVICES -m comment --comment "ns/web has no local endpoints" -m tcp -j DROP`, "ns/web", "has no local endpoints", true},
		{`-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -j KUBE-NODEPORTS`, "kubernetes", "service nodeports; NOTE: this must be the last rule in this chain", true},
		{`-A KUBE-NODEPORTS -m comment --comment ns/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-X`, "", "", false},
	} {
		name, rest, ok := servicesComment(tc.line)
		if name != tc.name || rest != tc.rest || ok != tc.ok {
			t.Errorf("servicesComment(%q) = %q, %q, %v; want %q, %q, %v", tc.line, name, rest, ok, tc.name, tc.rest, tc.ok)
		}
	}
}

func TestSortSEPRun(t *testing.T) {
	ep := map[string]string{"KUBE-SEP-A": "10.0.0.2:80", "KUBE-SEP-B": "10.0.0.10:80", "KUBE-SEP-C": "10.0.0.1:80"}
	less := func(a, b string) bool { return ep[a] < ep[b] }
	for _, tc := range []struct{ in, want string }{
		{
			":KUBE-SEP-A - [0:0]\n:KUBE-SEP-B - [0:0]\n:KUBE-SEP-C - [0:0]\n",
			// "10.0.0.10:80" < "10.0.0.1:80" < "10.0.0.2:80" as strings
			":KUBE-SEP-B - [0:0]\n:KUBE-SEP-C - [0:0]\n:KUBE-SEP-A - [0:0]\n",
		},
		{
			"-A KUBE-SEP-A -s 1\n-A KUBE-SEP-A -j DNAT 2\n-A KUBE-SEP-C -s 3\n-A KUBE-SEP-C -j DNAT 4\n",
			"-A KUBE-SEP-C -s 3\n-A KUBE-SEP-C -j DNAT 4\n-A KUBE-SEP-A -s 1\n-A KUBE-SEP-A -j DNAT 2\n",
		},
	} {
		run := strings.SplitAfter(strings.TrimSuffix(tc.in, "\n"), "\n")
		for i := range run {
			if !strings.HasSuffix(run[i], "\n") {
				run[i] += "\n"
			}
		}
		sortSEPRun(run, less)
		if got := strings.Join(run, ""); got != tc.want {
			t.Errorf("sortSEPRun:\n%s\nwant:\n%s", got, tc.want)
		}
	}
}

func TestSortElements(t *testing.T) {
	in := "add map ip kube-proxy m { type ipv4_addr : verdict }\n" +
		"add element ip kube-proxy m { 10.0.0.2 : goto b }\n" +
		"add element ip kube-proxy m { 10.0.0.10 : goto a }\n" +
		"add element ip kube-proxy s { 2 }\n" +
		"add element ip kube-proxy s { 1 }\n" +
		"add rule ip kube-proxy c x\n"
	want := "add map ip kube-proxy m { type ipv4_addr : verdict }\n" +
		"add element ip kube-proxy m { 10.0.0.10 : goto a }\n" +
		"add element ip kube-proxy m { 10.0.0.2 : goto b }\n" +
		"add element ip kube-proxy s { 1 }\n" +
		"add element ip kube-proxy s { 2 }\n" +
		"add rule ip kube-proxy c x\n"
	if got := sortElements(in); got != want {
		t.Errorf("sortElements:\n%s\nwant:\n%s", got, want)
	}
}
