package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffAgainstKernelDump is the drift check made real: for every
// iptables golden case, the `render --standalone` payload is loaded into
// a private network namespace, read back with iptables-save (which
// rewrites addresses, argument order, marks, quoting, probabilities and
// defaults), and diff must find the dump equal to the prediction made
// from the same manifests. Then one DNAT rule is deleted from the dump,
// and diff must report it.
func TestDiffAgainstKernelDump(t *testing.T) {
	requireNetns(t, "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save")
	for _, c := range loadGoldenCases(t) {
		if c.mode != "iptables" {
			continue
		}
		t.Run(c.name+"-"+c.family, func(t *testing.T) {
			input := filepath.Join(c.dir, "input.yaml")
			out, stderr, code := runCLI(t, nil, append(c.args(input), "--standalone")...)
			if code != 0 {
				t.Fatalf("render --standalone: exit %d\n%s", code, stderr)
			}
			dir := t.TempDir()
			payload := filepath.Join(dir, "payload")
			if err := os.WriteFile(payload, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			tool := "iptables"
			if c.family == "IPv6" {
				tool = "ip6tables"
			}
			saved, err := exec.Command("unshare", "-n", "sh", "-c", tool+"-restore < "+payload+" && "+tool+"-save").CombinedOutput()
			if err != nil {
				t.Fatalf("%s-restore: %v\n%s", tool, err, saved)
			}
			dump := filepath.Join(dir, "iptables-save.txt")
			if err := os.WriteFile(dump, saved, 0o644); err != nil {
				t.Fatal(err)
			}
			diffArgs := append([]string{"diff", input, dump, "--proxy-mode", c.mode, "--ip-family", c.family}, c.flags...)
			out, stderr, code = runCLI(t, nil, diffArgs...)
			if code != 0 || !strings.Contains(out, "\nno differences\n") {
				t.Errorf("diff of the prediction against the kernel's dump: exit %d, want 0\n%s%s", code, out, stderr)
			}

			// Drift: a DNAT rule missing on the node.
			lines := strings.SplitAfter(string(saved), "\n")
			for i, l := range lines {
				_, dest, ok := strings.Cut(l, "-j DNAT --to-destination ")
				if !ok {
					continue
				}
				drifted := strings.Join(append(lines[:i:i], lines[i+1:]...), "")
				if err := os.WriteFile(dump, []byte(drifted), 0o644); err != nil {
					t.Fatal(err)
				}
				out, stderr, code = runCLI(t, nil, diffArgs...)
				want := "    - -A "
				if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "--to-destination "+strings.TrimSpace(dest)+"\n") {
					t.Errorf("diff against a dump without %q: exit %d, want 1 and the rule reported as removed\n%s%s", strings.TrimSpace(l), code, out, stderr)
				}
				break
			}
		})
	}
}

// TestDiffAgainstNFTListRuleset does for nftables mode what
// TestDiffAgainstKernelDump does for iptables: every nftables golden case
// is loaded with nft -f into a private network namespace and listed back
// with nft list ruleset (blocks instead of add commands, priorities by
// name, "meta mark" arithmetic, merged anonymous sets, timeouts in hours,
// elements in hash order), and diff must find the listing equal to the
// prediction, and the golden file itself too. Then one map element is
// deleted from the listing, and diff must report it.
func TestDiffAgainstNFTListRuleset(t *testing.T) {
	requireNetns(t, "nft")
	for _, c := range loadGoldenCases(t) {
		if c.mode != "nftables" {
			continue
		}
		t.Run(c.name+"-"+c.family, func(t *testing.T) {
			input := filepath.Join(c.dir, "input.yaml")
			out, stderr, code := runCLI(t, nil, c.args(input)...)
			if code != 0 {
				t.Fatalf("render: exit %d\n%s", code, stderr)
			}
			dir := t.TempDir()
			payload := filepath.Join(dir, "payload.nft")
			if err := os.WriteFile(payload, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			listed, err := exec.Command("unshare", "-n", "sh", "-c", "nft -f "+payload+" && nft list ruleset").CombinedOutput()
			if err != nil {
				t.Fatalf("nft: %v\n%s", err, listed)
			}
			dump := filepath.Join(dir, "ruleset.nft")
			if err := os.WriteFile(dump, listed, 0o644); err != nil {
				t.Fatal(err)
			}
			base := append([]string{"--proxy-mode", c.mode, "--ip-family", c.family}, c.flags...)
			for _, other := range []string{dump, c.golden} {
				out, stderr, code = runCLI(t, nil, append([]string{"diff", input, other}, base...)...)
				if code != 0 || !strings.Contains(out, "\nno differences\n") {
					t.Errorf("diff of the prediction against %s: exit %d, want 0\n%s%s", filepath.Base(other), code, out, stderr)
				}
			}

			// Drift: the first element of service-ips missing.
			text := string(listed)
			i := strings.Index(text, "map service-ips {")
			j := strings.Index(text[max(i, 0):], "elements = { ")
			if i < 0 || j < 0 {
				return // a case without service-ips elements
			}
			start := i + j + len("elements = { ")
			end := strings.IndexAny(text[start:], ",}")
			removed := strings.TrimSpace(text[start : start+end])
			drifted := text[:start] + text[start+end:]
			drifted = strings.Replace(drifted, "elements = { ,", "elements = {", 1)
			drifted = strings.Replace(drifted, "elements = { }", "", 1)
			if err := os.WriteFile(dump, []byte(drifted), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, code = runCLI(t, nil, append([]string{"diff", input, dump}, base...)...)
			if code != 1 || !strings.Contains(out, "    - "+removed+"\n") {
				t.Errorf("diff against a listing without %q: exit %d, want 1 and the element reported\n%s%s", removed, code, out, stderr)
			}
		})
	}
}
