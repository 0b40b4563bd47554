package ir

import "strconv"

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
