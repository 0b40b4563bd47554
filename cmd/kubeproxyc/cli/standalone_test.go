package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requireNetns skips the test where no private network namespace can be
// made (not root, no unshare, or a sandbox that forbids it).
func requireNetns(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"unshare"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: cannot load rules into a network namespace", tool)
		}
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (unshare -n: %v %s); run as root", err, out)
	}
}

// TestStandaloneLoadsIntoKernel loads `render --standalone` payloads into
// real iptables-restore inside a private network namespace, twice, and
// checks that the second load leaves the same ruleset (the payload can be
// applied again and again).
func TestStandaloneLoadsIntoKernel(t *testing.T) {
	requireNetns(t, "iptables-restore", "ip6tables-restore", "iptables-save")
	for _, c := range loadGoldenCases(t) {
		if c.mode != "iptables" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			args := append(c.args(filepath.Join(c.dir, "input.yaml")), "--standalone")
			out, stderr, code := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("render --standalone: exit %d\n%s", code, stderr)
			}
			payload := filepath.Join(t.TempDir(), "rules")
			if err := os.WriteFile(payload, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			tool := "iptables"
			if c.family == "IPv6" {
				tool = "ip6tables"
			}
			script := tool + "-restore < " + payload + " && " + tool + "-save && echo ==== && " +
				tool + "-restore < " + payload + " && " + tool + "-save"
			res, err := exec.Command("unshare", "-n", "sh", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("%s-restore rejected the payload: %v\n%s", tool, err, res)
			}
			first, second, ok := strings.Cut(stripSaveComments(string(res)), "====\n")
			if !ok {
				t.Fatalf("unexpected output:\n%s", res)
			}
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("applying the payload twice changed the ruleset (-first +second):\n%s", diff)
			}
			if !strings.Contains(first, "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES") {
				t.Errorf("the loaded ruleset lacks the PREROUTING jump to KUBE-SERVICES:\n%s", first)
			}
		})
	}
}

// stripSaveComments drops iptables-save's "#" lines, which carry dates.
func stripSaveComments(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestStandaloneNFTablesReapplies loads a `render --proxy-mode nftables
// --standalone` ruleset twice with nft -f in a private network namespace:
// the second load must replace the table, not add to it.
func TestStandaloneNFTablesReapplies(t *testing.T) {
	requireNetns(t, "nft")
	for _, family := range []string{"IPv4", "IPv6"} {
		t.Run(family, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, "render", "-f", filepath.Join(casesDir, "clusterip-dualstack", "input.yaml"),
				"--proxy-mode", "nftables", "--ip-family", family, "--standalone")
			if code != 0 {
				t.Fatalf("render: exit %d\n%s", code, stderr)
			}
			file := filepath.Join(t.TempDir(), "rules.nft")
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			table := "ip kube-proxy"
			if family == "IPv6" {
				table = "ip6 kube-proxy"
			}
			script := "nft -f " + file + " && nft list table " + table + " && echo ==== && nft -f " + file + " && nft list table " + table
			res, err := exec.Command("unshare", "-n", "sh", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("nft -f: %v\n%s", err, res)
			}
			first, second, _ := strings.Cut(string(res), "====\n")
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("applying the ruleset twice changed the table (-first +second):\n%s", diff)
			}
			if !strings.Contains(first, "backend") {
				t.Errorf("the loaded table lacks the service:\n%s", first)
			}
		})
	}
}
