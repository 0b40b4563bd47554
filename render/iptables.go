package render

import (
	"bufio"
	"io"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// IPTablesRestore writes the program as iptables-restore input: for each
// table "*name", its chain declarations, its rules and "COMMIT".
func IPTablesRestore(w io.Writer, p *ir.IPTables) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, h := range p.Header {
		bw.WriteString("# ")
		bw.WriteString(h)
		bw.WriteByte('\n')
	}
	for _, t := range p.Tables {
		bw.WriteByte('*')
		bw.WriteString(t.Name)
		bw.WriteByte('\n')
		for _, c := range t.Chains {
			bw.WriteByte(':')
			bw.WriteString(c.Name)
			bw.WriteByte(' ')
			bw.WriteString(c.Policy)
			bw.WriteString(" [0:0]\n")
		}
		t.WriteText(bw)
		bw.WriteString("COMMIT\n")
	}
	return bw.Flush()
}
