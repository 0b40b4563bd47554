package ir

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTableText: rule lines spread over several text blocks, a line longer
// than a block's spare room, and tables put together with Append all read
// back line by line, and write out, exactly as written.
func TestTableText(t *testing.T) {
	type rule struct{ chain, args string }
	gen := func(prefix string, n int) []rule {
		var out []rule
		for i := range n {
			args := "-m comment --comment " + prefix + strconv.Itoa(i) + " " + strings.Repeat("x", i%700)
			if i%997 == 0 {
				args += strings.Repeat("y", 3*textRoom) // longer than the room left for a new rule
			}
			out = append(out, rule{"KUBE-" + prefix + strconv.Itoa(i%7), args})
		}
		return out
	}
	fill := func(tb *Table, rules []rule) {
		for i, r := range rules {
			if i%2 == 0 {
				tb.AddRule(int32(i), r.chain, r.args)
				continue
			}
			w := tb.Rule(int32(i), r.chain)
			w.Arg(r.args)
			w.End()
		}
	}
	for _, tc := range []struct {
		name  string
		parts [][]rule
	}{
		{"empty", nil},
		{"one block", [][]rule{gen("A", 10)}},
		{"many blocks", [][]rule{gen("A", 8000)}},
		{"appended", [][]rule{gen("A", 5000), nil, gen("B", 3), gen("C", 6000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable("nat")
			var want []rule
			for i, p := range tc.parts {
				want = append(want, p...)
				if i == 0 {
					fill(tb, p)
					continue
				}
				o := NewTable("nat")
				fill(o, p)
				tb.Append(o)
			}
			var wantText bytes.Buffer
			var wantLines, gotLines, wantArgs, gotArgs []string
			for i, r := range want {
				line := "-A " + r.chain + " " + r.args
				wantText.WriteString(line + "\n")
				wantLines, wantArgs = append(wantLines, line), append(wantArgs, r.args)
				gotLines, gotArgs = append(gotLines, tb.Line(i)), append(gotArgs, tb.Args(i))
			}
			if diff := cmp.Diff(wantLines, gotLines); diff != "" {
				t.Errorf("Line (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantArgs, gotArgs); diff != "" {
				t.Errorf("Args (-want +got):\n%s", diff)
			}
			var got bytes.Buffer
			if err := tb.WriteText(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), wantText.Bytes()) {
				t.Errorf("WriteText: %d bytes, want %d", got.Len(), wantText.Len())
			}
			if tb.TextLen() != wantText.Len() || tb.newlines() != len(want) || len(tb.Rules) != len(want) {
				t.Errorf("TextLen %d, newlines %d, rules %d; want %d, %d, %d", tb.TextLen(), tb.newlines(), len(tb.Rules), wantText.Len(), len(want), len(want))
			}
		})
	}
}
