package ir

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCanonicalNFTRule pins that what kube-proxy writes and what nft list
// prints for the same rule have one canonical form. The listed forms were
// read back from a real kernel (nftables v1.0.6).
func TestCanonicalNFTRule(t *testing.T) {
	for _, tc := range []struct{ name, written, listed, want string }{
		{
			"mark or",
			"mark set mark or 0x00004000",
			"meta mark set meta mark | 0x00004000",
			"meta mark set meta mark | 0x00004000",
		},
		{
			"mark test and xor",
			"mark and 0x00004000 != 0 mark set mark xor 0x00004000 masquerade fully-random",
			"meta mark & 0x00004000 != 0x00000000 meta mark set meta mark ^ 0x00004000 masquerade fully-random",
			"meta mark & 0x00004000 != 0x00000000 meta mark set meta mark ^ 0x00004000 masquerade fully-random",
		},
		{
			"top mark bit listed as a prefix",
			"mark and 0x80000000 != 0 masquerade",
			"meta mark != 0x00000000/1 masquerade",
			"meta mark & 0x80000000 != 0x00000000 masquerade",
		},
		{
			"one-element anonymous set",
			"ip daddr { 10.96.0.0/12 } drop",
			"ip daddr 10.96.0.0/12 drop",
			"ip daddr 10.96.0.0/12 drop",
		},
		{
			"anonymous set sorted, covered addresses merged",
			"ip saddr != { 203.0.113.0/24 , 192.168.0.0/16 , 203.0.113.10 } drop",
			"ip saddr != { 192.168.0.0/16, 203.0.113.0/24 } drop",
			"ip saddr != { 192.168.0.0/16, 203.0.113.0/24 } drop",
		},
		{
			"dnat map",
			"meta l4proto tcp dnat ip addr . port to numgen random mod 2 map { 0 : 10.244.1.2 . 8080 , 1 : 10.244.2.10 . 8080 }",
			"meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.2 . 8080, 1 : 10.244.2.10 . 8080 }",
			"meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.2 . 8080, 1 : 10.244.2.10 . 8080 }",
		},
		{
			"verdict map keeps its order",
			"numgen random mod 2 vmap { 1 : goto b , 0 : goto a }",
			"numgen random mod 2 vmap { 1 : goto b, 0 : goto a }",
			"numgen random mod 2 vmap { 1 : goto b, 0 : goto a }",
		},
		{
			"counters dropped",
			"ct state new jump firewall-check",
			"ct state new counter packets 3 bytes 180 jump firewall-check",
			"ct state new jump firewall-check",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range []string{tc.written, tc.listed} {
				if diff := cmp.Diff(tc.want, CanonicalNFTRule(in)); diff != "" {
					t.Errorf("CanonicalNFTRule(%q) mismatch (-want +got):\n%s", in, diff)
				}
			}
		})
	}
}

const nftListed = `table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		counter packets 1 bytes 2
	}
}
table ip kube-proxy {
	comment "rules for kube-proxy"
	set affinity-a {
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		timeout 3h
	}

	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
		elements = { 10.96.0.10 . tcp . 80 : goto service-a,
			     10.96.0.40 . sctp . 7000 comment "ns/b, with a comma" : goto reject-chain }
	}

	chain filter-prerouting-pre-dnat {
		type filter hook prerouting priority dstnat - 10; policy accept;
		ct state new jump firewall-check
	}

	chain reject-chain {
		comment "helper"
		reject
	}

	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips # handle 7
		ip daddr @cluster-ips ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x00004000 comment "masquerade clusterIP traffic"
	}
}
`

const nftWritten = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy reject-chain { comment "helper" ; }
add chain ip kube-proxy services
add set ip kube-proxy affinity-a { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @cluster-ips ip saddr != 10.244.0.0/16 mark set mark or 0x00004000 comment "masquerade clusterIP traffic"
add element ip kube-proxy service-ips { 10.96.0.40 . sctp . 7000 comment "ns/b, with a comma" : goto reject-chain }
add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto service-a }
`

// TestParseNFT reads the same table in both forms and checks that they
// agree, and that other tables are left out.
func TestParseNFT(t *testing.T) {
	summary := func(text string) []string {
		tables, err := ParseNFT(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(tables) != 1 {
			t.Fatalf("%d tables, want the kube-proxy one", len(tables))
		}
		tb := tables[0]
		out := []string{tb.Family + " " + tb.Name + " " + tb.Comment}
		for _, c := range tb.Chains {
			out = append(out, "chain "+c.Name+" "+c.Type+" "+c.Hook+" "+itoaInt(c.Priority)+" "+c.Comment)
			for _, r := range c.Rules {
				out = append(out, "  "+CanonicalNFTRule(r.Text)+" | "+r.Comment)
			}
		}
		for _, s := range append(append([]*NFTSet(nil), tb.Sets...), tb.Maps...) {
			out = append(out, "set "+s.Name+" "+s.Type+" "+strings.Join(s.Flags, ",")+" "+itoaInt(s.Timeout)+" "+s.Comment)
			var elems []string
			for i := range s.Elements {
				elems = append(elems, "  "+CanonicalNFTElement(&s.Elements[i]))
			}
			sortStrings(elems)
			out = append(out, elems...)
		}
		sortStrings(out[1:])
		return out
	}
	listed, written := summary(nftListed), summary(nftWritten)
	if diff := cmp.Diff(written, listed); diff != "" {
		t.Errorf("the two forms differ (-written +listed):\n%s", diff)
	}
	for _, bad := range []string{
		"table ip kube-proxy {\n\tchain x {\n",
		"add element ip kube-proxy nowhere { 1.2.3.4 }\n",
		"hello\n",
		"table ip kube-proxy {\n\tchain x {\n\t\ttype filter hook input priority lots; policy accept;\n\t}\n}\n",
	} {
		if _, err := ParseNFT(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseNFT(%q): no error", bad)
		}
	}
}

func itoaInt(n int) string { return strconv.Itoa(n) }

func sortStrings(s []string) { sort.Strings(s) }
