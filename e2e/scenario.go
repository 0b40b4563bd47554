package e2e

import (
	"embed"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"sigs.k8s.io/yaml"
)

// Testdata holds the suite's input files: testdata/cluster.yaml (the
// Services and EndpointSlices) and testdata/scenarios.yaml (the table).
//
//go:embed testdata/cluster.yaml testdata/scenarios.yaml
var Testdata embed.FS

// TablePath is the table's path inside [Testdata].
const TablePath = "testdata/scenarios.yaml"

// Table is the scenario table: one input, compiled with one set of flags,
// and the packets sent through the result.
type Table struct {
	// Input is the file, relative to the table's directory, that holds the
	// Services and EndpointSlices.
	Input string `json:"input"`
	// Flags are the node-context flags of `kubeproxyc render` shared by
	// every mode; the suite adds --proxy-mode (and --standalone for
	// iptables).
	Flags []string `json:"flags"`
	// Scenarios are the packets and their verdicts, in the table's order.
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario is one kind of packet sent Count times, and its verdict.
type Scenario struct {
	Name  string `json:"name"`  // unique, lower-case words joined by '-'
	About string `json:"about"` // one line: what the scenario shows
	// Modes are the proxy modes (iptables, nftables, ipvs) whose rules the
	// scenario is checked against.
	Modes []string `json:"modes"`
	// From says where the packet enters node1's rules: FromNode (made by
	// the node itself: the output path), FromPod (from a pod on node1,
	// through its veth: the prerouting path) or FromExternal (from the LAN:
	// the prerouting path).
	From  string `json:"from"`
	Proto string `json:"proto"` // TCP or UDP
	// Src is the source address; the client binds it, with a fresh
	// ephemeral port for every connection or datagram.
	Src    netip.Addr     `json:"src"`
	Dst    netip.AddrPort `json:"dst"` // destination address and port
	Count  int            `json:"count"`
	Expect Expect         `json:"expect"`
}

// Expect is a scenario's verdict.
type Expect struct {
	Verdict Verdict `json:"verdict"`
	// Endpoints are the endpoints (pod IP and target port) that may answer
	// (Answer only). Every answer must come from one of them.
	Endpoints []netip.AddrPort `json:"endpoints,omitempty"`
	// Masquerade (Answer only): the endpoint sees node1's address on the
	// link towards it (10.244.1.1 for node1's pods, 172.18.0.2 for
	// node2's) instead of Src.
	Masquerade bool `json:"masquerade,omitempty"`
	// Spread (Answer only): every endpoint answers, and each one's count
	// lies within [SpreadBounds] of Count.
	Spread bool `json:"spread,omitempty"`
	// Sticky (Answer only): every connection reaches the same endpoint.
	Sticky bool `json:"sticky,omitempty"`
}

// Verdict is what becomes of a scenario's packets.
type Verdict string

// The verdicts.
const (
	// Answer: the packets reach an endpoint, whose reply comes back.
	Answer Verdict = "answer"
	// Reject: the node answers with an ICMP error or a TCP reset, so that
	// the client fails at once (connection refused).
	Reject Verdict = "reject"
	// Drop: node1 discards the packets; the client times out, and
	// nothing is forwarded out of node1's uplink either.
	Drop Verdict = "drop"
)

// The values of Scenario.From.
const (
	FromNode     = "node"
	FromPod      = "pod"
	FromExternal = "external"
)

// LoadTable reads and checks the scenario table embedded in [Testdata].
func LoadTable() (*Table, error) {
	data, err := Testdata.ReadFile(TablePath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", TablePath, err)
	}
	return ParseTable(data)
}

// ParseTable parses a scenario table and checks every field.
func ParseTable(data []byte) (*Table, error) {
	var t Table
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return nil, fmt.Errorf("parsing scenario table: %w", err)
	}
	if t.Input == "" {
		return nil, fmt.Errorf("scenario table: input: required")
	}
	seen := map[string]bool{}
	for i := range t.Scenarios {
		s := &t.Scenarios[i]
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("scenario table: scenarios[%d] %q: %w", i, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("scenario table: scenarios[%d]: duplicate name %q", i, s.Name)
		}
		seen[s.Name] = true
	}
	return &t, nil
}

// In reports whether the scenario is checked in the proxy mode.
func (s *Scenario) In(mode string) bool { return slices.Contains(s.Modes, mode) }

// MaxCount bounds Scenario.Count, which keeps the suite's traffic small.
const MaxCount = 100

func (s *Scenario) check() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("name: required")
	case s.About == "":
		return fmt.Errorf("about: required")
	case len(s.Modes) == 0:
		return fmt.Errorf("modes: required")
	case s.From != FromNode && s.From != FromPod && s.From != FromExternal:
		return fmt.Errorf("from: %q: must be %s, %s or %s", s.From, FromNode, FromPod, FromExternal)
	case s.Proto != "TCP" && s.Proto != "UDP":
		return fmt.Errorf("proto: %q: must be TCP or UDP", s.Proto)
	case !s.Src.Is4() || !s.Dst.Addr().Is4() || s.Dst.Port() == 0:
		return fmt.Errorf("src, dst: an IPv4 address and an IPv4 address:port are required")
	case s.Count < 1 || s.Count > MaxCount:
		return fmt.Errorf("count: %d: must be in [1, %d]", s.Count, MaxCount)
	}
	for _, m := range s.Modes {
		if m != "iptables" && m != "nftables" && m != "ipvs" {
			return fmt.Errorf("modes: %q: must be iptables, nftables or ipvs", m)
		}
	}
	e := s.Expect
	switch e.Verdict {
	case Answer:
		if len(e.Endpoints) == 0 {
			return fmt.Errorf("expect.endpoints: required with verdict %s", Answer)
		}
		if e.Spread && e.Sticky {
			return fmt.Errorf("expect: spread and sticky exclude each other")
		}
		if e.Spread {
			if lo, _ := SpreadBounds(s.Count, len(e.Endpoints)); lo < 1 {
				return fmt.Errorf("count: %d is too small to show a spread over %d endpoints", s.Count, len(e.Endpoints))
			}
		}
	case Reject, Drop:
		if len(e.Endpoints) > 0 || e.Masquerade || e.Spread || e.Sticky {
			return fmt.Errorf("expect: verdict %s takes no endpoints, masquerade, spread or sticky", e.Verdict)
		}
	default:
		return fmt.Errorf("expect.verdict: %q: must be %s, %s or %s", e.Verdict, Answer, Reject, Drop)
	}
	return nil
}

// SpreadBounds returns the range that each endpoint's share of count
// uniformly random picks among n endpoints must fall in: the binomial mean
// count/n plus or minus 5 standard deviations, rounded inwards. For the
// table's scenarios a fair random choice falls outside with a probability
// below one in a million. A scenario with spread must have a lower bound
// of at least 1, so that every endpoint has to answer.
func SpreadBounds(count, n int) (lo, hi int) {
	p := 1 / float64(n)
	mean := float64(count) * p
	dev := 5 * math.Sqrt(float64(count)*p*(1-p))
	return int(math.Ceil(mean - dev)), int(math.Floor(mean + dev))
}
