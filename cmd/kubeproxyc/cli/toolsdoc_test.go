package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// toolsDoc is the page that shows the tool commands with their output.
const toolsDoc = "docs/tools.md"

// TestToolsDoc keeps docs/tools.md real: every code block that starts
// with "$ kubeproxyc ARGS" must hold what that command prints (stdout),
// run from the repository root. With -update the blocks are rewritten.
func TestToolsDoc(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, toolsDoc)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	var out strings.Builder
	rest := string(data)
	blocks := 0
	for {
		i := strings.Index(rest, "```\n$ kubeproxyc ")
		if i < 0 {
			out.WriteString(rest)
			break
		}
		out.WriteString(rest[:i+4])
		rest = rest[i+4:]
		cmdLine, after, _ := strings.Cut(rest, "\n")
		body, tail, ok := strings.Cut(after, "```\n")
		if !ok {
			t.Fatalf("%s: unterminated block after %q", toolsDoc, cmdLine)
		}
		args, err := ir.Tokenize(strings.TrimPrefix(cmdLine, "$ kubeproxyc "))
		if err != nil {
			t.Fatalf("%s: %q: %v", toolsDoc, cmdLine, err)
		}
		got, stderr, code := runCLI(t, nil, args...)
		if code != 0 && args[0] != "diff" && args[0] != "lint" {
			t.Errorf("%s: %s: exit %d\n%s", toolsDoc, cmdLine, code, stderr)
		}
		if !*update {
			if diff := cmp.Diff(body, got); diff != "" {
				t.Errorf("%s: the output of %q changed; run go test ./cmd/kubeproxyc/cli -run TestToolsDoc -update (-want +got):\n%s", toolsDoc, cmdLine, diff)
			}
		}
		out.WriteString(cmdLine + "\n" + got + "```\n")
		rest = tail
		blocks++
	}
	if blocks < 8 {
		t.Errorf("%s: only %d command blocks", toolsDoc, blocks)
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
