package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

// features are output snippets the generator must produce now and then,
// so that a generator change cannot quietly stop covering something. Each
// is checked on the iptables outputs of a run of at least 200 seeds.
var features = map[string]string{
	"ClusterIP with endpoints":        `cluster IP" -m`,
	"no endpoints (REJECT)":           `has no endpoints"`,
	"no local endpoints (DROP)":       `has no local endpoints"`,
	"NodePort":                        "-A KUBE-NODEPORTS -m comment --comment ",
	"localhost NodePort (nfacct)":     "localhost_nps_accepted_pkts",
	"externalIP":                      ` external IP"`,
	"LoadBalancer IP":                 ` loadbalancer IP"`,
	"LB source ranges (FW chain)":     "-A KUBE-FW-",
	"LB source range has node IP":     "",
	"health check node port":          "health check node port",
	"ETP Local short-circuit":         "pod traffic for ",
	"local policy chain":              "-A KUBE-SVL-",
	"session affinity":                "--rcheck --seconds",
	"probabilities":                   "--probability 0.",
	"large cluster mode (SEP bare)":   "\n-A KUBE-SEP-",
	"masquerade-all":                  `-j KUBE-MARK-MASQ` + "\n",
	"no local detector":               "",
	"per-IP nodeport jumps":           `this must be the last rule in this chain" -d `,
	"no random-fully":                 "-j MASQUERADE\n",
	"no nfacct":                       "-m conntrack --ctstate INVALID -j DROP",
	"tcp_be_liberal (no INVALID)":     "",
	"IPv6":                            ":KUBE-SVC-",
	"UDP":                             "-m udp -p udp",
	"SCTP":                            "-m sctp -p sctp",
	"non-default masquerade bit":      "",
	"interface-name local detector":   "veth+",
	"bridge local detector":           "-i cbr0",
	"kube-proxy ignores all services": "",
}

// featureSeen checks the features on one iptables output.
func featureSeen(seen map[string]int, fam compiler.Family, n gen.Node, out []byte) {
	s := string(out)
	for name, snippet := range features {
		ok := snippet != "" && strings.Contains(s, snippet)
		switch name {
		case "large cluster mode (SEP bare)":
			ok = strings.Contains(s, "-j KUBE-MARK-MASQ\n") && hasBareSEPRule(s)
		case "masquerade-all":
			ok = n.MasqueradeAll && strings.Contains(s, "--dport ") && strings.Contains(s, " -j KUBE-MARK-MASQ\n-A KUBE-S")
		case "no local detector":
			ok = len(n.ClusterCIDRs) == 0 && strings.Contains(s, "-A KUBE-SVC-")
		case "tcp_be_liberal (no INVALID)":
			ok = !strings.Contains(s, "--ctstate INVALID")
		case "IPv6":
			ok = fam == compiler.IPv6 && strings.Contains(s, snippet)
		case "non-default masquerade bit":
			ok = n.MasqueradeBit != 14 && strings.Contains(s, "-A KUBE-MARK-MASQ -j MARK --or-mark")
		case "LB source range has node IP":
			ok = hasFWAllowFromNode(s)
		case "kube-proxy ignores all services":
			ok = !strings.Contains(s, "cluster IP\"") && !strings.Contains(s, "has no ")
		}
		if ok {
			seen[name]++
		}
	}
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
					featureSeen(seen, fam, c.Node, o.Want)
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
		var names []string
		for name := range features {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Logf("feature %-35s %5d outputs", name, seen[name])
			if seen[name] == 0 {
				t.Errorf("no output of the %d seeds shows %q: the generator no longer covers it", *seeds, name)
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
