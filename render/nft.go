package render

import (
	"cmp"
	"encoding/binary"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// NFT writes the table as "nft -f" input in the form of a dump of the
// table's state (knftables' Fake.Dump, which kube-proxy's own tests compare
// against): the table; its chains, then sets, then maps, each sorted by
// name; then the rules of every chain in chain-name order, the rules of a
// chain in their order; then the elements of every set and then every map,
// sorted. Every line is an "add" command, so the output loads into an empty
// ruleset as is.
func NFT(w io.Writer, p *ir.NFT) error {
	nw := nftWriter{w: w, buf: make([]byte, 0, nftBufSize+nftLineReserve), prefix: " " + p.Family + " " + p.Name + " "}

	b := append(nw.buf, "add table "...)
	b = append(append(append(b, p.Family...), ' '), p.Name...)
	if p.Comment != "" {
		b = strconv.AppendQuote(append(b, " { comment "...), p.Comment)
		b = append(b, " ; }"...)
	}
	nw.buf = append(b, '\n')

	chains := sortedChains(p.Chains)
	sets := sortedSets(p.Sets)
	maps := sortedSets(p.Maps)
	for _, c := range chains {
		nw.chain(c)
	}
	for _, s := range sets {
		nw.set("set", s)
	}
	for _, m := range maps {
		nw.set("map", m)
	}
	for _, c := range chains {
		for i := range c.Rules {
			nw.rule(c.Name, &c.Rules[i])
		}
	}
	var order []elementRef
	for _, s := range sets {
		order = nw.elements(s, order)
	}
	for _, m := range maps {
		order = nw.elements(m, order)
	}
	nw.flush()
	return nw.err
}

// nftBufSize is how much output nftWriter gathers before writing it.
const (
	nftBufSize     = 256 << 10
	nftLineReserve = 4 << 10 // room for a typical line past nftBufSize
)

// nftWriter appends lines to a buffer and writes it out whenever it is
// full: appending to a byte slice costs less than a buffered writer's
// method call per piece. After a failed write it keeps going without
// writing, and reports the first error.
type nftWriter struct {
	w      io.Writer
	buf    []byte
	prefix string // " FAMILY TABLE "
	err    error
}

// endLine writes the buffer out once it holds nftBufSize bytes or more.
func (nw *nftWriter) endLine() {
	if len(nw.buf) >= nftBufSize {
		nw.flush()
	}
}

func (nw *nftWriter) flush() {
	if nw.err == nil && len(nw.buf) > 0 {
		_, nw.err = nw.w.Write(nw.buf)
	}
	nw.buf = nw.buf[:0]
}

func (nw *nftWriter) chain(c *ir.NFTChain) {
	b := append(append(nw.buf, "add chain"...), nw.prefix...)
	b = append(b, c.Name...)
	if c.Type != "" || c.Comment != "" {
		b = append(b, " {"...)
		if c.Type != "" {
			b = append(append(b, " type "...), c.Type...)
			b = append(append(b, " hook "...), c.Hook...)
			b = strconv.AppendInt(append(b, " priority "...), int64(c.Priority), 10)
			b = append(b, " ;"...)
		}
		if c.Comment != "" {
			b = strconv.AppendQuote(append(b, " comment "...), c.Comment)
			b = append(b, " ;"...)
		}
		b = append(b, " }"...)
	}
	nw.buf = append(b, '\n')
	nw.endLine()
}

func (nw *nftWriter) set(kind string, s *ir.NFTSet) {
	b := append(append(nw.buf, "add "...), kind...)
	b = append(append(b, nw.prefix...), s.Name...)
	b = append(append(b, " { type "...), s.Type...)
	b = append(b, " ;"...)
	if len(s.Flags) > 0 {
		b = append(b, " flags "...)
		for i, f := range s.Flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, f...)
		}
		b = append(b, " ;"...)
	}
	if s.Timeout > 0 {
		b = strconv.AppendInt(append(b, " timeout "...), int64(s.Timeout), 10)
		b = append(b, "s ;"...)
	}
	if s.Comment != "" {
		b = strconv.AppendQuote(append(b, " comment "...), s.Comment)
		b = append(b, " ;"...)
	}
	nw.buf = append(b, " }\n"...)
	nw.endLine()
}

func (nw *nftWriter) rule(chain string, r *ir.NFTRule) {
	b := append(append(nw.buf, "add rule"...), nw.prefix...)
	b = append(append(append(b, chain...), ' '), r.Text...)
	if r.Comment != "" {
		b = strconv.AppendQuote(append(b, " comment "...), r.Comment)
	}
	nw.buf = append(b, '\n')
	nw.endLine()
}

// elements writes the elements of a set or map in ascending key order,
// which is also the order of their "add element" lines as strings (the
// order the dump gives): keys are unique within a set and all have the
// same fields, so where one key is a prefix of another, the longer one
// continues with a character above the ' ' that follows the shorter one
// in its line. order is scratch space, returned for the next set.
func (nw *nftWriter) elements(s *ir.NFTSet, order []elementRef) []elementRef {
	if len(s.Elements) == 0 {
		return order
	}
	order = order[:0]
	for i := range s.Elements {
		e := &s.Elements[i]
		order = append(order, elementRef{key: makeSortKey(e.Key), e: e})
	}
	slices.SortFunc(order, func(a, b elementRef) int {
		if c := a.key.compare(b.key); c != 0 {
			return c
		}
		return strings.Compare(a.e.Key, b.e.Key)
	})
	for _, o := range order {
		e := o.e
		b := append(append(nw.buf, "add element"...), nw.prefix...)
		b = append(append(b, s.Name...), " { "...)
		b = append(b, e.Key...)
		if e.Comment != "" {
			b = strconv.AppendQuote(append(b, " comment "...), e.Comment)
		}
		if e.Value != "" {
			b = append(append(b, " : "...), e.Value...)
		}
		nw.buf = append(b, " }\n"...)
		nw.endLine()
	}
	return order
}

// sortKey is the first 16 bytes of a string as two big-endian numbers,
// zero-padded: comparing keys orders strings as comparing the strings
// does, except that equal keys leave the order open. Names and keys in a
// table mostly differ within their first 16 bytes (a prefix and a hash,
// an address), so sorting by key first spares most string comparisons.
type sortKey struct{ hi, lo uint64 }

func makeSortKey(s string) sortKey {
	var b [16]byte
	copy(b[:], s)
	return sortKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k sortKey) compare(o sortKey) int {
	if c := cmp.Compare(k.hi, o.hi); c != 0 {
		return c
	}
	return cmp.Compare(k.lo, o.lo)
}

type elementRef struct {
	key sortKey
	e   *ir.NFTElement
}

// sortByName returns the items sorted by name.
func sortByName[T any](in []*T, name func(*T) string) []*T {
	type ref struct {
		key sortKey
		v   *T
	}
	refs := make([]ref, len(in))
	for i, v := range in {
		refs[i] = ref{makeSortKey(name(v)), v}
	}
	slices.SortFunc(refs, func(a, b ref) int {
		if c := a.key.compare(b.key); c != 0 {
			return c
		}
		return strings.Compare(name(a.v), name(b.v))
	})
	out := make([]*T, len(in))
	for i, r := range refs {
		out[i] = r.v
	}
	return out
}

func sortedChains(in []*ir.NFTChain) []*ir.NFTChain {
	return sortByName(in, func(c *ir.NFTChain) string { return c.Name })
}

func sortedSets(in []*ir.NFTSet) []*ir.NFTSet {
	return sortByName(in, func(s *ir.NFTSet) string { return s.Name })
}

// NFTStandalone writes the table like NFT, preceded by lines that create
// and delete the table, so that `nft -f` replaces whatever an earlier run
// left and the file can be applied again and again (nft runs a file as
// one transaction).
func NFTStandalone(w io.Writer, p *ir.NFT) error {
	head := "add table " + p.Family + " " + p.Name + "\ndelete table " + p.Family + " " + p.Name + "\n"
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	return NFT(w, p)
}
