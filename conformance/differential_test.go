package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/conformance/gen"
)

var (
	seeds       = flag.Int("seeds", 100, "number of random seeds TestDifferential runs")
	firstSeed   = flag.Uint64("first-seed", 1, "first seed of TestDifferential")
	modesFlag   = flag.String("modes", "", "comma list of the modes to compare (default: all)")
	maxFailures = flag.Int("max-failures", 3, "stop TestDifferential after this many failing seeds")
	shrinkTries = flag.Int("shrink-tries", 4000, "at most this many comparisons while shrinking a failing case")
	failureDir  = flag.String("failure-dir", "", "where shrunk failing cases are written (default: a directory under $TMPDIR)")
)

func selectedModes(t *testing.T) []Mode {
	if *modesFlag == "" {
		return Modes
	}
	var out []Mode
	for _, name := range strings.Split(*modesFlag, ",") {
		found := false
		for _, m := range Modes {
			if m.Name == strings.TrimSpace(name) {
				out = append(out, m)
				found = true
			}
		}
		if !found {
			t.Fatalf("-modes: unknown mode %q", name)
		}
	}
	return out
}

// A feature is something the generator must make kube-proxy write now
// and then, so that a change to the generator cannot quietly stop
// covering it. Each is looked for in the iptables outputs of a run of at
// least 200 seeds.
type feature struct {
	name string
	seen func(out string, fam compiler.Family, n gen.Node) bool
}

func has(snippet string) func(string, compiler.Family, gen.Node) bool {
	return func(out string, _ compiler.Family, _ gen.Node) bool { return strings.Contains(out, snippet) }
}

var features = []feature{
	{"ClusterIP with endpoints", has(`cluster IP" -m`)},
	{"no endpoints (REJECT)", has(`has no endpoints"`)},
	{"no local endpoints (DROP)", has(`has no local endpoints"`)},
	{"NodePort", has("-A KUBE-NODEPORTS -m comment --comment ")},
	{"localhost NodePort (nfacct)", has("localhost_nps_accepted_pkts")},
	{"externalIP", has(` external IP"`)},
	{"LoadBalancer IP", has(` loadbalancer IP"`)},
	{"LB source ranges (FW chain)", has("-A KUBE-FW-")},
	{"LB source range has node IP", func(out string, _ compiler.Family, _ gen.Node) bool { return hasFWAllowFromNode(out) }},
	{"health check node port", has("health check node port")},
	{"ETP Local short-circuit", has("pod traffic for ")},
	{"local policy chain", has("-A KUBE-SVL-")},
	{"session affinity", has("--rcheck --seconds")},
	{"probabilities", has("--probability 0.")},
	{"large cluster mode", func(out string, _ compiler.Family, _ gen.Node) bool { return hasBareSEPRule(out) }},
	{"masquerade-all", func(out string, _ compiler.Family, n gen.Node) bool {
		return n.MasqueradeAll && strings.Contains(out, "-A KUBE-SVC-")
	}},
	{"no local detector", func(out string, _ compiler.Family, n gen.Node) bool {
		return len(n.ClusterCIDRs) == 0 && strings.Contains(out, "-A KUBE-SVC-")
	}},
	{"bridge local detector", has("-i cbr0")},
	{"interface-name local detector", has("veth+")},
	{"per-IP nodeport jumps", has(`this must be the last rule in this chain" -d `)},
	{"no random-fully", has("-j MASQUERADE\n")},
	{"no nfacct", has("-m conntrack --ctstate INVALID -j DROP")},
	{"tcp_be_liberal (no INVALID)", func(out string, _ compiler.Family, _ gen.Node) bool {
		return !strings.Contains(out, "--ctstate INVALID")
	}},
	{"non-default masquerade bit", func(out string, _ compiler.Family, n gen.Node) bool {
		return n.MasqueradeBit != 14 && strings.Contains(out, "-A KUBE-MARK-MASQ -j MARK --or-mark")
	}},
	{"IPv6 with endpoints", func(out string, fam compiler.Family, _ gen.Node) bool {
		return fam == compiler.IPv6 && strings.Contains(out, ":KUBE-SVC-")
	}},
	{"UDP", has("-m udp -p udp")},
	{"SCTP", has("-m sctp -p sctp")},
	{"kube-proxy ignores all services", func(out string, _ compiler.Family, _ gen.Node) bool {
		return !strings.Contains(out, `cluster IP"`) && !strings.Contains(out, "has no ")
	}},
}

// hasFWAllowFromNode reports a KUBE-FW rule that accepts an LB IP as
// source (written when a source range contains the node IP).
func hasFWAllowFromNode(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "-A KUBE-FW-") {
			continue
		}
		if _, rest, ok := strings.Cut(l, " -s "); ok && !strings.Contains(strings.Fields(rest)[0], "/") {
			return true
		}
	}
	return false
}

// hasBareSEPRule reports a SEP rule without a comment (large-cluster mode).
func hasBareSEPRule(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "-A KUBE-SEP-") && !strings.Contains(l, "--comment") {
			return true
		}
	}
	return false
}

// TestDifferential compares kube-proxy and kubeproxyc on random snapshots:
// for every seed, mode and IP family the outputs must be identical. A
// failing seed is shrunk to a small case that still fails; the report
// shows the case and a diff, and the case is written out as a golden-case
// directory.
func TestDifferential(t *testing.T) {
	modes := selectedModes(t)
	start := time.Now()
	seen := map[string]int{}
	compared, failed := 0, 0
	var failures []string
	for seed := *firstSeed; seed < *firstSeed+uint64(*seeds); seed++ {
		c := gen.Generate(seed)
		in, err := Load(c.YAML(), c.Node)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		seedFailed := false
		for _, m := range modes {
			for _, fam := range Families {
				compared++
				o := Compare(m, fam, in)
				if m.Name == "iptables" && o.Failure == "" {
					for _, f := range features {
						if f.seen(string(o.Want), fam, c.Node) {
							seen[f.name]++
						}
					}
				}
				if o.Failure == "" || seedFailed {
					continue
				}
				seedFailed = true
				f := NewFailure(c, m, fam, o, *shrinkTries)
				dir := filepath.Join(failureRoot(t), fmt.Sprintf("seed-%d-%s-%s", seed, m.Name, strings.ToLower(string(fam))))
				if err := f.WriteCase(dir); err != nil {
					t.Error(err)
				}
				t.Errorf("MISMATCH %s\nthe shrunk case is in %s; to make it a golden case: cp -r %s ../testdata/cases/<name>",
					f.Report(), dir, dir)
				failures = append(failures, fmt.Sprintf("seed %d %s %s", seed, m.Name, fam))
			}
		}
		// kube-proxy must give the same canonical output twice: a
		// difference means the generator made an input on which
		// kube-proxy is not deterministic, or canon.go missed a map order.
		if seed%10 == 0 && !seedFailed {
			for _, m := range modes {
				a, b := Compare(m, compiler.IPv4, in), Compare(m, compiler.IPv4, in)
				if !bytes.Equal(a.Want, b.Want) {
					t.Errorf("seed %d, %s: kube-proxy gave two different canonical outputs:\n%s", seed, m.Name, UnifiedDiff(a.Want, b.Want, "run 1", "run 2"))
					seedFailed = true
				}
			}
		}
		if seedFailed {
			failed++
			if failed >= *maxFailures {
				t.Errorf("stopping after %d failing seeds", failed)
				break
			}
		}
	}
	t.Logf("%d seeds from %d, %d comparisons (%d modes x 2 families), %d failing seeds, %v",
		*seeds, *firstSeed, compared, len(modes), failed, time.Since(start).Round(time.Millisecond))
	if len(failures) > 0 {
		t.Logf("failing: %s", strings.Join(failures, "; "))
	}
	if *seeds >= 200 && failed == 0 && len(modes) > 0 && modes[0].Name == "iptables" {
		for _, f := range features {
			t.Logf("feature %-35s %5d outputs", f.name, seen[f.name])
			if seen[f.name] == 0 {
				t.Errorf("no output of the %d seeds shows %q: the generator no longer covers it", *seeds, f.name)
			}
		}
	}
}

func failureRoot(t *testing.T) string {
	if *failureDir != "" {
		return *failureDir
	}
	dir, err := os.MkdirTemp("", "kubeproxyc-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	*failureDir = dir
	return dir
}
