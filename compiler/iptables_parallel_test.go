package compiler_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// renderIPTables compiles and renders one snapshot in iptables mode, and
// lists the IR's rules after the payload.
func renderIPTables(t *testing.T, snap *compiler.Snapshot, opts compiler.Options, standalone bool) string {
	t.Helper()
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: standalone})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := render.IPTablesRestore(&b, p.IPTables); err != nil {
		t.Fatal(err)
	}
	// the rules as the IR indexes them, with their chains and origins
	for _, tb := range p.IPTables.Tables {
		for i, r := range tb.Rules {
			origin := ""
			if r.Origin > 0 {
				origin = p.IPTables.Origins[r.Origin-1].String()
			}
			fmt.Fprintf(&b, "%s %s | %s\n", r.Chain, origin, tb.Line(i))
		}
	}
	return b.String()
}

// TestParallelLoweringSameBytes checks that lowering split across CPUs
// writes what one pass writes, with and without --standalone.
func TestParallelLoweringSameBytes(t *testing.T) {
	compiler.CheckSplitSameAsOnePass(t, "output", func(t *testing.T, snap *compiler.Snapshot, fam compiler.Family) string {
		opts := compiler.DefaultOptions()
		opts.Family = fam
		return renderIPTables(t, snap, opts, false) + "--- standalone\n" + renderIPTables(t, snap, opts, true)
	})
}
