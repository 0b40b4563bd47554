package compiler_test

import (
	"bytes"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// TestParallelIPVSSameBytes checks that IPVS lowering, whose virtual
// servers and sets are ordered side by side for a big model, writes what
// one pass writes.
func TestParallelIPVSSameBytes(t *testing.T) {
	compiler.CheckSplitSameAsOnePass(t, "output", func(t *testing.T, snap *compiler.Snapshot, fam compiler.Family) string {
		opts := compiler.DefaultOptions()
		opts.Mode, opts.Family = compiler.ModeIPVS, fam
		p, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := render.IPVSState(&b, p.IPVS); err != nil {
			t.Fatal(err)
		}
		return b.String()
	})
}
