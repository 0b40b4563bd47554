package ir

import (
	"net/netip"
	"strings"
	"testing"
)

// iptablesWith returns a small valid nat table with extra lines added.
func iptablesWith(chains []string, rules ...[2]string) *IPTables {
	t := NewTable("nat")
	t.AddChain("KUBE-SERVICES")
	t.AddChain("KUBE-MARK-MASQ")
	for _, c := range chains {
		t.AddChain(c)
	}
	t.AddRule(0, "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", "0x4000")
	for _, r := range rules {
		t.AddRule(0, r[0], r[1])
	}
	return &IPTables{Tables: []*Table{t}}
}

func TestCheckIPTables(t *testing.T) {
	long := "KUBE-SVC-" + strings.Repeat("A", 20)
	tests := []struct {
		name string
		prog *IPTables
		want string // "" for valid; else a part of the error
	}{
		{"valid", iptablesWith(nil, [2]string{"KUBE-SERVICES", `-m comment --comment "a b" -d 10.0.0.1/32 -j KUBE-MARK-MASQ`}), ""},
		{"built-in chain without declaration", iptablesWith(nil, [2]string{"PREROUTING", "-j KUBE-SERVICES"}), ""},
		{"jump to an undeclared chain", iptablesWith(nil, [2]string{"KUBE-SERVICES", "-j KUBE-SVC-MISSING"}), "undeclared chain KUBE-SVC-MISSING"},
		{"rule in an undeclared chain", iptablesWith(nil, [2]string{"KUBE-NOPE", "-j ACCEPT"}), "rule in undeclared chain"},
		{"chain name over 28 characters", iptablesWith([]string{long}), "is 29 characters long"},
		{"chain name with a quote", iptablesWith([]string{`KUBE-"X`}), "holds"},
		{"two comments (an injected one)", iptablesWith(nil, [2]string{"KUBE-SERVICES", `-m comment --comment "a" -m comment --comment "b" -j ACCEPT`}), "2 comments"},
		{"a rule that spans lines", iptablesWith(nil, [2]string{"KUBE-SERVICES", "-j ACCEPT\n-A KUBE-SERVICES -j DROP"}), "lines of rules"},
		{"unbalanced quote", iptablesWith(nil, [2]string{"KUBE-SERVICES", `-m comment --comment "a -j ACCEPT`}), "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckIPTables(tc.prog)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("policies", func(t *testing.T) {
		p := iptablesWith(nil)
		p.Tables[0].AddBuiltinChain("PREROUTING", "-")
		p.Tables[0].Chains = append(p.Tables[0].Chains, Chain{Name: "KUBE-X", Policy: "ACCEPT"})
		err := CheckIPTables(p)
		if err == nil || !strings.Contains(err.Error(), "built-in chain PREROUTING") || !strings.Contains(err.Error(), "user chain KUBE-X") {
			t.Errorf("error %v, want both policy problems", err)
		}
	})
}

func TestCheckNFT(t *testing.T) {
	valid := func() *NFT {
		n := NewNFT("ip", "kube-proxy", "")
		n.AddBaseChain("nat-prerouting", "nat", "prerouting", -100).AddRule(0, "jump services", "")
		n.AddChain("services").AddRule(0, "ip daddr . meta l4proto . th dport vmap @service-ips", "")
		n.AddChain("service-ABC-ns/web/tcp/http")
		n.AddMap("service-ips", "ipv4_addr . inet_proto . inet_service : verdict", "")
		n.Set("service-ips").AddElement(NFTElement{Key: "10.96.0.10 . tcp . 80", Value: "goto service-ABC-ns/web/tcp/http"})
		return n
	}
	tests := []struct {
		name   string
		change func(n *NFT)
		want   string
	}{
		{"valid", func(*NFT) {}, ""},
		{"jump to a missing chain", func(n *NFT) { n.Chain("services").AddRule(0, "jump nowhere", "") }, "undeclared chain nowhere"},
		{"element going to a missing chain", func(n *NFT) {
			n.Set("service-ips").AddElement(NFTElement{Key: "10.96.0.11 . tcp . 80", Value: "goto service-gone"})
		}, "undeclared chain service-gone"},
		{"missing set", func(n *NFT) { n.Chain("services").AddRule(0, "ip daddr @nope drop", "") }, "undeclared set or map nope"},
		{"statement separator", func(n *NFT) { n.Chain("services").AddRule(0, "drop ; add rule ip filter input accept", "") }, "outside quotes"},
		{"a comment of its own", func(n *NFT) { n.Chain("services").AddRule(0, "drop # x", "") }, "outside quotes"},
		{"newline", func(n *NFT) { n.Chain("services").AddRule(0, "drop\nadd rule ip x y accept", "") }, "spans lines"},
		{"unclosed quote", func(n *NFT) { n.Chain("services").AddRule(0, `meta comment "x`, "") }, "unclosed quote"},
		{"chain name with a blank", func(n *NFT) { n.AddChain("a b") }, "holds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := valid()
			tc.change(n)
			err := CheckNFT(n)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckIPVS(t *testing.T) {
	valid := func() *IPVS {
		ipt := NewTable("nat")
		ipt.AddChain("KUBE-SERVICES")
		ipt.AddRule(0, "KUBE-SERVICES", "-m", "set", "--match-set", "KUBE-CLUSTER-IP", "dst,dst", "-j", "ACCEPT")
		return &IPVS{
			Device:   "kube-ipvs0",
			Sets:     []IPSet{{Name: "KUBE-CLUSTER-IP", Type: SetHashIPPort, Entries: []string{"10.96.0.10,tcp:80"}}},
			IPTables: &IPTables{Tables: []*Table{ipt}},
			Jumps:    []JumpRule{{Table: "nat", Chain: "PREROUTING", Target: "KUBE-SERVICES"}},
			VirtualServers: []VirtualServer{{Address: netip.MustParseAddr("10.96.0.10"), Port: 80,
				Protocol: ProtoTCP, Scheduler: "rr"}},
		}
	}
	tests := []struct {
		name   string
		change func(p *IPVS)
		want   string
	}{
		{"valid", func(*IPVS) {}, ""},
		{"rule matches a missing set", func(p *IPVS) { p.Sets = nil }, "undeclared ipset KUBE-CLUSTER-IP"},
		{"set name too long", func(p *IPVS) { p.Sets = append(p.Sets, IPSet{Name: strings.Repeat("S", 32), Type: SetHashIP}) }, "longer than 31"},
		{"entry with a blank", func(p *IPVS) { p.Sets[0].Entries = append(p.Sets[0].Entries, "10.0.0.1 -exist") }, "holds"},
		{"unknown scheduler", func(p *IPVS) { p.VirtualServers[0].Scheduler = "rr\n-D" }, "unknown scheduler"},
		{"jump to a missing chain", func(p *IPVS) { p.Jumps[0].Target = "KUBE-NOPE" }, "no such chain"},
		{"bad device", func(p *IPVS) { p.Device = "kube ipvs0" }, "device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.change(p)
			err := CheckIPVS(p)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckInterfaceName(t *testing.T) {
	for _, name := range []string{"eth0", "cbr0", "veth", "kube-ipvs0", "a.b_c@d", strings.Repeat("x", 15)} {
		if err := CheckInterfaceName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", strings.Repeat("x", 16), "a/b", "a:b", "a b", "a\tb", "a\nb",
		`a"b`, "a'b", "a`b", "a;b", "a$b", "a#b", "a+", "a*", "!a", "-a", "--", "a,b", "a\\b", "a{b", "ä"} {
		if err := CheckInterfaceName(name); err == nil {
			t.Errorf("%q: accepted", name)
		}
	}
}
