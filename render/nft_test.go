package render

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

func TestNFT(t *testing.T) {
	tests := []struct {
		reason string
		build  func() *ir.NFT
		want   string
	}{{
		reason: "empty table without comment",
		build:  func() *ir.NFT { return ir.NewNFT("ip6", "t", "") },
		want:   "add table ip6 t\n",
	}, {
		reason: "objects sorted by name, sets before maps, rules in chain order, elements sorted by key",
		build: func() *ir.NFT {
			p := ir.NewNFT("ip", "kube-proxy", "rules for kube-proxy")
			p.AddChain("services").AddRule(0, "ip daddr . meta l4proto . th dport vmap @service-ips", "")
			p.AddBaseChain("nat-prerouting", "nat", "prerouting", -100).AddRule(0, "jump services", "")
			p.AddBaseChain("filter-output-pre-dnat", "filter", "output", -110)
			p.AddChain("reject-chain").Comment = "helper"
			p.Chain("reject-chain").AddRule(0, "reject", "")
			p.Chain("services").AddRule(0, "ip daddr @cluster-ips mark set mark or 0x00004000", "say \"hi\"")
			m := p.AddMap("service-ips", "ipv4_addr . inet_proto . inet_service : verdict", "ClusterIPs")
			m.AddElement(ir.NFTElement{Key: "10.96.0.10 . tcp . 80", Value: "goto a"})
			m.AddElement(ir.NFTElement{Key: "10.96.0.1 . tcp . 8080", Value: "goto b"})
			m.AddElement(ir.NFTElement{Key: "10.96.0.1 . tcp . 80", Value: "goto c", Comment: "ns/svc:p"})
			s := p.AddSet("cluster-ips", "ipv4_addr", "Active ClusterIPs")
			s.AddElement(ir.NFTElement{Key: "10.96.0.10"})
			s.AddElement(ir.NFTElement{Key: "10.96.0.1"})
			a := p.AddSet("affinity-X", "ipv4_addr", "")
			a.Flags = []string{"dynamic", "timeout"}
			a.Timeout = 10800
			return p
		},
		want: `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy reject-chain { comment "helper" ; }
add chain ip kube-proxy services
add set ip kube-proxy affinity-X { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIPs" ; }
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @cluster-ips mark set mark or 0x00004000 comment "say \"hi\""
add element ip kube-proxy cluster-ips { 10.96.0.1 }
add element ip kube-proxy cluster-ips { 10.96.0.10 }
add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 comment "ns/svc:p" : goto c }
add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 8080 : goto b }
add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto a }
`,
	}, {
		reason: "adding a key again replaces the element in place",
		build: func() *ir.NFT {
			p := ir.NewNFT("ip", "t", "")
			m := p.AddMap("m", "inet_proto . inet_service : verdict", "")
			m.AddElement(ir.NFTElement{Key: "tcp . 30080", Value: "goto a", Comment: "old"})
			m.AddElement(ir.NFTElement{Key: "tcp . 30080", Value: "drop"})
			return p
		},
		want: `add table ip t
add map ip t m { type inet_proto . inet_service : verdict ; }
add element ip t m { tcp . 30080 : drop }
`,
	}}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := NFT(&b, tc.build()); err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

// TestSortByName checks that sorting by the 16-byte key, then the name,
// gives plain string order, also for names that share a 16-byte prefix,
// are shorter than 16 bytes, are prefixes of each other or hold bytes
// that zero padding could be mistaken for.
func TestSortByName(t *testing.T) {
	tests := []struct {
		reason string
		names  []string
	}{
		{"hashed chain names", []string{"service-X6DDWTX4-a/b/tcp/p", "endpoint-LKIX4AO4-a", "service-U257XQAA-c", "external-YFWQLCN2-d", "services"}},
		{"shared 16-byte prefix", []string{"service-ABCDEFGH-z", "service-ABCDEFGH-a", "service-ABCDEFGH-", "service-ABCDEFGH"}},
		{"short names and prefixes", []string{"b", "a", "ab", "", "abc", "a\x00", "a\x00\x00b"}},
		{"high bytes", []string{"\xff", "\x7f", "\x80a", "\x80"}},
		{"addresses", []string{"10.96.0.10 . tcp . 80", "10.96.0.100 . tcp . 80", "10.96.0.10 . tcp . 8080", "10.96.0.9 . tcp . 80"}},
	}
	for _, tc := range tests {
		var in []*ir.NFTChain
		for _, n := range tc.names {
			in = append(in, &ir.NFTChain{Name: n})
		}
		var got []string
		for _, c := range sortedChains(in) {
			got = append(got, c.Name)
		}
		want := append([]string(nil), tc.names...)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

// failAfter fails every write after the first n bytes.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

// TestNFTWriteError checks that a failed write is reported, whether it
// happens at the first flush or a later one.
func TestNFTWriteError(t *testing.T) {
	tb := ir.NewNFT("ip", "kube-proxy", "")
	c := tb.AddChain("c")
	for i := 0; i < 20000; i++ {
		c.AddRule(0, "meta l4proto tcp dnat to 10.0.0.1:80", "")
	}
	var all bytes.Buffer
	if err := NFT(&all, tb); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reason string
		n      int
	}{
		{"first write fails", 0},
		{"a later write fails", nftBufSize + 1},
		{"the last write fails", all.Len() - 1},
	}
	for _, tc := range tests {
		if err := NFT(&failAfter{n: tc.n}, tb); err == nil {
			t.Errorf("%s: no error", tc.reason)
		}
	}
	if err := NFT(&failAfter{n: all.Len()}, tb); err != nil {
		t.Errorf("enough room: %v", err)
	}
}
