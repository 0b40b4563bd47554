package ir

import (
	"math"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nftProgram is a small table in kube-proxy's nftables shape: dispatch
// through verdict maps, a numgen DNAT map, affinity, a no-endpoints
// reject, a source-range firewall, masquerade by mark and for hairpin
// connections.
func nftProgram() *NFT {
	t := NewNFT("ip", "kube-proxy", "rules for kube-proxy")
	t.Origins = []Origin{{ServicePort: "ns/a", File: "in.yaml", Line: 3}}
	t.AddBaseChain("filter-prerouting-pre-dnat", "filter", "prerouting", -110).AddRule(0, "ct state new jump firewall-check", "")
	t.AddBaseChain("nat-prerouting", "nat", "prerouting", -100).AddRule(0, "jump services", "")
	t.AddBaseChain("nat-output", "nat", "output", -100).AddRule(0, "jump services", "")
	t.AddBaseChain("filter-output", "filter", "output", 0).AddRule(0, "ct state new jump service-endpoints-check", "")
	t.AddBaseChain("filter-forward", "filter", "forward", 0).AddRule(0, "ct state new jump service-endpoints-check", "")
	post := t.AddBaseChain("nat-postrouting", "nat", "postrouting", 100)
	post.AddRule(0, "mark and 0x00004000 != 0 mark set mark xor 0x00004000 masquerade fully-random", "")
	post.AddRule(0, "ct status dnat ip saddr . ip daddr . meta l4proto . th dport @hairpin-connections masquerade fully-random", "")
	t.AddChain("firewall-check").AddRule(0, "ip daddr . meta l4proto . th dport vmap @firewall-ips", "")
	t.AddChain("firewall-lb").AddRule(1, "ip saddr != { 198.51.100.0/24 , 203.0.113.10 } drop", "")
	svcs := t.AddChain("services")
	svcs.AddRule(0, "ip daddr @cluster-ips ip saddr != 10.244.0.0/16 mark set mark or 0x00004000", "masquerade clusterIP traffic from outside cluster")
	svcs.AddRule(0, "ip daddr . meta l4proto . th dport vmap @service-ips", "")
	svcs.AddRule(0, "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports", "")
	t.AddChain("service-endpoints-check").AddRule(0, "ip daddr . meta l4proto . th dport vmap @no-endpoint-services", "")
	t.AddChain("reject-chain").AddRule(0, "reject", "")
	sa := t.AddChain("service-a")
	sa.AddRule(1, "ip saddr @affinity-a1 goto endpoint-a1", "")
	sa.AddRule(1, "numgen random mod 3 vmap { 0 : goto endpoint-a1 , 1 : goto endpoint-a2 , 2 : goto endpoint-a3 }", "")
	for i, ip := range []string{"10.244.1.1", "10.244.2.2", "10.244.3.3"} {
		c := t.AddChain("endpoint-a" + string(rune('1'+i)))
		if i == 0 {
			c.AddRule(1, "update @affinity-a1 { ip saddr }", "")
		}
		c.AddRule(1, "meta l4proto tcp dnat to "+ip+":8080", "")
	}
	ext := t.AddChain("external-b")
	ext.AddRule(0, "mark set mark or 0x00004000", "masquerade")
	ext.AddRule(0, "goto service-b", "")
	t.AddChain("service-b").AddRule(0, "meta l4proto tcp dnat ip addr . port to numgen random mod 2 map { 0 : 10.244.1.1 . 80 , 1 : 10.244.2.2 . 80 }", "")
	aff := t.AddSet("affinity-a1", "ipv4_addr", "")
	aff.Timeout = 10800
	t.AddSet("cluster-ips", "ipv4_addr", "").AddElement(NFTElement{Key: "10.96.0.10"})
	t.AddSet("hairpin-connections", "ipv4_addr . ipv4_addr . inet_proto . inet_service", "").AddElement(NFTElement{Key: "10.244.1.1 . 10.244.1.1 . tcp . 8080"})
	t.AddMap("service-ips", "ipv4_addr . inet_proto . inet_service : verdict", "").AddElement(NFTElement{Key: "10.96.0.10 . tcp . 80", Value: "goto service-a", Origin: 1})
	t.Set("service-ips").AddElement(NFTElement{Key: "203.0.113.10 . tcp . 80", Value: "goto external-b"})
	t.AddMap("service-nodeports", "inet_proto . inet_service : verdict", "").AddElement(NFTElement{Key: "tcp . 30080", Value: "goto external-b"})
	t.AddMap("firewall-ips", "ipv4_addr . inet_proto . inet_service : verdict", "").AddElement(NFTElement{Key: "203.0.113.10 . tcp . 80", Value: "goto firewall-lb"})
	t.AddMap("no-endpoint-services", "ipv4_addr . inet_proto . inet_service : verdict", "").AddElement(NFTElement{Key: "10.96.0.40 . tcp . 80", Comment: "ns/empty", Value: "goto reject-chain"})
	return t
}

func TestNFTTrace(t *testing.T) {
	tr, err := NewNFTTracer(nftProgram())
	if err != nil {
		t.Fatal(err)
	}
	node := []netip.Addr{netip.MustParseAddr("192.168.0.2")}
	for _, tc := range []flow{
		{
			name: "pod to cluster IP: numgen vmap over three endpoint chains, affinity on the first",
			src:  "10.244.1.5", dst: "10.96.0.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat affinity=affinity-a1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat",
				"33.33% ACCEPT 10.244.3.3:8080 dnat",
			},
		},
		{
			name: "hairpin: the endpoint reaching itself is masqueraded",
			src:  "10.244.1.1", dst: "10.96.0.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat masq affinity=affinity-a1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat",
				"33.33% ACCEPT 10.244.3.3:8080 dnat",
			},
		},
		{
			name: "from the node: marked for masquerade",
			src:  "192.168.0.2", dst: "10.96.0.10", port: 80, fromNode: true,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat masq affinity=affinity-a1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat masq",
				"33.33% ACCEPT 10.244.3.3:8080 dnat masq",
			},
		},
		{
			name: "node port: DNAT map with two addresses",
			src:  "198.51.100.7", dst: "192.168.0.2", port: 30080,
			want: []string{"50% ACCEPT 10.244.1.1:80 dnat masq", "50% ACCEPT 10.244.2.2:80 dnat masq"},
		},
		{
			name: "load balancer from an allowed range",
			src:  "198.51.100.7", dst: "203.0.113.10", port: 80,
			want: []string{"50% ACCEPT 10.244.1.1:80 dnat masq", "50% ACCEPT 10.244.2.2:80 dnat masq"},
		},
		{
			name: "load balancer from elsewhere",
			src:  "192.0.2.1", dst: "203.0.113.10", port: 80,
			want: []string{"100% DROP 203.0.113.10:80"},
		},
		{
			name: "no endpoints: the element's comment is the reason",
			src:  "10.244.1.5", dst: "10.96.0.40", port: 80,
			want: []string{"100% REJECT 10.96.0.40:80 reason=ns/empty"},
		},
		{
			name: "not a service",
			src:  "10.244.1.5", dst: "10.1.2.3", port: 80,
			want: []string{"100% ACCEPT 10.1.2.3:80"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := Packet{Src: netip.MustParseAddr(tc.src), Dst: netip.MustParseAddr(tc.dst), DstPort: tc.port, Proto: "tcp"}
			res := tr.Trace(pkt, NodeContext{LocalAddrs: node, FromNode: tc.fromNode, InInterface: "eth0"})
			var got []string
			total := 0.0
			for _, o := range res.Outcomes {
				got = append(got, outcomeString(o))
				total += o.Probability
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("trace of %s mismatch (-want +got):\n%s\nnotes: %q", pkt, diff, res.Notes)
			}
			if math.Abs(total-1) > 1e-9 {
				t.Errorf("probabilities sum to %v", total)
			}
			if len(res.Notes) > 0 {
				t.Errorf("notes: %q", res.Notes)
			}
		})
	}
}

func TestNFTTraceSteps(t *testing.T) {
	tr, err := NewNFTTracer(nftProgram())
	if err != nil {
		t.Fatal(err)
	}
	res := tr.Trace(Packet{Src: netip.MustParseAddr("10.244.1.5"), Dst: netip.MustParseAddr("10.96.0.10"), DstPort: 80, Proto: "tcp"}, NodeContext{})
	var got []string
	for _, s := range res.Outcomes[1].Steps {
		got = append(got, s.Chain+" | "+s.Text+" | "+s.Origin)
	}
	want := []string{
		"filter-prerouting-pre-dnat | ct state new jump firewall-check | ",
		"nat-prerouting | jump services | ",
		"services | ip daddr . meta l4proto . th dport vmap @service-ips | ",
		"service-ips | 10.96.0.10 . tcp . 80 : goto service-a | ns/a (in.yaml:3)",
		"service-a | numgen random mod 3 vmap { 0 : goto endpoint-a1 , 1 : goto endpoint-a2 , 2 : goto endpoint-a3 } | ns/a (in.yaml:3)",
		"numgen random mod 3 | 1 : goto endpoint-a2 | ",
		"endpoint-a2 | meta l4proto tcp dnat to 10.244.2.2:8080 | ns/a (in.yaml:3)",
		"filter-forward | ct state new jump service-endpoints-check | ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps mismatch (-want +got):\n%s", diff)
	}
}

func TestNFTTraceUnknownStatement(t *testing.T) {
	tb := NewNFT("ip", "kube-proxy", "")
	tb.AddBaseChain("nat-prerouting", "nat", "prerouting", -100).AddRule(0, "ip dscp cs1 drop", "")
	tr, err := NewNFTTracer(tb)
	if err != nil {
		t.Fatal(err)
	}
	res := tr.Trace(Packet{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 1, Proto: "udp"}, NodeContext{})
	if len(res.Outcomes) != 1 || res.Outcomes[0].Verdict != VerdictAccept {
		t.Errorf("outcomes: %+v", res.Outcomes)
	}
	want := []string{`chain nat-prerouting: cannot evaluate "ip dscp cs1 drop"; the rule is assumed not to match`}
	if diff := cmp.Diff(want, res.Notes); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}
}
