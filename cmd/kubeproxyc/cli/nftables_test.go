package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nftSummary is what a table holds, reduced to what both the golden text
// and "nft -j list table" show unambiguously: for each chain its hook,
// priority and the comments of its rules in order (one entry per rule),
// for each set or map its kind, timeout and number of elements, and the
// elements of plain single-address sets.
type nftSummary struct {
	Chains map[string]nftChainSummary
	Sets   map[string]nftSetSummary
}

type nftChainSummary struct {
	Type, Hook string
	Priority   int
	Rules      []string // the comment of each rule, "" for none
}

type nftSetSummary struct {
	Kind     string // set or map
	Timeout  int
	Count    int
	Elements []string // sorted; only for sets of plain addresses
}

// summarizeDump reads the "add" lines kubeproxyc writes.
func summarizeDump(t *testing.T, text string) nftSummary {
	t.Helper()
	s := nftSummary{Chains: map[string]nftChainSummary{}, Sets: map[string]nftSetSummary{}}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "add" {
			t.Fatalf("not an add command: %q", line)
		}
		name := f[4]
		switch f[1] {
		case "table":
		case "chain":
			c := nftChainSummary{}
			if i := strings.Index(line, " { type "); i >= 0 {
				g := strings.Fields(line[i:]) // { type T hook H priority P ; ... }
				c.Type, c.Hook = g[2], g[4]
				p, err := strconv.Atoi(g[6])
				if err != nil {
					t.Fatalf("priority in %q: %v", line, err)
				}
				c.Priority = p
			}
			s.Chains[name] = c
		case "set", "map":
			st := nftSetSummary{Kind: f[1]}
			if i := strings.Index(line, " timeout "); i >= 0 {
				n, err := strconv.Atoi(strings.TrimSuffix(strings.Fields(line[i:])[1], "s"))
				if err != nil {
					t.Fatalf("timeout in %q: %v", line, err)
				}
				st.Timeout = n
			}
			s.Sets[name] = st
		case "rule":
			c := s.Chains[name]
			comment := ""
			if i := strings.LastIndex(line, ` comment "`); i >= 0 && strings.HasSuffix(line, `"`) {
				u, err := strconv.Unquote(line[i+len(" comment "):])
				if err != nil {
					t.Fatalf("comment in %q: %v", line, err)
				}
				comment = u
			}
			c.Rules = append(c.Rules, comment)
			s.Chains[name] = c
		case "element":
			st := s.Sets[name]
			st.Count++
			key := strings.TrimSuffix(strings.TrimPrefix(line[strings.Index(line, "{"):], "{ "), " }")
			if st.Kind == "set" && !strings.Contains(key, " ") {
				st.Elements = append(st.Elements, key)
				sort.Strings(st.Elements)
			}
			s.Sets[name] = st
		default:
			t.Fatalf("unexpected object in %q", line)
		}
	}
	return s
}

// summarizeJSON reads "nft -j list table".
func summarizeJSON(t *testing.T, data []byte) nftSummary {
	t.Helper()
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("nft -j output: %v\n%s", err, data)
	}
	s := nftSummary{Chains: map[string]nftChainSummary{}, Sets: map[string]nftSetSummary{}}
	for _, obj := range doc.Nftables {
		for kind, raw := range obj {
			switch kind {
			case "chain":
				var c struct {
					Name, Type, Hook string
					Prio             int
				}
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				s.Chains[c.Name] = nftChainSummary{Type: c.Type, Hook: c.Hook, Priority: c.Prio}
			case "rule":
				var r struct{ Chain, Comment string }
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatal(err)
				}
				c := s.Chains[r.Chain]
				c.Rules = append(c.Rules, r.Comment)
				s.Chains[r.Chain] = c
			case "set", "map":
				var st struct {
					Name    string
					Type    json.RawMessage
					Timeout int
					Elem    []json.RawMessage
				}
				if err := json.Unmarshal(raw, &st); err != nil {
					t.Fatal(err)
				}
				sum := nftSetSummary{Kind: kind, Timeout: st.Timeout, Count: len(st.Elem)}
				if kind == "set" {
					for _, e := range st.Elem {
						var addr string
						if json.Unmarshal(e, &addr) == nil {
							sum.Elements = append(sum.Elements, addr)
						}
					}
					sort.Strings(sum.Elements)
				}
				s.Sets[st.Name] = sum
			}
		}
	}
	return s
}

// TestNFTablesGoldensLoadIntoKernel loads every nftables golden with
// "nft -f" into a private network namespace and reads the table back with
// "nft -j list table": the kernel must hold the same chains (hooks and
// priorities), the same rules per chain (by their comments), and the same
// sets and maps with as many elements.
func TestNFTablesGoldensLoadIntoKernel(t *testing.T) {
	requireNetns(t, "nft")
	for _, c := range loadGoldenCases(t) {
		if c.mode != "nftables" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatal(err)
			}
			family := "ip"
			if c.family == "IPv6" {
				family = "ip6"
			}
			out, err := exec.Command("unshare", "-n", "sh", "-c",
				`nft -f "$1" && nft -j list table "$2" kube-proxy`, "sh", c.golden, family).Output()
			if err != nil {
				msg := ""
				if ee, ok := err.(*exec.ExitError); ok {
					msg = string(ee.Stderr)
				}
				t.Fatalf("nft rejected %s: %v\n%s", c.golden, err, msg)
			}
			want := summarizeDump(t, string(text))
			got := summarizeJSON(t, out)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the table read back from the kernel differs from %s (-file +kernel):\n%s", c.golden, diff)
			}
		})
	}
}

// TestNFTablesGoldenCoverage keeps the nftables golden cases honest: every
// feature of kube-proxy's nftables mode has a case whose output shows it,
// in both families.
func TestNFTablesGoldenCoverage(t *testing.T) {
	text := map[string]*strings.Builder{"IPv4": {}, "IPv6": {}}
	for _, c := range loadGoldenCases(t) {
		if c.mode != "nftables" {
			continue
		}
		data, err := os.ReadFile(c.golden)
		if err != nil {
			t.Fatal(err)
		}
		text[c.family].Write(data)
	}
	features := map[string]string{
		"base chain priorities":         "type filter hook prerouting priority -110 ;",
		"ClusterIP dispatch":            "vmap @service-ips",
		"NodePort dispatch (addresses)": "daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
		"NodePort dispatch (all)":       "fib daddr type local",
		"numgen load balancing":         "numgen random mod 2 map {",
		"affinity jump":                 "saddr @affinity-",
		"affinity set":                  "flags dynamic,timeout ; timeout ",
		"endpoint DNAT":                 "dnat to ",
		"hairpin":                       "add element {F} kube-proxy hairpin-connections",
		"unallocated ClusterIPs":        "Drop traffic to unallocated ClusterIPs",
		"source ranges":                 "saddr != {",
		"firewall map":                  "add element {F} kube-proxy firewall-ips",
		"no endpoints (reject)":         ": goto reject-chain }",
		"no local endpoints (drop)":     ": drop }",
		"no-endpoint NodePorts":         "add element {F} kube-proxy no-endpoint-nodeports",
		"ETP Cluster masquerade":        `comment "masquerade"`,
		"ETP Local pod short-circuit":   "short-circuit pod traffic",
		"ETP Local host short-circuit":  "short-circuit local traffic",
		"local policy chain":            "add chain {F} kube-proxy local-",
		"masquerade from outside":       "masquerade clusterIP traffic from outside cluster",
		"masquerade-all":                "masquerade all clusterIP traffic",
		"UDP":                           " . udp . ",
		"SCTP":                          " . sctp . ",
		"external IP":                   ": goto external-",
	}
	var names []string
	for n := range features {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, fam := range []string{"IPv4", "IPv6"} {
		nftFamily := "ip"
		if fam == "IPv6" {
			nftFamily = "ip6"
		}
		for _, n := range names {
			if s := strings.ReplaceAll(features[n], "{F}", nftFamily); !strings.Contains(text[fam].String(), s) {
				t.Errorf("no nftables %s golden case shows %s (%q)", fam, n, s)
			}
		}
	}
	if !strings.Contains(text["IPv6"].String(), "dnat to [") {
		t.Errorf("no nftables IPv6 golden case shows an endpoint chain's DNAT to [address]:port")
	}
}
