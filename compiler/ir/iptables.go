package ir

import (
	"bytes"
	"io"
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
	// text holds every rule line ("-A CHAIN args\n") in order, in blocks
	// of up to about textBlock bytes; a line never spans two blocks, and each
	// Rule points into its block. Keeping the lines in a few large blocks
	// makes rendering a few writes and costs no allocation per rule, and
	// a table built in parts is put together without copying its text.
	text [][]byte
}

// textBlock is the size of a block of rule text, and textRoom the room
// a block must have left for a new rule to start in it (a longer rule
// still fits: its block grows).
const (
	textBlock          = 1 << 20
	textBlockDoublings = 5 // the first block is textBlock>>5, 32 KiB
	textRoom           = 4 << 10
)

// Chain is a chain declaration. Policy is "-" for a user chain, or the
// policy (ACCEPT, DROP) of a built-in chain.
type Chain struct {
	Name   string
	Policy string
}

// Rule is one rule of a table.
type Rule struct {
	Chain string
	// The whole line, without its newline, is text block Block from
	// Start to End.
	Block, Start, End int32
	Origin            int32
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
	w := t.Rule(origin, chain)
	w.Arg(parts...)
	w.End()
}

// Grow makes room for about chains more chains and rules more rules, so
// that a table whose size is known in advance is built without copying
// its records over and over as they grow.
func (t *Table) Grow(chains, rules int) {
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
}

// Rule starts a rule "-A chain" that the RuleWriter's methods extend and
// End adds to the table: the allocation-free way to build a rule whose
// arguments are computed (numbers, addresses, pieces of one quoted
// comment). Keep the RuleWriter in a local variable and write one rule at
// a time; nothing may be added to the table until End.
func (t *Table) Rule(origin int32, chain string) RuleWriter {
	n := len(t.text)
	if n == 0 || cap(t.text[n-1])-len(t.text[n-1]) < textRoom {
		// Blocks start small and double up to textBlock, so that a small
		// table stays small.
		size := textBlock
		if n < textBlockDoublings {
			size = textBlock >> (textBlockDoublings - n)
		}
		t.text = append(t.text, make([]byte, 0, size))
		n++
	}
	text := t.text[n-1]
	start := int32(len(text))
	text = append(text, "-A "...)
	return RuleWriter{t: t, text: append(text, chain...), rule: Rule{Chain: chain, Block: int32(n - 1), Start: start, Origin: origin}}
}

// RuleWriter is a rule being written. It appends to its own copy of the
// current text block and puts it back once, in End: appending to the
// table itself would store the block's pointer into the heap on every
// argument, which costs a write barrier each while the GC runs (a tenth
// of the lowering time in profiles).
type RuleWriter struct {
	t    *Table
	text []byte
	rule Rule
}

// Arg appends the arguments, each preceded by a space; empty ones are
// skipped, as in AddRule.
func (w *RuleWriter) Arg(parts ...string) {
	for _, p := range parts {
		if p == "" {
			continue
		}
		w.text = append(w.text, ' ')
		w.text = append(w.text, p...)
	}
}

// Cat appends the strings to the current argument, without a space: for
// an argument made of several pieces, such as a quoted comment.
func (w *RuleWriter) Cat(parts ...string) {
	for _, p := range parts {
		w.text = append(w.text, p...)
	}
}

// ArgInt appends a decimal number argument.
func (w *RuleWriter) ArgInt(i int) {
	w.text = strconv.AppendInt(append(w.text, ' '), int64(i), 10)
}

// ArgAddr appends an IP address argument.
func (w *RuleWriter) ArgAddr(a netip.Addr) {
	w.text = a.AppendTo(append(w.text, ' '))
}

// End adds the rule to the table.
func (w *RuleWriter) End() {
	w.rule.End = int32(len(w.text))
	w.t.Rules = append(w.t.Rules, w.rule)
	w.t.text[w.rule.Block] = append(w.text, '\n')
}

// Append adds o's chains and rules after t's, as if they had been added
// to t directly (a table built in parts, one per CPU, is put together
// with it). o's text blocks become t's; o must not be used afterwards.
func (t *Table) Append(o *Table) {
	t.Chains = append(t.Chains, o.Chains...)
	base := int32(len(t.text))
	t.text = append(t.text, o.text...)
	n := len(t.Rules)
	t.Rules = append(t.Rules, o.Rules...)
	for i := n; i < len(t.Rules); i++ {
		t.Rules[i].Block += base
	}
}

// line returns rule i's line, without the newline, in its text block.
func (t *Table) line(i int) []byte {
	r := &t.Rules[i]
	return t.text[r.Block][r.Start:r.End]
}

// Line returns rule i as its payload line, without the newline.
func (t *Table) Line(i int) string {
	return string(t.line(i))
}

// Args returns the arguments of rule i: its line after "-A CHAIN ".
func (t *Table) Args(i int) string {
	line := t.line(i)
	off := len("-A ") + len(t.Rules[i].Chain)
	if off < len(line) {
		off++ // the space after the chain name
	}
	return string(line[off:])
}

// WriteText writes every rule line, each ending in a newline, in order.
func (t *Table) WriteText(w io.Writer) error {
	for _, b := range t.text {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// newlines counts the line ends in the rule text.
func (t *Table) newlines() int {
	n := 0
	for _, b := range t.text {
		n += bytes.Count(b, []byte{'\n'})
	}
	return n
}

// TextLen is the length of the rule lines that WriteText writes.
func (t *Table) TextLen() int {
	n := 0
	for _, b := range t.text {
		n += len(b)
	}
	return n
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
