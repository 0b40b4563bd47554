package cli

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// cliDocsDir holds the CLI reference, one Markdown page per command,
// generated from the cobra command tree.
const cliDocsDir = "../../../docs/cli"

// TestCLIDocs fails when docs/cli is stale: it generates the pages again
// and compares. With -update it rewrites the directory.
func TestCLIDocs(t *testing.T) {
	root := New()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	var noTag func(*cobra.Command)
	noTag = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			noTag(sub)
		}
	}
	noTag(root)
	tmp := t.TempDir()
	if err := doc.GenMarkdownTree(root, tmp); err != nil {
		t.Fatal(err)
	}
	want, got := readDir(t, cliDocsDir), readDir(t, tmp)
	if *update {
		if err := os.RemoveAll(cliDocsDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(cliDocsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range got {
			if err := os.WriteFile(filepath.Join(cliDocsDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/cli is stale; run go test ./cmd/kubeproxyc/cli -run TestCLIDocs -update (-want +got):\n%s", diff)
	}
	for _, name := range []string{"kubeproxyc_diff.md", "kubeproxyc_explain.md", "kubeproxyc_inspect.md", "kubeproxyc_lint.md", "kubeproxyc_graph.md", "kubeproxyc_completion_bash.md", "kubeproxyc_version.md"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no page %s among %s", name, strings.Join(sortedNames(got), " "))
		}
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name()] = string(data)
	}
	return out
}

func sortedNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCompletion checks that the shell completion scripts are generated
// and that flag values complete.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, stderr, code := runCLI(t, nil, "completion", shell)
		if code != 0 || !strings.Contains(out, "kubeproxyc") {
			t.Errorf("completion %s: exit %d\n%.200s\n%s", shell, code, out, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "render", "--proxy-mode", ""}, []string{"iptables", "ipvs", "nftables"}},
		{[]string{"__complete", "explain", "--ip-family", ""}, []string{"IPv4", "IPv6"}},
		{[]string{"__complete", "diff", "--format", ""}, []string{"text", "markdown", "json"}},
		{[]string{"__complete", "graph", "-f", "../../../examples/shop.yaml", "--service", "shop/"}, []string{"shop/api", "shop/web"}},
	} {
		out, stderr, code := runCLI(t, nil, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", tc.args, code, stderr)
		}
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "Completion ended") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v mismatch (-want +got):\n%s", tc.args, diff)
		}
	}
}
