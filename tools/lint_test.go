package tools

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

func lintText(t *testing.T, name, text string, opts compiler.Options) []Finding {
	t.Helper()
	snap, err := compiler.Load([]compiler.Source{{Name: name, Data: []byte(text)}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return Lint(snap, opts)
}

// TestLintWant runs lint on testdata/lint/*.yaml, whose "# want ID..."
// comments name the findings expected at their line (analysistest style).
func TestLintWant(t *testing.T) {
	files, err := os.ReadDir("../testdata/lint")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`# want ((?:KPC\d{3} ?)+)$`)
	for _, f := range files {
		t.Run(f.Name(), func(t *testing.T) {
			path := "../testdata/lint/" + f.Name()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var expected []string
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for n := 1; sc.Scan(); n++ {
				if m := want.FindStringSubmatch(sc.Text()); m != nil {
					for _, id := range strings.Fields(m[1]) {
						expected = append(expected, fmt.Sprintf("%d %s", n, id))
					}
				}
			}
			var got []string
			for _, fd := range lintText(t, f.Name(), string(data), compiler.DefaultOptions()) {
				got = append(got, fmt.Sprintf("%d %s", fd.Pos.Line, fd.ID))
			}
			sort.Strings(expected)
			sort.Strings(got)
			if diff := cmp.Diff(expected, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLintDocExamples keeps docs/lint.md honest: every check has a
// section, its bad example gets exactly that finding and its good example
// gets none.
func TestLintDocExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/lint.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	var order []string
	for _, part := range strings.Split(string(data), "\n## ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		id, _, _ := strings.Cut(head, " ")
		sections[id] = body
		order = append(order, head)
	}
	for _, c := range Checks {
		if !strings.Contains(strings.Join(order, "\n"), c.ID+" "+c.Name+" ("+string(c.Severity)+")") {
			t.Errorf("docs/lint.md has no section %q", c.ID+" "+c.Name+" ("+string(c.Severity)+")")
		}
	}
	for _, c := range Checks {
		body := sections[c.ID]
		bad, good := yamlAfter(body, "Bad:"), yamlAfter(body, "Good:")
		if c.ID == "KPC017" {
			continue // thousands of services: TestLintScale
		}
		t.Run(c.ID, func(t *testing.T) {
			if bad == "" || good == "" {
				t.Fatalf("section %s lacks a yaml block after Bad: or Good:", c.ID)
			}
			var ids []string
			for _, f := range lintText(t, "bad.yaml", bad, compiler.DefaultOptions()) {
				ids = append(ids, f.ID)
			}
			want := []string{c.ID}
			if c.ID == "KPC009" {
				want = []string{"KPC007", "KPC009"} // its example needs an external IP
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("bad example: findings mismatch (-want +got):\n%s", diff)
			}
			for _, f := range lintText(t, "good.yaml", good, compiler.DefaultOptions()) {
				t.Errorf("good example: %s", f)
			}
		})
	}
}

// yamlAfter returns the first ```yaml block after the marker line.
func yamlAfter(body, marker string) string {
	_, rest, ok := strings.Cut(body, "\n"+marker+"\n")
	if !ok {
		return ""
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		return ""
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestLintScale checks KPC017 on a thousand generated Services.
func TestLintScale(t *testing.T) {
	var b strings.Builder
	for i := 0; i < IPTablesScaleThreshold; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: ns}\nspec:\n  clusterIP: 10.96.%d.%d\n  ports: [{port: 80}]\n", i, i/250, i%250+1)
	}
	opts := compiler.DefaultOptions()
	var got []string
	for _, f := range lintText(t, "big.yaml", b.String(), opts) {
		got = append(got, f.ID)
	}
	if diff := cmp.Diff([]string{"KPC017"}, got); diff != "" {
		t.Errorf("iptables mode: findings mismatch (-want +got):\n%s", diff)
	}
	opts.Mode = compiler.ModeNFTables
	if fs := lintText(t, "big.yaml", b.String(), opts); len(fs) != 0 {
		t.Errorf("nftables mode: %v", fs)
	}
}
