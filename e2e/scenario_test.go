package e2e

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

// TestTableMatchesInput checks the scenario table against the Services it
// is about, without a kernel: every destination is exactly one service
// port of the input, every endpoint a scenario expects is one of that
// port's endpoints, a rejected destination has no endpoints, and a dropped
// source lies outside the port's loadBalancerSourceRanges. A destination
// of no service port is rejected (another port of a ClusterIP) or dropped
// (an unallocated address of the service CIDR).
func TestTableMatchesInput(t *testing.T) {
	table, err := LoadTable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Testdata.ReadFile("testdata/" + table.Input)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := compiler.Load([]compiler.Source{{Name: table.Input, Data: data}})
	if err != nil {
		t.Fatalf("loading %s: %v", table.Input, err)
	}
	opts := compiler.DefaultOptions()
	for _, f := range table.Flags {
		switch name, value, _ := strings.Cut(f, "="); name {
		case "--node-ip":
			opts.NodeIPs = append(opts.NodeIPs, netip.MustParseAddr(value))
		case "--hostname-override":
			opts.NodeName = value
		default:
			t.Fatalf("flags: %s: this test does not know the flag; teach it", f)
		}
	}
	model := compiler.BuildModel(snap, &opts)
	nodeIP := opts.PrimaryNodeIP()
	for _, sc := range table.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			var hits []*compiler.ServicePort
			for _, sp := range model.ServicePorts {
				if string(sp.Protocol) != sc.Proto {
					continue
				}
				a, p := sc.Dst.Addr(), int(sc.Dst.Port())
				byVIP := (sp.ClusterIP == a || slices.Contains(sp.ExternalIPs, a) || slices.Contains(sp.LoadBalancerVIPs, a)) && sp.Port == p
				byNodePort := (a == nodeIP || a.IsLoopback()) && sp.NodePort != 0 && sp.NodePort == p
				if byVIP || byNodePort {
					hits = append(hits, sp)
				}
			}
			if len(hits) == 0 && sc.Expect.Verdict != Answer {
				// No Service has the port: a rejection is for a
				// ClusterIP's other ports, a drop for an unallocated
				// address of the service CIDR.
				isVIP := slices.ContainsFunc(model.ServicePorts, func(sp *compiler.ServicePort) bool { return sp.ClusterIP == sc.Dst.Addr() })
				inCIDR := slices.ContainsFunc(opts.ServiceCIDRs, func(c string) bool { return netip.MustParsePrefix(c).Contains(sc.Dst.Addr()) })
				if want := sc.Expect.Verdict == Reject; isVIP != want || !inCIDR {
					t.Errorf("%s/%s belongs to no service port; a rejection needs a ClusterIP, a drop an unallocated address of %v", sc.Dst, sc.Proto, opts.ServiceCIDRs)
				}
				return
			}
			if len(hits) != 1 {
				t.Fatalf("%s/%s is the destination of %d service ports of %s, want 1", sc.Dst, sc.Proto, len(hits), table.Input)
			}
			sp := hits[0]
			var eps []netip.AddrPort
			for _, ep := range sp.Endpoints {
				eps = append(eps, netip.AddrPortFrom(ep.IP, uint16(ep.Port)))
			}
			switch sc.Expect.Verdict {
			case Answer:
				for _, want := range sc.Expect.Endpoints {
					if !slices.Contains(eps, want) {
						t.Errorf("expects endpoint %s, which %s does not have (it has %v)", want, sp.NameString, eps)
					}
				}
			case Reject:
				if len(eps) != 0 {
					t.Errorf("expects a rejection, but %s has endpoints %v", sp.NameString, eps)
				}
			case Drop:
				if len(sp.SourceRanges) == 0 || slices.ContainsFunc(sp.SourceRanges, func(p netip.Prefix) bool { return p.Contains(sc.Src) }) {
					t.Errorf("expects a drop, but %s does not exclude source %s by loadBalancerSourceRanges %v", sp.NameString, sc.Src, sp.SourceRanges)
				}
			}
		})
	}
}

func TestParseTableRejects(t *testing.T) {
	const good = `
input: cluster.yaml
scenarios:
- name: one
  about: a scenario
  modes: [iptables]
  from: pod
  proto: TCP
  src: 10.244.1.10
  dst: 10.96.0.10:80
  count: 6
  expect: {verdict: answer, endpoints: [10.244.1.2:8080, 10.244.1.3:8080]}
`
	if _, err := ParseTable([]byte(good)); err != nil {
		t.Fatalf("the base table is rejected: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "count: 6", "count: 6\n  port: 3", `unknown field "port"`},
		{"no input", "input: cluster.yaml", "", "input: required"},
		{"bad verdict", "verdict: answer", "verdict: accept", `expect.verdict: "accept"`},
		{"bad from", "from: pod", "from: cloud", `from: "cloud"`},
		{"bad proto", "proto: TCP", "proto: SCTP", `proto: "SCTP"`},
		{"bad mode", "modes: [iptables]", "modes: [userspace]", `modes: "userspace"`},
		{"bad address", "src: 10.244.1.10", "src: 10.244.1.300", "parsing scenario table"},
		{"no port", "dst: 10.96.0.10:80", "dst: 10.96.0.10:0", "src, dst"},
		{"too many", "count: 6", "count: 1000", "count: 1000"},
		{"reject with endpoints", "verdict: answer", "verdict: reject", "takes no endpoints"},
		{"answer without endpoints", "verdict: answer, endpoints: [10.244.1.2:8080, 10.244.1.3:8080]", "verdict: answer", "expect.endpoints: required"},
		{"spread and sticky", "verdict: answer", "verdict: answer, spread: true, sticky: true", "exclude each other"},
		{"spread too thin", "verdict: answer", "verdict: answer, spread: true", "too small to show a spread"},
		{"duplicate", "scenarios:\n", "scenarios:\n- {name: one, about: x, modes: [nftables], from: node, proto: UDP, src: 172.18.0.2, dst: 10.96.0.53:53, count: 1, expect: {verdict: drop}}\n", `duplicate name "one"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good, tc.old, tc.new, 1)
			if doc == good {
				t.Fatalf("the case changes nothing: %q not found", tc.old)
			}
			_, err := ParseTable([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTable: got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSpreadBounds(t *testing.T) {
	for _, tc := range []struct{ count, n, lo, hi int }{
		{60, 3, 2, 38},  // mean 20, sd 3.65
		{40, 2, 5, 35},  // mean 20, sd 3.16
		{20, 2, -1, 21}, // too few to demand that both answer
		{10, 1, 10, 10}, // one endpoint takes all
	} {
		lo, hi := SpreadBounds(tc.count, tc.n)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("SpreadBounds(%d, %d) = [%d, %d], want [%d, %d]", tc.count, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}
