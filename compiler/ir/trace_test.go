package ir

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// traceProgram is a small program in kube-proxy's shape: a ClusterIP
// service with three endpoints and ClientIP affinity, a NodePort, a
// service without endpoints, and a load balancer with a source-range
// firewall. Its rules are written the way iptables-save prints them, to
// show that the tracer reads dumps.
const traceProgram = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A INPUT -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL
-A FORWARD -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A FORWARD -s 10.244.0.0/16 -j ACCEPT
-A FORWARD -d 10.244.0.0/16 -j ACCEPT
-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.40/32 -p tcp -m comment --comment "ns/empty has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -d 203.0.113.10/32 -p tcp -m comment --comment "ns/lb traffic not accepted by KUBE-FW-L" -m tcp --dport 80 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
:KUBE-FW-L - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A OUTPUT -j KUBE-SERVICES
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns/a cluster IP" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SERVICES -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j KUBE-FW-L
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -j KUBE-MARK-MASQ
-A KUBE-NODEPORTS -p tcp -m tcp --dport 30080 -g KUBE-SVC-A
-A KUBE-FW-L -s 198.51.100.0/24 -j KUBE-SVC-A
-A KUBE-FW-L -m comment --comment "other traffic to ns/lb will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-SVC-A ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-A -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-1 --mask 255.255.255.255 --rsource -j KUBE-SEP-1
-A KUBE-SVC-A -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2
-A KUBE-SVC-A -j KUBE-SEP-3
-A KUBE-SEP-1 -s 10.244.1.1/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-1 -p tcp -m recent --set --name KUBE-SEP-1 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.1:8080
-A KUBE-SEP-2 -s 10.244.2.2/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-2 -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:8080
-A KUBE-SEP-3 -s 10.244.3.3/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-3 -p tcp -m tcp -j DNAT --to-destination 10.244.3.3:8080
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
COMMIT
`

// flow is one traced packet and its expected outcomes, written
// "verdict dst masq" with the probability in percent.
type flow struct {
	name     string
	src, dst string
	port     uint16
	fromNode bool
	want     []string
}

func TestTrace(t *testing.T) {
	p, err := ParseIPTablesSave(strings.NewReader(traceProgram))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewIPTablesTracer(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	node := []netip.Addr{netip.MustParseAddr("192.168.0.2")}
	for _, tc := range []flow{
		{
			name: "pod to cluster IP: three endpoints, no masquerade",
			src:  "10.244.1.5", dst: "10.96.0.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat affinity=KUBE-SEP-1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat",
				"33.33% ACCEPT 10.244.3.3:8080 dnat",
			},
		},
		{
			name: "hairpin: the endpoint itself is masqueraded",
			src:  "10.244.2.2", dst: "10.96.0.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat affinity=KUBE-SEP-1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat masq",
				"33.33% ACCEPT 10.244.3.3:8080 dnat",
			},
		},
		{
			name: "from outside the cluster CIDR: masquerade",
			src:  "192.168.0.9", dst: "10.96.0.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat masq affinity=KUBE-SEP-1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat masq",
				"33.33% ACCEPT 10.244.3.3:8080 dnat masq",
			},
		},
		{
			name: "node port to the node IP, goto",
			src:  "198.51.100.7", dst: "192.168.0.2", port: 30080,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat masq affinity=KUBE-SEP-1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat masq",
				"33.33% ACCEPT 10.244.3.3:8080 dnat masq",
			},
		},
		{
			name: "node port on a non-local address is not served",
			src:  "198.51.100.7", dst: "192.168.7.7", port: 30080,
			want: []string{"100% DROP 192.168.7.7:30080 reason=policy DROP of filter FORWARD"},
		},
		{
			name: "no endpoints: rejected from the node",
			src:  "192.168.0.2", dst: "10.96.0.40", port: 80, fromNode: true,
			want: []string{"100% REJECT 10.96.0.40:80 reason=ns/empty has no endpoints"},
		},
		{
			name: "load balancer from an allowed range (this FW chain does not masquerade)",
			src:  "198.51.100.7", dst: "203.0.113.10", port: 80,
			want: []string{
				"33.33% ACCEPT 10.244.1.1:8080 dnat affinity=KUBE-SEP-1/10800",
				"33.33% ACCEPT 10.244.2.2:8080 dnat",
				"33.33% ACCEPT 10.244.3.3:8080 dnat",
			},
		},
		{
			name: "load balancer from elsewhere: dropped by the filter table",
			src:  "192.0.2.1", dst: "203.0.113.10", port: 80,
			want: []string{"100% DROP 203.0.113.10:80 reason=ns/lb traffic not accepted by KUBE-FW-L"},
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
		})
	}
}

func outcomeString(o Outcome) string {
	s := FormatProbabilityPercent(o.Probability) + " " + o.Verdict.String() + " " + o.Dst.String()
	if o.DNAT {
		s += " dnat"
	}
	if o.Masquerade {
		s += " masq"
	}
	if o.Affinity != "" {
		s += " affinity=" + o.Affinity
		if o.AffinitySeconds != 0 {
			s += "/" + strconv.Itoa(o.AffinitySeconds)
		}
	}
	if o.Reason != "" {
		s += " reason=" + o.Reason
	}
	return s
}

func TestTraceSteps(t *testing.T) {
	p, err := ParseIPTablesSave(strings.NewReader(traceProgram))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewIPTablesTracer(p, func(tb *Table, i int) string {
		if strings.Contains(tb.Rules[i].Chain, "SEP-2") {
			return "ns/a"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	pkt := Packet{Src: netip.MustParseAddr("10.244.1.5"), Dst: netip.MustParseAddr("10.96.0.10"), DstPort: 80, Proto: "tcp"}
	res := tr.Trace(pkt, NodeContext{})
	o := res.Outcomes[1]
	var got []string
	for _, s := range o.Steps {
		got = append(got, s.Table+" "+s.Chain+" #"+strconv.Itoa(s.Rule)+" "+s.Origin)
	}
	want := []string{
		"nat PREROUTING #1 ",
		"nat KUBE-SERVICES #1 ",
		"nat KUBE-SVC-A #4 ",
		"nat KUBE-SEP-2 #2 ns/a",
		"filter FORWARD #1 ",
		"filter FORWARD #2 ",
		"filter FORWARD #3 ",
		"filter FORWARD #4 ",
		"nat POSTROUTING #1 ",
		"nat KUBE-POSTROUTING #1 ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps mismatch (-want +got):\n%s", diff)
	}
	// nat: PREROUTING 1 + KUBE-SERVICES 1 + KUBE-SVC-A 4 + KUBE-SEP-2 2;
	// filter: FORWARD 4 + KUBE-PROXY-FIREWALL 1 + KUBE-FORWARD 2 +
	// KUBE-SERVICES 1; nat: POSTROUTING 1 + KUBE-POSTROUTING 1.
	if o.Evaluated != 18 {
		t.Errorf("evaluated %d rules, want 18", o.Evaluated)
	}
}

func TestTraceNotes(t *testing.T) {
	prog := `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m set --match-set KUBE-CLUSTER-IP dst,dst -j DNAT --to-destination 10.0.0.1
-A PREROUTING -j NOWHERE
-A PREROUTING -j LOG --log-prefix x
COMMIT
`
	p, err := ParseIPTablesSave(strings.NewReader(prog))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewIPTablesTracer(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := tr.Trace(Packet{Src: netip.MustParseAddr("10.0.0.9"), Dst: netip.MustParseAddr("10.0.0.8"), DstPort: 1, Proto: "udp"}, NodeContext{})
	want := []string{
		`nat PREROUTING: cannot evaluate "-m set --match-set KUBE-CLUSTER-IP dst,dst"; assumed not to match`,
		"nat PREROUTING jumps to NOWHERE, which the rules do not declare; treated as an empty chain",
		"nat PREROUTING rule 3: target LOG is not interpreted; the packet is assumed to go on",
	}
	if diff := cmp.Diff(want, res.Notes); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}
	if len(res.Outcomes) != 1 || res.Outcomes[0].DNAT {
		t.Errorf("outcomes: %+v", res.Outcomes)
	}
}
