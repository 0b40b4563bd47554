package ir

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// This file is an interpreter for iptables programs: it follows the first
// packet of a new connection through the hooks and tables the kernel
// would, evaluates every rule it meets, and returns every way the packet
// can end, each with its probability. It is the kube-proxy unit tests'
// packet tracer, promoted to a product feature (kubeproxyc explain), and it
// works on typed rules (RuleSpec) instead of regular expressions, so it
// reads a compiled payload and a node's iptables-save dump alike.

// Packet is the first packet of a connection.
type Packet struct {
	Src     netip.Addr
	SrcPort uint16 // 0: any
	Dst     netip.Addr
	DstPort uint16
	Proto   string // tcp, udp or sctp
}

func (p Packet) String() string {
	src := p.Src.String()
	if p.SrcPort != 0 {
		src = netip.AddrPortFrom(p.Src, p.SrcPort).String()
	}
	return src + " -> " + netip.AddrPortFrom(p.Dst, p.DstPort).String() + "/" + p.Proto
}

// NodeContext is what the tracer must know about the node the rules run
// on, and about where the packet comes from.
type NodeContext struct {
	// LocalAddrs are the node's own addresses: the LOCAL type of -m
	// addrtype. 127.0.0.0/8 and ::1 are always local.
	LocalAddrs []netip.Addr
	// FromNode is set when a process on the node (or a hostNetwork pod)
	// sends the packet: it then takes the OUTPUT path instead of
	// PREROUTING.
	FromNode bool
	// InInterface is the interface a received packet arrives on (for -i).
	InInterface string
}

func (n *NodeContext) isLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, l := range n.LocalAddrs {
		if l == a {
			return true
		}
	}
	return false
}

// Verdict is how a traced packet ends.
type Verdict uint8

// The verdicts.
const (
	// VerdictAccept: the packet goes on, to Outcome.Dst (rewritten when
	// Outcome.DNAT is set).
	VerdictAccept Verdict = iota
	// VerdictDrop: the packet is dropped silently.
	VerdictDrop
	// VerdictReject: the packet is dropped and the sender told so (ICMP
	// port unreachable, or a TCP reset).
	VerdictReject
)

func (v Verdict) String() string {
	switch v {
	case VerdictDrop:
		return "DROP"
	case VerdictReject:
		return "REJECT"
	}
	return "ACCEPT"
}

// StepKind says what a Step is.
type StepKind uint8

// The step kinds.
const (
	StepRule    StepKind = iota // a rule matched
	StepPolicy                  // a base chain's policy applied
	StepElement                 // an element of a set or map matched (nftables)
)

// Step is one rule (or policy, or map element) a traced packet matched.
type Step struct {
	Kind  StepKind
	Table string
	// Chain is the chain of a rule or policy, or the set or map of an
	// element.
	Chain  string
	Rule   int    // position of the rule in its chain, from 1
	Text   string // the rule as written ("-A CHAIN ...", or the nft statement)
	Origin string // the object it came from, or ""
}

// Outcome is one way a traced packet can end.
type Outcome struct {
	// Probability of this outcome: the product of the probabilities of
	// the statistic matches (and their negations) along the path.
	Probability float64
	Verdict     Verdict
	// Dst is where the packet goes (the endpoint after DNAT).
	Dst  netip.AddrPort
	DNAT bool
	// Masquerade is set when the packet is source-NATed to the node.
	Masquerade bool
	// Reason is the comment of the rule that dropped or rejected the
	// packet, or of the rule that dropped it by falling through.
	Reason string
	// Affinity names the -m recent list the path records the client in
	// (ClientIP session affinity), with its timeout in seconds (0 when
	// the path did not pass the list's --rcheck rule).
	Affinity        string
	AffinitySeconds int
	Steps           []Step
	// Evaluated counts the rules evaluated on the way, matched or not.
	Evaluated int
}

// TraceResult is every outcome of one traced packet.
type TraceResult struct {
	Packet   Packet
	Outcomes []Outcome
	// Notes report what the tracer could not evaluate exactly (unknown
	// matches, missing chains); each appears once.
	Notes []string
}

// IPTablesTracer traces packets through one parsed program.
type IPTablesTracer struct {
	tables map[string]*traceTable
	// sets are the ipsets -m set matches look up (IPVS mode).
	sets map[string]*IPSet
}

type traceTable struct {
	policies map[string]string // built-in chain -> policy
	chains   map[string][]traceRule
}

type traceRule struct {
	spec   *RuleSpec
	text   string
	origin string
}

// NewIPTablesTracer parses the program's rules for tracing. origin, if
// not nil, names the object rule i of table t came from.
func NewIPTablesTracer(p *IPTables, origin func(t *Table, i int) string) (*IPTablesTracer, error) {
	tr := &IPTablesTracer{tables: map[string]*traceTable{}}
	for _, t := range p.Tables {
		specs, err := t.Parse()
		if err != nil {
			return nil, err
		}
		tt := tr.tables[t.Name]
		if tt == nil {
			tt = &traceTable{policies: map[string]string{}, chains: map[string][]traceRule{}}
			tr.tables[t.Name] = tt
		}
		for _, c := range t.Chains {
			if c.Policy != "-" {
				tt.policies[c.Name] = c.Policy
			}
			if _, ok := tt.chains[c.Name]; !ok {
				tt.chains[c.Name] = nil
			}
		}
		for i, s := range specs {
			o := ""
			if origin != nil {
				o = origin(t, i)
			}
			tt.chains[s.Chain] = append(tt.chains[s.Chain], traceRule{spec: s, text: t.Line(i), origin: o})
		}
	}
	return tr, nil
}

// hook lists the tables that see a hook, in the kernel's priority order.
var hookTables = map[string][]string{
	"PREROUTING":  {"raw", "mangle", "nat"},
	"INPUT":       {"mangle", "filter", "nat"},
	"FORWARD":     {"mangle", "filter"},
	"OUTPUT":      {"raw", "mangle", "nat", "filter"},
	"POSTROUTING": {"mangle", "nat"},
}

// pathState is one branch of a trace in progress.
type pathState struct {
	pkt        Packet
	mark       uint32
	dnat       bool
	masq       bool
	prob       float64
	steps      []Step
	evaluated  int
	affinity   string
	seconds    map[string]int
	done       bool // dropped or rejected
	verdict    Verdict
	reason     string
	lastReason string // comment of the last matched rule, for drops by policy
}

func (s *pathState) clone() *pathState {
	c := *s
	c.steps = append([]Step(nil), s.steps...)
	if s.seconds != nil {
		c.seconds = make(map[string]int, len(s.seconds))
		for k, v := range s.seconds {
			c.seconds[k] = v
		}
	}
	return &c
}

// Trace follows pkt through the program on the node described by node.
func (tr *IPTablesTracer) Trace(pkt Packet, node NodeContext) *TraceResult {
	t := &tracing{tr: tr, node: &node, noted: map[string]bool{}}
	return runHooks(pkt, &node, t.hook, &t.notes)
}

// runHooks sends a packet through the kernel's hooks in order, calling
// hook for each; the routing decision after PREROUTING sends each branch
// to INPUT (its destination is the node's) or FORWARD and POSTROUTING.
func runHooks(pkt Packet, node *NodeContext, hook func(*pathState, string) []*pathState, notes *[]string) *TraceResult {
	res := &TraceResult{Packet: pkt}
	branches := []*pathState{{pkt: pkt, prob: 1}}
	run := func(name string) {
		var next []*pathState
		for _, b := range branches {
			if b.done {
				next = append(next, b)
				continue
			}
			next = append(next, hook(b, name)...)
		}
		branches = next
	}
	if node.FromNode {
		run("OUTPUT")
		run("POSTROUTING")
	} else {
		run("PREROUTING")
		var local, forward []*pathState
		for _, b := range branches {
			if !b.done && node.isLocal(b.pkt.Dst) {
				local = append(local, b)
			} else {
				forward = append(forward, b)
			}
		}
		branches = local
		run("INPUT")
		localDone := branches
		branches = forward
		run("FORWARD")
		run("POSTROUTING")
		branches = append(localDone, branches...)
	}
	for _, b := range branches {
		res.Outcomes = append(res.Outcomes, b.outcome())
	}
	res.Notes = *notes
	return res
}

func (b *pathState) outcome() Outcome {
	o := Outcome{
		Probability: b.prob,
		Verdict:     b.verdict,
		Dst:         netip.AddrPortFrom(b.pkt.Dst, b.pkt.DstPort),
		DNAT:        b.dnat,
		Masquerade:  b.masq,
		Reason:      b.reason,
		Affinity:    b.affinity,
		Steps:       b.steps,
		Evaluated:   b.evaluated,
	}
	if b.affinity != "" {
		o.AffinitySeconds = b.seconds[b.affinity]
	}
	return o
}

type tracing struct {
	tr    *IPTablesTracer
	node  *NodeContext
	notes []string
	noted map[string]bool
}

func (t *tracing) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !t.noted[s] {
		t.noted[s] = true
		t.notes = append(t.notes, s)
	}
}

// hook runs every table of a hook on one branch.
func (t *tracing) hook(b *pathState, hook string) []*pathState {
	branches := []*pathState{b}
	for _, table := range hookTables[hook] {
		tt := t.tr.tables[table]
		if tt == nil {
			continue
		}
		policy, ok := tt.policies[hook]
		if !ok {
			continue
		}
		var next []*pathState
		for _, s := range branches {
			if s.done {
				next = append(next, s)
				continue
			}
			for _, r := range t.chain(s, table, hook, 0, 0) {
				st := r.state
				if r.end == endFallthrough || r.end == endReturn {
					if policy == "DROP" {
						st.done, st.verdict = true, VerdictDrop
						st.reason = "policy DROP of " + table + " " + hook
						st.steps = append(st.steps, Step{Kind: StepPolicy, Table: table, Chain: hook, Text: ":" + hook + " DROP"})
					}
				}
				next = append(next, st)
			}
		}
		branches = next
	}
	return branches
}

type chainEnd uint8

const (
	endFallthrough chainEnd = iota // ran off the end of the chain
	endReturn                      // -j RETURN
	endAccept                      // a terminating verdict for this table (ACCEPT, DNAT, MASQUERADE)
	endFinal                       // DROP or REJECT: the packet is gone
)

type chainResult struct {
	state *pathState
	end   chainEnd
}

const maxJumpDepth = 64

// chain runs the rules of chain from rule index from.
func (t *tracing) chain(s *pathState, table, chain string, from, depth int) []chainResult {
	if depth > maxJumpDepth {
		t.note("jumps nested more than %d deep at %s %s; the path is cut there", maxJumpDepth, table, chain)
		s.done, s.verdict, s.reason = true, VerdictDrop, "jump loop"
		return []chainResult{{s, endFinal}}
	}
	rules := t.tr.tables[table].chains[chain]
	for i := from; i < len(rules); i++ {
		r := &rules[i]
		s.evaluated++
		yes, no, ok := t.match(s, r.spec, table)
		if !ok {
			continue
		}
		if no > 0 && yes > 0 {
			// A statistic match forks the path.
			other := s.clone()
			other.prob *= no
			s.prob *= yes
			out := t.apply(s, table, chain, i, r, depth)
			return append(out, t.chain(other, table, chain, i+1, depth)...)
		}
		if yes == 0 {
			continue
		}
		return t.apply(s, table, chain, i, r, depth)
	}
	return []chainResult{{s, endFallthrough}}
}

// apply takes rule i's target on a path that matched it, then goes on
// with the rest of the chain where the target lets the packet go on.
func (t *tracing) apply(s *pathState, table, chain string, i int, r *traceRule, depth int) []chainResult {
	s.steps = append(s.steps, Step{Table: table, Chain: chain, Rule: i + 1, Text: r.text, Origin: r.origin})
	if c := r.spec.Comment(); c != "" {
		s.lastReason = c
	}
	tg := &r.spec.Target
	switch tg.Kind {
	case TargetNone:
		return t.chain(s, table, chain, i+1, depth)
	case TargetJump, TargetGoto:
		if _, ok := t.tr.tables[table].chains[tg.Chain]; !ok {
			t.note("%s %s jumps to %s, which the rules do not declare; treated as an empty chain", table, chain, tg.Chain)
			return t.chain(s, table, chain, i+1, depth)
		}
		var out []chainResult
		for _, sub := range t.chain(s, table, tg.Chain, 0, depth+1) {
			if sub.end == endAccept || sub.end == endFinal {
				out = append(out, sub)
				continue
			}
			if tg.Kind == TargetGoto {
				out = append(out, chainResult{sub.state, endReturn})
				continue
			}
			out = append(out, t.chain(sub.state, table, chain, i+1, depth)...)
		}
		return out
	case TargetReturn:
		return []chainResult{{s, endReturn}}
	case TargetAccept:
		return []chainResult{{s, endAccept}}
	case TargetDrop, TargetReject:
		s.done = true
		s.verdict = VerdictDrop
		if tg.Kind == TargetReject {
			s.verdict = VerdictReject
		}
		s.reason = r.spec.Comment()
		if s.reason == "" {
			s.reason = s.lastReason
		}
		return []chainResult{{s, endFinal}}
	case TargetDNAT:
		if ap, err := parseToDestination(tg.To, s.pkt.DstPort); err != nil {
			t.note("%s %s rule %d: %v", table, chain, i+1, err)
		} else {
			s.pkt.Dst, s.pkt.DstPort = ap.Addr(), ap.Port()
			s.dnat = true
		}
		return []chainResult{{s, endAccept}}
	case TargetSNAT, TargetMasquerade:
		s.masq = true
		return []chainResult{{s, endAccept}}
	case TargetMark:
		s.mark = (s.mark &^ tg.Mask) ^ tg.Mark
		return t.chain(s, table, chain, i+1, depth)
	default:
		t.note("%s %s rule %d: target %s is not interpreted; the packet is assumed to go on", table, chain, i+1, tg.Chain)
		return t.chain(s, table, chain, i+1, depth)
	}
}

// parseToDestination reads DNAT's "ip[:port]" or "[ip6]:port".
func parseToDestination(to string, port uint16) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(to); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(to, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("DNAT --to-destination %q: not an address with an optional port", to)
}

// match evaluates a rule's matches. It returns the probability that the
// rule matches and that it does not (they sum to 1), and ok=false when it
// certainly does not match.
func (t *tracing) match(s *pathState, r *RuleSpec, table string) (yes, no float64, ok bool) {
	yes = 1
	for i := range r.Matches {
		m := &r.Matches[i]
		if m.Kind == MatchStatistic {
			p := float64(m.Prob) / ProbabilityOne
			if m.Not {
				p = 1 - p
			}
			yes *= p
			continue
		}
		v, known := t.eval(s, m)
		if !known {
			t.note("%s %s: cannot evaluate %q; assumed not to match", table, r.Chain, m.text())
			return 0, 1, false
		}
		if v == m.Not {
			return 0, 1, false
		}
	}
	return yes, 1 - yes, true
}

// eval evaluates one deterministic match, without its negation.
func (t *tracing) eval(s *pathState, m *Match) (value, known bool) {
	pkt := &s.pkt
	switch m.Kind {
	case MatchSource:
		return m.Prefix.Contains(pkt.Src), true
	case MatchDest:
		return m.Prefix.Contains(pkt.Dst), true
	case MatchInInterface:
		return ifaceMatches(m.Value, t.node.InInterface), true
	case MatchProtocol:
		return m.Value == pkt.Proto, true
	case MatchComment, MatchNFAcct:
		return true, true
	case MatchProtoModule:
		return m.Module == pkt.Proto, true
	case MatchDestPort:
		return m.Module == pkt.Proto && m.Lo <= pkt.DstPort && pkt.DstPort <= m.Hi, true
	case MatchSourcePort:
		if pkt.SrcPort == 0 {
			return false, false
		}
		return m.Module == pkt.Proto && m.Lo <= pkt.SrcPort && pkt.SrcPort <= m.Hi, true
	case MatchAddrType:
		a := pkt.Dst
		if m.Field == "src" {
			a = pkt.Src
		}
		for _, typ := range strings.Split(m.Value, ",") {
			switch typ {
			case "LOCAL":
				if t.node.isLocal(a) {
					return true, true
				}
			case "UNICAST":
				if !a.IsMulticast() && !t.node.isLocal(a) {
					return true, true
				}
			case "MULTICAST":
				if a.IsMulticast() {
					return true, true
				}
			default:
				return false, false
			}
		}
		return false, true
	case MatchMark:
		return s.mark&m.Mask == m.Mark, true
	case MatchConntrack:
		for _, st := range strings.Split(m.Value, ",") {
			switch st {
			case "NEW":
				return true, true
			case "DNAT":
				if s.dnat {
					return true, true
				}
			case "SNAT":
				if s.masq {
					return true, true
				}
			}
		}
		return false, true
	case MatchOther:
		switch {
		case m.Module == "physdev" && len(m.Raw) >= 1 && m.Raw[len(m.Raw)-1] == "--physdev-is-in":
			// Packets are taken not to come through a bridge port.
			return m.Raw[0] == "!", true
		case m.Module == "ipvs":
			// The tracer sees packets before IPVS handles them.
			return false, true
		}
		return false, false
	case MatchSet:
		set := t.tr.sets[m.Value]
		if set == nil {
			return false, false
		}
		return setContains(set, m.Field, pkt), true
	case MatchRecent:
		switch m.Field {
		case "set":
			s.affinity = m.Value
			return true, true
		case "rcheck", "update":
			// The first connection of a client has no entry in the
			// list; remember the timeout for the verdict.
			if s.seconds == nil {
				s.seconds = map[string]int{}
			}
			s.seconds[m.Value] = m.Seconds
			return false, true
		}
		return false, false
	}
	return false, false
}

// text prints one match for notes.
func (m *Match) text() string {
	r := RuleSpec{Matches: []Match{*m}}
	return r.Canonical()
}

// ifaceMatches is iptables' interface match: a trailing + matches any
// name with that prefix.
func ifaceMatches(pattern, name string) bool {
	if name == "" {
		return false
	}
	if p, ok := strings.CutSuffix(pattern, "+"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// FormatProbabilityPercent prints a probability as a percentage with up
// to two decimals ("50%", "33.33%").
func FormatProbabilityPercent(p float64) string {
	s := strconv.FormatFloat(p*100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
