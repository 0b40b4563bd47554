package ir

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// This file traces packets through an nftables table (NFT), as trace.go
// does through iptables. It interprets the statements kube-proxy's
// nftables mode writes, in nft's own syntax: address, protocol, port and
// interface matches (against literals, anonymous sets and named sets);
// concatenated lookups in sets and verdict maps (the dispatch through
// service-ips and service-nodeports); fib and ct matches; mark
// arithmetic; numgen-driven verdict maps and DNAT maps, which fork the
// path with probability 1/N per element; dynamic affinity sets; dnat,
// masquerade, reject, drop and the chain verdicts. Anything else is
// reported in the notes and assumed not to match.

// NFTTracer traces packets through one nftables table.
type NFTTracer struct {
	t      *NFT
	chains map[string]*NFTChain
	sets   map[string]*NFTSet
	hooks  map[string][]*NFTChain // base chains per hook, by priority
	rules  map[*NFTChain][][]string
	table  string // "ip kube-proxy"
}

// NewNFTTracer prepares a table for tracing.
func NewNFTTracer(t *NFT) (*NFTTracer, error) {
	tr := &NFTTracer{
		t:      t,
		chains: map[string]*NFTChain{},
		sets:   map[string]*NFTSet{},
		hooks:  map[string][]*NFTChain{},
		rules:  map[*NFTChain][][]string{},
		table:  t.Family + " " + t.Name,
	}
	for _, c := range t.Chains {
		tr.chains[c.Name] = c
		if c.Hook != "" {
			h := strings.ToUpper(c.Hook)
			tr.hooks[h] = append(tr.hooks[h], c)
		}
		toks := make([][]string, len(c.Rules))
		for i, r := range c.Rules {
			tk, err := Tokenize(r.Text)
			if err != nil {
				return nil, fmt.Errorf("chain %s rule %d: %w", c.Name, i+1, err)
			}
			toks[i] = tk
		}
		tr.rules[c] = toks
	}
	for _, list := range tr.hooks {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Priority != list[j].Priority {
				return list[i].Priority < list[j].Priority
			}
			return list[i].Name < list[j].Name
		})
	}
	for _, s := range t.Sets {
		tr.sets[s.Name] = s
	}
	for _, s := range t.Maps {
		tr.sets[s.Name] = s
	}
	return tr, nil
}

func (tr *NFTTracer) origin(i int32) string {
	if i > 0 && int(i) <= len(tr.t.Origins) {
		return tr.t.Origins[i-1].String()
	}
	return ""
}

// Trace follows pkt through the table on the node described by node.
func (tr *NFTTracer) Trace(pkt Packet, node NodeContext) *TraceResult {
	t := &nftTracing{tr: tr, node: &node, noted: map[string]bool{}}
	return runHooks(pkt, &node, t.hook, &t.notes)
}

type nftTracing struct {
	tr    *NFTTracer
	node  *NodeContext
	notes []string
	noted map[string]bool
}

func (t *nftTracing) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !t.noted[s] {
		t.noted[s] = true
		t.notes = append(t.notes, s)
	}
}

// hook runs the base chains of a hook, in priority order. A chain's
// accept (and a dnat or masquerade) ends that chain only; drop and
// reject end the packet. Base chains have the policy accept.
func (t *nftTracing) hook(b *pathState, hook string) []*pathState {
	branches := []*pathState{b}
	for _, c := range t.tr.hooks[hook] {
		var next []*pathState
		for _, s := range branches {
			if s.done {
				next = append(next, s)
				continue
			}
			for _, r := range t.chain(s, c, 0, 0) {
				next = append(next, r.state)
			}
		}
		branches = next
	}
	return branches
}

// chain runs the rules of c from rule index from.
func (t *nftTracing) chain(s *pathState, c *NFTChain, from, depth int) []chainResult {
	if depth > maxJumpDepth {
		t.note("jumps nested more than %d deep at chain %s; the path is cut there", maxJumpDepth, c.Name)
		s.done, s.verdict, s.reason = true, VerdictDrop, "jump loop"
		return []chainResult{{s, endFinal}}
	}
	toks := t.tr.rules[c]
	for i := from; i < len(toks); i++ {
		s.evaluated++
		branches, matched := t.rule(s, c, i, toks[i])
		if !matched {
			continue
		}
		var out []chainResult
		for _, b := range branches {
			out = append(out, t.after(b, c, i, depth)...)
		}
		return out
	}
	return []chainResult{{s, endFallthrough}}
}

// ruleBranch is one way a matched rule ends for a path.
type ruleBranch struct {
	state   *pathState
	verdict string // "" (go on), "accept", "drop", "reject", "return", "jump", "goto", "nat"
	target  string // the chain of jump and goto
}

// after goes on from a rule's verdict.
func (t *nftTracing) after(b ruleBranch, c *NFTChain, i, depth int) []chainResult {
	s := b.state
	switch b.verdict {
	case "":
		return t.chain(s, c, i+1, depth)
	case "accept", "nat":
		return []chainResult{{s, endAccept}}
	case "drop", "reject":
		s.done = true
		s.verdict = VerdictDrop
		if b.verdict == "reject" {
			s.verdict = VerdictReject
		}
		if s.reason == "" {
			s.reason = s.lastReason
		}
		return []chainResult{{s, endFinal}}
	case "return":
		return []chainResult{{s, endReturn}}
	}
	to := t.tr.chains[b.target]
	if to == nil {
		t.note("chain %s: %s %s: no such chain; treated as an empty chain", c.Name, b.verdict, b.target)
		return t.chain(s, c, i+1, depth)
	}
	var out []chainResult
	for _, sub := range t.chain(s, to, 0, depth+1) {
		if sub.end == endAccept || sub.end == endFinal {
			out = append(out, sub)
			continue
		}
		if b.verdict == "goto" {
			out = append(out, chainResult{sub.state, endReturn})
			continue
		}
		out = append(out, t.chain(sub.state, c, i+1, depth)...)
	}
	return out
}

// rule evaluates one rule's statements on a path: the branches it ends
// in, or matched=false (and the path unchanged) when a match fails.
func (t *nftTracing) rule(s *pathState, c *NFTChain, i int, toks []string) ([]ruleBranch, bool) {
	r := &c.Rules[i]
	n := len(s.steps)
	mark, affinity := s.mark, s.affinity
	ev := &nftEval{t: t, s: s, toks: toks, chain: c.Name}
	branches, ok := ev.run()
	if !ok {
		s.steps, s.mark, s.affinity = s.steps[:n], mark, affinity
		return nil, false
	}
	step := Step{Table: t.tr.table, Chain: c.Name, Rule: i + 1, Text: ruleText(r), Origin: t.tr.origin(r.Origin)}
	for k := range branches {
		st := branches[k].state
		// The rule's own step goes before the element steps its
		// statements recorded.
		rest := append([]Step(nil), st.steps[n:]...)
		st.steps = append(append(st.steps[:n:n], step), rest...)
		if r.Comment != "" {
			st.lastReason = r.Comment
		}
		if v := branches[k].verdict; v == "drop" || v == "reject" {
			switch {
			case ev.elemComment != "":
				st.reason = ev.elemComment
			case r.Comment != "":
				st.reason = r.Comment
			}
		}
	}
	return branches, true
}

func ruleText(r *NFTRule) string {
	if r.Comment == "" {
		return r.Text
	}
	return r.Text + " comment " + QuoteArg(r.Comment, true)
}

// nftEval evaluates the statements of one rule, left to right.
type nftEval struct {
	t           *nftTracing
	s           *pathState
	toks        []string
	i           int
	chain       string
	elemComment string // the comment of the map element that gave the verdict
}

func (e *nftEval) peek(k int) string {
	if e.i+k < len(e.toks) {
		return e.toks[e.i+k]
	}
	return ""
}

func (e *nftEval) next() string {
	tok := e.peek(0)
	e.i++
	return tok
}

// unknown notes a statement the tracer does not interpret; the rule is
// then assumed not to match.
func (e *nftEval) unknown() ([]ruleBranch, bool) {
	e.t.note("chain %s: cannot evaluate %q; the rule is assumed not to match", e.chain, strings.Join(e.toks, " "))
	return nil, false
}

// run evaluates the statements; ok=false when a match fails.
func (e *nftEval) run() ([]ruleBranch, bool) {
	for e.i < len(e.toks) {
		switch tok := e.peek(0); tok {
		case "accept", "drop", "return":
			return []ruleBranch{{state: e.s, verdict: tok}}, true
		case "continue":
			return []ruleBranch{{state: e.s}}, true
		case "reject":
			return []ruleBranch{{state: e.s, verdict: "reject"}}, true
		case "jump", "goto":
			e.next()
			return []ruleBranch{{state: e.s, verdict: tok, target: e.next()}}, true
		case "comment":
			e.i += 2
		case "counter":
			e.next()
			for e.peek(0) == "packets" || e.peek(0) == "bytes" {
				e.i += 2
			}
		case "log":
			e.next()
		case "masquerade", "snat":
			e.s.masq = true
			return []ruleBranch{{state: e.s, verdict: "nat"}}, true
		case "numgen":
			return e.numgenVmap()
		case "dnat":
			return e.dnat()
		case "update", "add":
			if !e.update() {
				return e.unknown()
			}
		default:
			matched, verdict, known := e.match()
			if !known {
				return e.unknown()
			}
			if !matched {
				return nil, false
			}
			if verdict != nil {
				return []ruleBranch{*verdict}, true
			}
		}
	}
	return []ruleBranch{{state: e.s}}, true
}

// match evaluates one match statement (or a verdict-map lookup, which
// yields a verdict).
func (e *nftEval) match() (matched bool, verdict *ruleBranch, known bool) {
	switch e.peek(0) {
	case "ct":
		m, k := e.ct()
		return m, nil, k
	case "fib":
		m, k := e.fib()
		return m, nil, k
	case "mark":
		return e.mark()
	case "meta":
		if e.peek(1) == "mark" {
			e.next()
			return e.mark()
		}
	}
	sel, ok := e.selector()
	if !ok {
		return false, nil, false
	}
	op := "=="
	if e.peek(0) == "!=" || e.peek(0) == "==" {
		op = e.next()
	}
	switch rhs := e.peek(0); {
	case rhs == "vmap" && op == "==":
		e.next()
		return e.vmapLookup(sel)
	case strings.HasPrefix(rhs, "@"):
		e.next()
		set := e.t.tr.sets[rhs[1:]]
		if set == nil {
			e.t.note("chain %s: set %s does not exist; treated as empty", e.chain, rhs)
			return op == "!=", nil, true
		}
		_, found := e.lookup(set.Elements, sel)
		return found == (op == "=="), nil, true
	case rhs == "{":
		elems, ok := e.anonSet()
		if !ok {
			return false, nil, false
		}
		_, found := e.lookup(elems, sel)
		return found == (op == "=="), nil, true
	case rhs == "":
		return false, nil, false
	default:
		e.next()
		v, known := matchComponents([]string{rhs}, sel)
		return known && v == (op == "=="), nil, known
	}
}

// A key is one field of a packet that a selector reads.
type key struct {
	kind  string // addr, proto, port, iface
	value string
	addr  netip.Addr
	port  uint16
}

// selector reads "ip daddr", "meta l4proto . th dport" and the like: the
// packet fields a match compares, joined by ".".
func (e *nftEval) selector() ([]key, bool) {
	var keys []key
	pkt := &e.s.pkt
	for {
		var k key
		switch a, b := e.peek(0), e.peek(1); {
		case (a == "ip" || a == "ip6") && (b == "saddr" || b == "daddr"):
			e.i += 2
			k = key{kind: "addr", addr: pkt.Src}
			if b == "daddr" {
				k.addr = pkt.Dst
			}
		case a == "meta" && b == "l4proto", a == "ip" && b == "protocol", a == "ip6" && b == "nexthdr":
			e.i += 2
			k = key{kind: "proto", value: pkt.Proto}
		case (a == "th" || a == "tcp" || a == "udp" || a == "sctp") && (b == "dport" || b == "sport"):
			e.i += 2
			if a != "th" && a != pkt.Proto {
				return nil, false
			}
			k = key{kind: "port", port: pkt.DstPort}
			if b == "sport" {
				if pkt.SrcPort == 0 {
					return nil, false
				}
				k.port = pkt.SrcPort
			}
		case a == "iifname" || a == "meta" && b == "iifname":
			e.i++
			if a == "meta" {
				e.i++
			}
			k = key{kind: "iface", value: e.t.node.InInterface}
		default:
			return nil, false
		}
		keys = append(keys, k)
		if e.peek(0) != "." {
			return keys, true
		}
		e.next()
	}
}

// anonSet reads "{ a , b . c , ... }" into elements.
func (e *nftEval) anonSet() ([]NFTElement, bool) {
	if e.next() != "{" {
		return nil, false
	}
	var out []NFTElement
	var cur []string
	for {
		tok := e.next()
		switch tok {
		case "":
			return nil, false
		case ",", "}":
			if len(cur) > 0 {
				out = append(out, NFTElement{Key: strings.Join(cur, " ")})
				cur = nil
			}
			if tok == "}" {
				return out, true
			}
		default:
			cur = append(cur, tok)
		}
	}
}

// lookup finds the first element whose key matches the packet's keys.
func (e *nftEval) lookup(elems []NFTElement, keys []key) (*NFTElement, bool) {
	for i := range elems {
		parts := strings.Split(elems[i].Key, " . ")
		if ok, _ := matchComponents(parts, keys); ok {
			return &elems[i], true
		}
	}
	return nil, false
}

// matchComponents compares the parts of one element (addresses, CIDRs,
// ranges, protocol names, ports, interface names with a trailing *)
// with the packet's keys.
func matchComponents(parts []string, keys []key) (matched, known bool) {
	if len(parts) != len(keys) {
		return false, false
	}
	for i, k := range keys {
		p := strings.Trim(strings.TrimSpace(parts[i]), `"`)
		switch k.kind {
		case "addr":
			if !k.addr.IsValid() {
				return false, true
			}
			if lo, hi, ok := strings.Cut(p, "-"); ok {
				a, err1 := netip.ParseAddr(lo)
				b, err2 := netip.ParseAddr(hi)
				if err1 != nil || err2 != nil {
					return false, false
				}
				if k.addr.Compare(a) < 0 || k.addr.Compare(b) > 0 {
					return false, true
				}
				continue
			}
			pr, err := parsePrefix(p)
			if err != nil {
				return false, false
			}
			if !pr.Contains(k.addr) {
				return false, true
			}
		case "proto":
			if n, ok := protocolNumbers[p]; ok {
				p = n
			}
			if p != k.value {
				return false, true
			}
		case "port":
			lo, hi, isRange := strings.Cut(p, "-")
			a, err := strconv.ParseUint(lo, 10, 16)
			b := a
			if err == nil && isRange {
				b, err = strconv.ParseUint(hi, 10, 16)
			}
			if err != nil {
				return false, false
			}
			if uint64(k.port) < a || uint64(k.port) > b {
				return false, true
			}
		case "iface":
			if prefix, ok := strings.CutSuffix(p, "*"); ok {
				if k.value == "" || !strings.HasPrefix(k.value, prefix) {
					return false, true
				}
			} else if p != k.value {
				return false, true
			}
		}
	}
	return true, true
}

// vmapLookup looks the keys up in a verdict map: "vmap @name" or an
// anonymous "vmap { key : verdict , ... }". A miss ends the rule without
// a verdict, like a failed match.
func (e *nftEval) vmapLookup(keys []key) (bool, *ruleBranch, bool) {
	var elems []NFTElement
	name := "anonymous map"
	if ref := e.peek(0); strings.HasPrefix(ref, "@") {
		e.next()
		m := e.t.tr.sets[ref[1:]]
		if m == nil {
			e.t.note("chain %s: map %s does not exist; treated as empty", e.chain, ref)
			return false, nil, true
		}
		elems, name = m.Elements, m.Name
	} else {
		var ok bool
		if elems, ok = e.anonMap(); !ok {
			return false, nil, false
		}
	}
	el, found := e.lookup(elems, keys)
	if !found {
		return false, nil, true
	}
	e.s.steps = append(e.s.steps, Step{Kind: StepElement, Table: e.t.tr.table, Chain: name, Text: elementText(el), Origin: e.t.tr.origin(el.Origin)})
	e.elemComment = el.Comment
	if el.Comment != "" {
		e.s.lastReason = el.Comment
	}
	b, ok := verdictBranch(e.s, el.Value)
	return ok, &b, ok
}

func elementText(el *NFTElement) string {
	s := el.Key
	if el.Comment != "" {
		s += " comment " + QuoteArg(el.Comment, true)
	}
	if el.Value != "" {
		s += " : " + el.Value
	}
	return s
}

// verdictBranch reads a map element's verdict.
func verdictBranch(s *pathState, v string) (ruleBranch, bool) {
	f := strings.Fields(v)
	switch {
	case len(f) == 1 && (f[0] == "accept" || f[0] == "drop" || f[0] == "return" || f[0] == "reject"):
		return ruleBranch{state: s, verdict: f[0]}, true
	case len(f) == 2 && (f[0] == "jump" || f[0] == "goto"):
		return ruleBranch{state: s, verdict: f[0], target: f[1]}, true
	}
	return ruleBranch{}, false
}

// anonMap reads "{ k : v , ... }" (a verdict like "goto X" may take two
// words).
func (e *nftEval) anonMap() ([]NFTElement, bool) {
	if e.next() != "{" {
		return nil, false
	}
	var out []NFTElement
	var k, v []string
	inValue := false
	for {
		tok := e.next()
		switch {
		case tok == "":
			return nil, false
		case tok == ":" && !inValue:
			inValue = true
		case tok == "," || tok == "}":
			if len(k) > 0 {
				out = append(out, NFTElement{Key: strings.Join(k, " "), Value: strings.Join(v, " ")})
			}
			k, v, inValue = nil, nil, false
			if tok == "}" {
				return out, true
			}
		case inValue:
			v = append(v, tok)
		default:
			k = append(k, tok)
		}
	}
}

// numgenVmap forks the path over "numgen random mod N vmap { ... }": each
// element with probability 1/N.
func (e *nftEval) numgenVmap() ([]ruleBranch, bool) {
	n, elems, ok := e.numgenMap("vmap")
	if !ok {
		return e.unknown()
	}
	var out []ruleBranch
	for k := range elems {
		s := e.s.clone()
		s.prob *= 1 / float64(n)
		s.steps = append(s.steps, Step{Kind: StepElement, Table: e.t.tr.table, Chain: "numgen random mod " + strconv.Itoa(n), Text: elementText(&elems[k])})
		b, ok := verdictBranch(s, elems[k].Value)
		if !ok {
			return e.unknown()
		}
		out = append(out, b)
	}
	return out, true
}

// numgenMap reads "numgen random mod N KIND { ... }" (KIND map or vmap)
// and returns N and the anonymous map's elements.
func (e *nftEval) numgenMap(kind string) (int, []NFTElement, bool) {
	if e.next() != "numgen" || e.next() != "random" || e.next() != "mod" {
		return 0, nil, false
	}
	n, err := strconv.Atoi(e.next())
	if err != nil || n <= 0 || e.next() != kind {
		return 0, nil, false
	}
	elems, ok := e.anonMap()
	return n, elems, ok
}

// dnat interprets "dnat to ADDR[:PORT]" and "dnat ip addr . port to
// numgen random mod N map { i : ADDR . PORT , ... }", which forks.
func (e *nftEval) dnat() ([]ruleBranch, bool) {
	e.next()
	if e.peek(0) == "ip" || e.peek(0) == "ip6" {
		e.next()
	}
	if e.peek(0) == "to" && e.peek(1) != "numgen" {
		e.next()
		ap, err := parseToDestination(strings.Trim(e.next(), "[]"), e.s.pkt.DstPort)
		if err != nil {
			return e.unknown()
		}
		setDst(e.s, ap)
		return []ruleBranch{{state: e.s, verdict: "nat"}}, true
	}
	// "dnat ip addr . port to numgen ...", listed by nft as "dnat ip to numgen ...".
	if e.peek(0) == "addr" && (e.next() != "addr" || e.next() != "." || e.next() != "port") {
		return e.unknown()
	}
	if e.next() != "to" {
		return e.unknown()
	}
	n, elems, ok := e.numgenMap("map")
	if !ok {
		return e.unknown()
	}
	var out []ruleBranch
	for k := range elems {
		addr, port, ok := strings.Cut(elems[k].Value, " . ")
		a, err := netip.ParseAddr(addr)
		p, perr := strconv.ParseUint(port, 10, 16)
		if !ok || err != nil || perr != nil {
			return e.unknown()
		}
		s := e.s.clone()
		s.prob *= 1 / float64(n)
		s.steps = append(s.steps, Step{Kind: StepElement, Table: e.t.tr.table, Chain: "numgen random mod " + strconv.Itoa(n), Text: elementText(&elems[k])})
		setDst(s, netip.AddrPortFrom(a.Unmap(), uint16(p)))
		out = append(out, ruleBranch{state: s, verdict: "nat"})
	}
	return out, true
}

func setDst(s *pathState, ap netip.AddrPort) {
	s.pkt.Dst, s.pkt.DstPort = ap.Addr(), ap.Port()
	s.dnat = true
}

// update interprets "update @set { ip saddr }": the client is recorded
// in an affinity set; its timeout is the set's.
func (e *nftEval) update() bool {
	e.next()
	ref := e.next()
	if !strings.HasPrefix(ref, "@") || e.next() != "{" {
		return false
	}
	for e.peek(0) != "}" && e.peek(0) != "" {
		e.next()
	}
	e.next()
	name := ref[1:]
	e.s.affinity = name
	if set := e.t.tr.sets[name]; set != nil {
		if e.s.seconds == nil {
			e.s.seconds = map[string]int{}
		}
		e.s.seconds[name] = set.Timeout
	}
	return true
}

// ct interprets "ct state [!=] new,..." and "ct status [!=] dnat".
func (e *nftEval) ct() (matched, known bool) {
	e.next()
	what := e.next()
	not := false
	if e.peek(0) == "!=" {
		not = true
		e.next()
	}
	have := false
	for _, v := range strings.Split(e.next(), ",") {
		switch {
		case what == "state" && v == "new":
			have = true
		case what == "status" && v == "dnat":
			have = have || e.s.dnat
		case what == "state" || what == "status":
		default:
			return false, false
		}
	}
	return have != not, true
}

// fib interprets "fib saddr|daddr type [!=] local".
func (e *nftEval) fib() (matched, known bool) {
	e.next()
	dir := e.next()
	if e.next() != "type" {
		return false, false
	}
	not := false
	if e.peek(0) == "!=" {
		not = true
		e.next()
	}
	if e.next() != "local" {
		return false, false
	}
	a := e.s.pkt.Dst
	if dir == "saddr" {
		a = e.s.pkt.Src
	}
	return e.t.node.isLocal(a) != not, true
}

// mark interprets "mark and M ==|!= V" and "mark set mark or|xor|and M",
// in kube-proxy's spelling and in nft list's ("meta mark & M != V",
// "meta mark set meta mark | M").
func (e *nftEval) mark() (bool, *ruleBranch, bool) {
	e.next() // mark
	switch e.peek(0) {
	case "and", "&":
		e.next()
		m, err := strconv.ParseUint(e.next(), 0, 32)
		if err != nil {
			return false, nil, false
		}
		op := e.next()
		v, err := strconv.ParseUint(e.next(), 0, 32)
		if err != nil || (op != "==" && op != "!=") {
			return false, nil, false
		}
		eq := uint64(e.s.mark)&m == v
		return eq == (op == "=="), nil, true
	case "set":
		e.next()
		if e.peek(0) == "meta" {
			e.next()
		}
		if e.next() != "mark" {
			return false, nil, false
		}
		op := e.next()
		m, err := strconv.ParseUint(e.next(), 0, 32)
		if err != nil {
			return false, nil, false
		}
		switch op {
		case "or", "|":
			e.s.mark |= uint32(m)
		case "xor", "^":
			e.s.mark ^= uint32(m)
		case "and", "&":
			e.s.mark &= uint32(m)
		default:
			return false, nil, false
		}
		return true, nil, true
	}
	return false, nil, false
}
