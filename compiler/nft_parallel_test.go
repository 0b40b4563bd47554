package compiler_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// renderNFT compiles and renders one snapshot in nftables mode, and lists
// the IR after the ruleset in its own order (which the renderer sorts
// away): chains with their rules and origins, then sets and maps with
// their elements and origins.
func renderNFT(t *testing.T, snap *compiler.Snapshot, opts compiler.Options) string {
	t.Helper()
	opts.Mode = compiler.ModeNFTables
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := render.NFT(&b, p.NFT); err != nil {
		t.Fatal(err)
	}
	origin := func(o int32) string {
		if o == 0 {
			return ""
		}
		return p.NFT.Origins[o-1].String()
	}
	for _, c := range p.NFT.Chains {
		fmt.Fprintf(&b, "chain %s\n", c.Name)
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "  %s | %s | %s\n", origin(r.Origin), r.Text, r.Comment)
		}
	}
	for _, list := range [][]*ir.NFTSet{p.NFT.Sets, p.NFT.Maps} {
		for _, s := range list {
			fmt.Fprintf(&b, "set %s %s %v %d\n", s.Name, s.Type, s.Flags, s.Timeout)
			for _, e := range s.Elements {
				fmt.Fprintf(&b, "  %s | %s : %s | %s\n", origin(e.Origin), e.Key, e.Value, e.Comment)
			}
		}
	}
	if err := ir.CheckNFT(p.NFT); err != nil {
		t.Errorf("CheckNFT: %v", err)
	}
	return b.String()
}

// TestParallelNFTLoweringSameBytes checks that nftables lowering split
// across CPUs builds the table one pass builds, in the same order.
func TestParallelNFTLoweringSameBytes(t *testing.T) {
	compiler.CheckSplitSameAsOnePass(t, "table", func(t *testing.T, snap *compiler.Snapshot, fam compiler.Family) string {
		opts := compiler.DefaultOptions()
		opts.Family = fam
		return renderNFT(t, snap, opts)
	})
}
