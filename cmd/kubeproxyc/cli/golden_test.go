package cli

import (
	"bytes"
	"context"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// casesDir holds one directory per golden case: input.yaml, flags (extra
// command-line flags, one line) and the expected outputs
// <mode>-<family>.golden (iptables-ipv4.golden, nftables-ipv6.golden, ...).
// Every golden file is what kube-proxy itself writes for the case; the
// conformance module checks them against kube-proxy. With -update the
// existing golden files are rewritten; to add one, create it empty first.
const casesDir = "../../../testdata/cases"

var goldenName = regexp.MustCompile(`^(iptables|ipvs|nftables)-(ipv4|ipv6)\.golden$`)

type goldenCase struct {
	name   string
	dir    string
	flags  []string
	mode   string
	family string
	golden string
}

func loadGoldenCases(t *testing.T) []goldenCase {
	t.Helper()
	dirs, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatalf("reading %s: %v", casesDir, err)
	}
	var cases []goldenCase
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(casesDir, d.Name())
		flagData, err := os.ReadFile(filepath.Join(dir, "flags"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			m := goldenName.FindStringSubmatch(f.Name())
			if m == nil {
				continue
			}
			family := "IPv4"
			if m[2] == "ipv6" {
				family = "IPv6"
			}
			cases = append(cases, goldenCase{
				name:   d.Name() + "/" + strings.TrimSuffix(f.Name(), ".golden"),
				dir:    dir,
				flags:  strings.Fields(string(flagData)),
				mode:   m[1],
				family: family,
				golden: filepath.Join(dir, f.Name()),
			})
		}
	}
	if len(cases) == 0 {
		t.Fatalf("no golden cases under %s", casesDir)
	}
	return cases
}

// runCLI runs kubeproxyc in-process and returns stdout, stderr and the
// exit code.
func runCLI(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := New()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(bytes.NewReader(stdin))
	code := Execute(context.Background(), cmd, &errb)
	return out.String(), errb.String(), code
}

func (c goldenCase) args(input string) []string {
	args := []string{"render", "-f", input, "--proxy-mode", c.mode, "--ip-family", c.family}
	return append(args, c.flags...)
}

func TestGolden(t *testing.T) {
	for _, c := range loadGoldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, c.args(filepath.Join(c.dir, "input.yaml"))...)
			if code != 0 {
				t.Fatalf("kubeproxyc %s: exit %d\n%s", strings.Join(c.args("input.yaml"), " "), code, stderr)
			}
			if *update {
				if err := os.WriteFile(c.golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), out); diff != "" {
				t.Errorf("kubeproxyc %s differs from %s (-want +got):\n%s", strings.Join(c.args("input.yaml"), " "), c.golden, diff)
			}
		})
	}
}

// splitDocuments splits a YAML stream at its "---" lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if bytes.Equal(bytes.TrimRight(line, " \r\n"), []byte("---")) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	docs = append(docs, cur.Bytes())
	return docs
}

// TestShuffledInput checks that the order of the input documents never
// changes a byte of the output.
func TestShuffledInput(t *testing.T) {
	for _, c := range loadGoldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(c.dir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, code := runCLI(t, nil, c.args(filepath.Join(c.dir, "input.yaml"))...)
			if code != 0 {
				t.Skip("case does not render")
			}
			docs := splitDocuments(data)
			rng := rand.New(rand.NewSource(int64(len(data))))
			for round := 0; round < 3; round++ {
				rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
				shuffled := bytes.Join(docs, []byte("---\n"))
				got, stderr, code := runCLI(t, shuffled, c.args("-")...)
				if code != 0 {
					t.Fatalf("shuffled input: exit %d\n%s", code, stderr)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("shuffled input changed the output (-ordered +shuffled):\n%s", diff)
				}
			}
		})
	}
}

// TestGoldenCoverage keeps the golden cases honest: every iptables feature
// the issue lists has at least one case whose output shows it.
func TestGoldenCoverage(t *testing.T) {
	var all strings.Builder
	families := map[string]bool{}
	for _, c := range loadGoldenCases(t) {
		if c.mode != "iptables" {
			continue
		}
		data, err := os.ReadFile(c.golden)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
		families[c.family] = true
	}
	text := all.String()
	features := map[string]string{
		"ClusterIP":                "cluster IP\" -m",
		"NodePort":                 "-A KUBE-NODEPORTS",
		"localhost NodePort":       "localhost_nps_accepted_pkts",
		"externalIP":               " external IP\"",
		"LoadBalancer IP":          " loadbalancer IP\"",
		"source ranges":            "-A KUBE-FW-",
		"firewall drop":            "-A KUBE-PROXY-FIREWALL",
		"health check node port":   "health check node port",
		"ETP Local short-circuit":  "pod traffic for ",
		"local policy chain":       "-A KUBE-SVL-",
		"no local endpoints":       "has no local endpoints",
		"no endpoints":             "has no endpoints",
		"affinity":                 "--rcheck --seconds",
		"probabilities":            "--probability 0.",
		"UDP":                      "-p udp",
		"SCTP":                     "-p sctp",
		"random-fully":             "--random-fully",
		"mark format":              "0x00004000",
		"nodeport addresses":       "-d 192.168.0.2 -j KUBE-NODEPORTS",
		"masquerade-all":           "--dport 80 -j KUBE-MARK-MASQ",
		"IPv6 localhost exclusion": "! -d ::1/128",
	}
	var names []string
	for n := range features {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.Contains(text, features[n]) {
			t.Errorf("no iptables golden case shows %s (%q)", n, features[n])
		}
	}
	for _, f := range []string{"IPv4", "IPv6"} {
		if !families[f] {
			t.Errorf("no iptables golden case for %s", f)
		}
	}
}
