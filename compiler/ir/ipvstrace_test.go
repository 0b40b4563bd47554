package ir

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ipvsProgram is IPVS mode in small: a ClusterIP virtual server with two
// real servers and persistence, one without real servers, the ipsets and
// iptables rules that masquerade and filter, and the jumps.
func ipvsProgram() *IPVS {
	nat, filter := NewTable("nat"), NewTable("filter")
	for _, c := range []string{"KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"} {
		nat.AddChain(c)
	}
	nat.AddRule(0, "KUBE-SERVICES", "-m comment --comment \"masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ")
	nat.AddRule(0, "KUBE-SERVICES", "-m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT")
	nat.AddRule(0, "KUBE-POSTROUTING", "-m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE")
	nat.AddRule(0, "KUBE-POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN")
	nat.AddRule(0, "KUBE-POSTROUTING", "-j MASQUERADE")
	nat.AddRule(0, "KUBE-MARK-MASQ", "-j MARK --or-mark 0x4000")
	filter.AddChain("KUBE-IPVS-FILTER")
	filter.AddRule(0, "KUBE-IPVS-FILTER", "-m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN")
	filter.AddRule(0, "KUBE-IPVS-FILTER", "-m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT")
	return &IPVS{
		VirtualServers: []VirtualServer{
			{Address: netip.MustParseAddr("10.96.0.10"), Port: 80, Protocol: ProtoTCP, Scheduler: "rr", Persistent: true, Timeout: 600,
				RealServers: []RealServer{{Address: netip.MustParseAddr("10.244.1.1"), Port: 8080, Weight: 1}, {Address: netip.MustParseAddr("10.244.2.2"), Port: 8080, Weight: 1}}, Origin: 1},
			{Address: netip.MustParseAddr("10.96.0.40"), Port: 80, Protocol: ProtoTCP, Scheduler: "rr"},
		},
		Sets: []IPSet{
			{Name: "KUBE-CLUSTER-IP", Type: SetHashIPPort, Entries: []string{"10.96.0.10,tcp:80", "10.96.0.40,tcp:80"}},
			{Name: "KUBE-IPVS-IPS", Type: SetHashIP, Entries: []string{"10.96.0.10", "10.96.0.40"}},
			{Name: "KUBE-LOOP-BACK", Type: SetHashIPPortIP, Entries: []string{"10.244.1.1,tcp:8080,10.244.1.1"}},
		},
		Addresses: []netip.Addr{netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("10.96.0.40")},
		IPTables:  &IPTables{Tables: []*Table{nat, filter}, Origins: []Origin{{ServicePort: "ns/a"}}},
		Jumps: []JumpRule{
			{Table: "nat", Chain: "OUTPUT", Target: "KUBE-SERVICES", Comment: "kubernetes service portals"},
			{Table: "nat", Chain: "PREROUTING", Target: "KUBE-SERVICES", Comment: "kubernetes service portals"},
			{Table: "nat", Chain: "POSTROUTING", Target: "KUBE-POSTROUTING", Comment: "kubernetes postrouting rules"},
			{Table: "filter", Chain: "INPUT", Target: "KUBE-IPVS-FILTER", Comment: "kubernetes ipvs access filter"},
		},
		Origins: []Origin{{ServicePort: "ns/a", File: "in.yaml", Line: 1}},
	}
}

func TestIPVSTrace(t *testing.T) {
	tr, err := NewIPVSTracer(ipvsProgram())
	if err != nil {
		t.Fatal(err)
	}
	node := []netip.Addr{netip.MustParseAddr("192.168.0.2")}
	for _, tc := range []flow{
		{
			name: "pod to cluster IP: each real server, persistence",
			src:  "10.244.3.5", dst: "10.96.0.10", port: 80,
			want: []string{
				"50% ACCEPT 10.244.1.1:8080 dnat affinity=IPVS persistence of TCP 10.96.0.10:80/600",
				"50% ACCEPT 10.244.2.2:8080 dnat affinity=IPVS persistence of TCP 10.96.0.10:80/600",
			},
		},
		{
			name: "from the node: marked, masqueraded",
			src:  "192.168.0.2", dst: "10.96.0.10", port: 80, fromNode: true,
			want: []string{
				"50% ACCEPT 10.244.1.1:8080 dnat masq affinity=IPVS persistence of TCP 10.96.0.10:80/600",
				"50% ACCEPT 10.244.2.2:8080 dnat masq affinity=IPVS persistence of TCP 10.96.0.10:80/600",
			},
		},
		{
			name: "hairpin through KUBE-LOOP-BACK",
			src:  "10.244.1.1", dst: "10.96.0.10", port: 80,
			want: []string{
				"50% ACCEPT 10.244.1.1:8080 dnat masq affinity=IPVS persistence of TCP 10.96.0.10:80/600",
				"50% ACCEPT 10.244.2.2:8080 dnat affinity=IPVS persistence of TCP 10.96.0.10:80/600",
			},
		},
		{
			name: "a port the service does not have: KUBE-IPVS-FILTER rejects",
			src:  "10.244.3.5", dst: "10.96.0.10", port: 22,
			want: []string{"100% REJECT 10.96.0.10:22 reason=kubernetes ipvs access filter"},
		},
		{
			name: "a virtual server without real servers",
			src:  "10.244.3.5", dst: "10.96.0.40", port: 80,
			want: []string{"100% REJECT 10.96.0.40:80 reason=virtual server TCP 10.96.0.40:80 has no real servers"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := Packet{Src: netip.MustParseAddr(tc.src), Dst: netip.MustParseAddr(tc.dst), DstPort: tc.port, Proto: "tcp"}
			res := tr.Trace(pkt, NodeContext{LocalAddrs: node, FromNode: tc.fromNode, InInterface: "eth0"})
			var got []string
			for _, o := range res.Outcomes {
				got = append(got, outcomeString(o))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("trace of %s mismatch (-want +got):\n%s\nnotes: %q", pkt, diff, res.Notes)
			}
		})
	}
}

func TestSetContains(t *testing.T) {
	pkt := &Packet{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.96.0.1"), DstPort: 443, Proto: "tcp"}
	for _, tc := range []struct {
		typ, entry, flags string
		want              bool
	}{
		{SetHashIPPort, "10.96.0.1,tcp:443", "dst,dst", true},
		{SetHashIPPort, "10.96.0.1,udp:443", "dst,dst", false},
		{SetHashIPPortIP, "10.96.0.1,tcp:443,10.0.0.5", "dst,dst,src", true},
		{SetHashIPPortNet, "10.96.0.1,tcp:443,10.0.0.0/24", "dst,dst,src", true},
		{SetHashIPPortNet, "10.96.0.1,tcp:443,10.1.0.0/24", "dst,dst,src", false},
		{SetBitmapPort, "443", "dst", true},
		{SetHashIP, "10.0.0.5", "src", true},
		{SetHashIP, "10.0.0.5", "dst", false},
	} {
		set := &IPSet{Name: "S", Type: tc.typ, Entries: []string{tc.entry}}
		if got := setContains(set, tc.flags, pkt); got != tc.want {
			t.Errorf("%s %s %s: got %v, want %v", tc.typ, tc.entry, tc.flags, got, tc.want)
		}
	}
}
