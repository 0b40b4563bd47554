package ir

import (
	"net/netip"
	"strconv"
)

// IPTables is an iptables-restore program: tables in payload order.
type IPTables struct {
	Tables []*Table
	// Origins lists the objects rules came from; Rule.Origin indexes it
	// (1-based; 0 means the rule belongs to no single object).
	Origins []Origin
	// Header lines are written as "# ..." comments before the first table.
	Header []string
}

// Origin names the object a rule was compiled from.
type Origin struct {
	ServicePort string // "namespace/name:port"
	File        string
	Line        int
}

// String formats the origin as "ns/name:port (file:line)".
func (o Origin) String() string {
	if o.File == "" {
		return o.ServicePort
	}
	return o.ServicePort + " (" + o.File + ":" + strconv.Itoa(o.Line) + ")"
}

// Table is one table of an iptables-restore payload.
type Table struct {
	Name   string  // filter, nat, ...
	Chains []Chain // declared chains, in declaration order
	Rules  []Rule  // rules, in order
	// Text holds every rule line ("-A CHAIN args\n") in order; each Rule
	// points into it. Keeping the lines in one buffer makes rendering a
	// single write and costs no allocation per rule.
	Text []byte

	open Rule // the rule between Begin and End
}

// Chain is a chain declaration. Policy is "-" for a user chain, or the
// policy (ACCEPT, DROP) of a built-in chain.
type Chain struct {
	Name   string
	Policy string
}

// Rule is one rule of a table.
type Rule struct {
	Chain  string
	Start  int32 // Text[Start:End] is the whole line without its newline
	End    int32
	Origin int32
}

// NewTable returns an empty table.
func NewTable(name string) *Table { return &Table{Name: name} }

// AddChain declares a user chain.
func (t *Table) AddChain(name string) {
	t.Chains = append(t.Chains, Chain{Name: name, Policy: "-"})
}

// AddBuiltinChain declares a built-in chain with its policy.
func (t *Table) AddBuiltinChain(name, policy string) {
	t.Chains = append(t.Chains, Chain{Name: name, Policy: policy})
}

// AddRule appends "-A chain parts..." joined by single spaces. Empty parts
// are skipped.
func (t *Table) AddRule(origin int32, chain string, parts ...string) {
	start := len(t.Text)
	t.Text = append(t.Text, "-A "...)
	t.Text = append(t.Text, chain...)
	for _, p := range parts {
		if p == "" {
			continue
		}
		t.Text = append(t.Text, ' ')
		t.Text = append(t.Text, p...)
	}
	t.Rules = append(t.Rules, Rule{Chain: chain, Start: int32(start), End: int32(len(t.Text)), Origin: origin})
	t.Text = append(t.Text, '\n')
}

// Grow makes room for about chains more chains, rules more rules and
// textBytes more bytes of rule text, so that a table whose size is known
// in advance is built without copying it over and over as it grows.
func (t *Table) Grow(chains, rules, textBytes int) {
	if n := len(t.Chains) + chains; n > cap(t.Chains) {
		c := make([]Chain, len(t.Chains), n)
		copy(c, t.Chains)
		t.Chains = c
	}
	if n := len(t.Rules) + rules; n > cap(t.Rules) {
		r := make([]Rule, len(t.Rules), n)
		copy(r, t.Rules)
		t.Rules = r
	}
	if n := len(t.Text) + textBytes; n > cap(t.Text) {
		b := make([]byte, len(t.Text), n)
		copy(b, t.Text)
		t.Text = b
	}
}

// Begin starts a rule "-A chain" that the Arg methods extend and End
// finishes: the allocation-free way to build a rule whose arguments are
// computed (numbers, addresses, pieces of one quoted comment). Rules are
// built one at a time; AddRule must not be called between Begin and End.
func (t *Table) Begin(origin int32, chain string) {
	t.open = Rule{Chain: chain, Start: int32(len(t.Text)), Origin: origin}
	t.Text = append(t.Text, "-A "...)
	t.Text = append(t.Text, chain...)
}

// Arg appends the arguments, each preceded by a space; empty ones are
// skipped, as in AddRule.
func (t *Table) Arg(parts ...string) {
	for _, p := range parts {
		if p == "" {
			continue
		}
		t.Text = append(t.Text, ' ')
		t.Text = append(t.Text, p...)
	}
}

// Cat appends the strings to the current argument, without a space: for
// an argument made of several pieces, such as a quoted comment.
func (t *Table) Cat(parts ...string) {
	for _, p := range parts {
		t.Text = append(t.Text, p...)
	}
}

// ArgInt appends a decimal number argument.
func (t *Table) ArgInt(i int) {
	t.Text = append(t.Text, ' ')
	t.Text = strconv.AppendInt(t.Text, int64(i), 10)
}

// ArgAddr appends an IP address argument.
func (t *Table) ArgAddr(a netip.Addr) {
	t.Text = append(t.Text, ' ')
	t.Text = a.AppendTo(t.Text)
}

// End finishes the rule started by Begin.
func (t *Table) End() {
	r := t.open
	r.End = int32(len(t.Text))
	t.Rules = append(t.Rules, r)
	t.Text = append(t.Text, '\n')
}

// Line returns rule i as its payload line, without the newline.
func (t *Table) Line(i int) string {
	r := t.Rules[i]
	return string(t.Text[r.Start:r.End])
}

// Args returns the arguments of rule i: its line after "-A CHAIN ".
func (t *Table) Args(i int) string {
	r := t.Rules[i]
	off := int(r.Start) + len("-A ") + len(r.Chain)
	if off < int(r.End) {
		off++ // the space after the chain name
	}
	return string(t.Text[off:r.End])
}

// Table returns the named table, or nil.
func (p *IPTables) Table(name string) *Table {
	for _, t := range p.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}
