package render

import (
	"bufio"
	"io"
	"sort"
	"strconv"

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
	bw := bufio.NewWriterSize(w, 256<<10)
	nw := nftWriter{w: bw, prefix: " " + p.Family + " " + p.Name + " "}

	bw.WriteString("add table ")
	bw.WriteString(p.Family)
	bw.WriteByte(' ')
	bw.WriteString(p.Name)
	if p.Comment != "" {
		bw.WriteString(" { comment ")
		nw.quote(p.Comment)
		bw.WriteString(" ; }")
	}
	bw.WriteByte('\n')

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
	for _, s := range sets {
		nw.elements(s)
	}
	for _, m := range maps {
		nw.elements(m)
	}
	return bw.Flush()
}

type nftWriter struct {
	w      *bufio.Writer
	prefix string // " FAMILY TABLE "
	num    []byte
}

func (nw *nftWriter) quote(s string) {
	nw.num = strconv.AppendQuote(nw.num[:0], s)
	nw.w.Write(nw.num)
}

func (nw *nftWriter) chain(c *ir.NFTChain) {
	w := nw.w
	w.WriteString("add chain")
	w.WriteString(nw.prefix)
	w.WriteString(c.Name)
	if c.Type != "" || c.Comment != "" {
		w.WriteString(" {")
		if c.Type != "" {
			w.WriteString(" type ")
			w.WriteString(c.Type)
			w.WriteString(" hook ")
			w.WriteString(c.Hook)
			w.WriteString(" priority ")
			nw.num = strconv.AppendInt(nw.num[:0], int64(c.Priority), 10)
			w.Write(nw.num)
			w.WriteString(" ;")
		}
		if c.Comment != "" {
			w.WriteString(" comment ")
			nw.quote(c.Comment)
			w.WriteString(" ;")
		}
		w.WriteString(" }")
	}
	w.WriteByte('\n')
}

func (nw *nftWriter) set(kind string, s *ir.NFTSet) {
	w := nw.w
	w.WriteString("add ")
	w.WriteString(kind)
	w.WriteString(nw.prefix)
	w.WriteString(s.Name)
	w.WriteString(" { type ")
	w.WriteString(s.Type)
	w.WriteString(" ;")
	if len(s.Flags) > 0 {
		w.WriteString(" flags ")
		for i, f := range s.Flags {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(f)
		}
		w.WriteString(" ;")
	}
	if s.Timeout > 0 {
		w.WriteString(" timeout ")
		nw.num = strconv.AppendInt(nw.num[:0], int64(s.Timeout), 10)
		w.Write(nw.num)
		w.WriteString("s ;")
	}
	if s.Comment != "" {
		w.WriteString(" comment ")
		nw.quote(s.Comment)
		w.WriteString(" ;")
	}
	w.WriteString(" }\n")
}

func (nw *nftWriter) rule(chain string, r *ir.NFTRule) {
	w := nw.w
	w.WriteString("add rule")
	w.WriteString(nw.prefix)
	w.WriteString(chain)
	w.WriteByte(' ')
	w.WriteString(r.Text)
	if r.Comment != "" {
		w.WriteString(" comment ")
		nw.quote(r.Comment)
	}
	w.WriteByte('\n')
}

// elements writes the elements of a set or map in ascending key order,
// which is also the order of their "add element" lines as strings (the
// order the dump gives): keys are unique within a set and all have the
// same fields, so where one key is a prefix of another, the longer one
// continues with a character above the ' ' that follows the shorter one
// in its line.
func (nw *nftWriter) elements(s *ir.NFTSet) {
	if len(s.Elements) == 0 {
		return
	}
	order := make([]int, len(s.Elements))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return s.Elements[order[i]].Key < s.Elements[order[j]].Key })
	w := nw.w
	for _, i := range order {
		e := &s.Elements[i]
		w.WriteString("add element")
		w.WriteString(nw.prefix)
		w.WriteString(s.Name)
		w.WriteString(" { ")
		w.WriteString(e.Key)
		if e.Comment != "" {
			w.WriteString(" comment ")
			nw.quote(e.Comment)
		}
		if e.Value != "" {
			w.WriteString(" : ")
			w.WriteString(e.Value)
		}
		w.WriteString(" }\n")
	}
}

func sortedChains(in []*ir.NFTChain) []*ir.NFTChain {
	out := append([]*ir.NFTChain(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedSets(in []*ir.NFTSet) []*ir.NFTSet {
	out := append([]*ir.NFTSet(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
