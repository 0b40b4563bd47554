package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// ipvsCases are the golden cases of IPVS mode.
func ipvsCases(t *testing.T) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, c := range loadGoldenCases(t) {
		if c.mode == "ipvs" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatal("no ipvs golden cases")
	}
	return out
}

// goldenSections splits an ipvs golden file (the oracle's four-section
// form) into its sections, by --emit name.
func goldenSections(t *testing.T, text string) map[string]string {
	t.Helper()
	headers := map[string]string{
		"# ipvsadm-save -n":          render.IPVSArtifactIPVSAdm,
		"# ipset save":               render.IPVSArtifactIPSet,
		"# addresses on kube-ipvs0":  render.IPVSArtifactAddresses,
		"# iptables-restore payload": render.IPVSArtifactIPTables,
	}
	out := map[string]string{}
	cur := ""
	for _, line := range strings.SplitAfter(text, "\n") {
		if name, ok := headers[strings.TrimSuffix(line, "\n")]; ok {
			cur = name
			out[cur] = ""
			continue
		}
		if cur == "" {
			if line != "" {
				t.Fatalf("text before the first section: %q", line)
			}
			continue
		}
		out[cur] += line
	}
	if len(out) != len(headers) {
		t.Fatalf("golden file has sections %v, want all four", slices.Sorted(func(yield func(string) bool) {
			for k := range out {
				if !yield(k) {
					return
				}
			}
		}))
	}
	return out
}

// TestIPVSEmit is the acceptance check of IPVS mode: "render --emit X"
// prints exactly the matching section of kube-proxy's output (the golden
// file, written by the oracle), for every artifact and every case.
func TestIPVSEmit(t *testing.T) {
	for _, c := range ipvsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatal(err)
			}
			sections := goldenSections(t, string(data))
			for _, a := range render.IPVSArtifacts {
				args := append(c.args(filepath.Join(c.dir, "input.yaml")), "--emit", a)
				out, stderr, code := runCLI(t, nil, args...)
				if code != 0 {
					t.Fatalf("--emit %s: exit %d\n%s", a, code, stderr)
				}
				if diff := cmp.Diff(sections[a], out); diff != "" {
					t.Errorf("--emit %s differs from kube-proxy's section (-want +got):\n%s", a, diff)
				}
			}
		})
	}
}

// TestIPVSAdmGoldenParses reads every golden ipvsadm section with our own
// parser: the rules must be well formed (every real server after its
// virtual server, no duplicates, one family, masquerading), use the
// case's scheduler, and print back to the same text.
func TestIPVSAdmGoldenParses(t *testing.T) {
	for _, c := range ipvsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatal(err)
			}
			text := goldenSections(t, string(data))[render.IPVSArtifactIPVSAdm]
			vss, err := ir.ParseIPVSAdm(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			sched := "rr"
			for i, f := range c.flags {
				if f == "--ipvs-scheduler" && i+1 < len(c.flags) {
					sched = c.flags[i+1]
				}
			}
			for _, vs := range vss {
				if vs.Address.Is6() != (c.family == "IPv6") {
					t.Errorf("virtual server %s is not of family %s", vs.Address, c.family)
				}
				if vs.Scheduler != sched || vs.MHPort != (sched == "mh") {
					t.Errorf("virtual server %s: scheduler %s, mh-port %v; want %s", vs.Address, vs.Scheduler, vs.MHPort, sched)
				}
				for _, rs := range vs.RealServers {
					if rs.Weight != 1 {
						t.Errorf("real server %s of %s: weight %d, kube-proxy always uses 1", rs.Address, vs.Address, rs.Weight)
					}
				}
			}
			var buf bytes.Buffer
			if err := render.IPVSAdmRestore(&buf, &ir.IPVS{VirtualServers: vss}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(text, buf.String()); diff != "" {
				t.Errorf("parsed and printed again (-golden +reprinted):\n%s", diff)
			}
		})
	}
}

func TestIPVSRenderErrors(t *testing.T) {
	input := filepath.Join(casesDir, "shop", "input.yaml")
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown artifact", []string{"--proxy-mode", "ipvs", "--emit", "nft"}, `--emit: unsupported value "nft"`},
		{"emit in iptables mode", []string{"--emit", "ipset"}, "--emit ipset: only for --proxy-mode ipvs"},
		{"unknown scheduler", []string{"--proxy-mode", "ipvs", "--ipvs-scheduler", "fastest"}, `--ipvs-scheduler: unsupported value "fastest"`},
		{"-o names a file", []string{"--proxy-mode", "ipvs", "-o", file}, "in ipvs mode -o names a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, append([]string{"render", "-f", input}, tc.args...)...)
			if code != ExitBadUsage || !strings.Contains(stderr, tc.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and an error containing %q", code, out, stderr, ExitBadUsage, tc.want)
			}
		})
	}
}

// TestIPVSOutputDir checks "render -o DIR": the four artifacts in their
// files, each equal to --emit, and an executable apply.sh.
func TestIPVSOutputDir(t *testing.T) {
	c := ipvsCases(t)[0]
	dir := filepath.Join(t.TempDir(), "out")
	input := filepath.Join(c.dir, "input.yaml")
	if _, stderr, code := runCLI(t, nil, append(c.args(input), "-o", dir)...); code != 0 {
		t.Fatalf("-o %s: exit %d\n%s", dir, code, stderr)
	}
	for _, a := range render.IPVSArtifacts {
		got, err := os.ReadFile(filepath.Join(dir, render.IPVSFiles[a]))
		if err != nil {
			t.Fatal(err)
		}
		want, stderr, code := runCLI(t, nil, append(c.args(input), "--emit", a)...)
		if code != 0 {
			t.Fatalf("--emit %s: exit %d\n%s", a, code, stderr)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s differs from --emit %s (-emit +file):\n%s", render.IPVSFiles[a], a, diff)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, render.IPVSApplyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("%s is not executable: %v", render.IPVSApplyFile, fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(render.IPVSArtifacts)+1 {
		t.Errorf("%s holds %d files, want the %d artifacts and %s", dir, len(entries), len(render.IPVSArtifacts), render.IPVSApplyFile)
	}
}

// TestIPVSSchedulers renders a case with every scheduler: each virtual
// server carries it, and only mh sets the mh-port flag.
func TestIPVSSchedulers(t *testing.T) {
	input := filepath.Join(casesDir, "ipvs-features", "input.yaml")
	for _, s := range compiler.IPVSSchedulers {
		t.Run(s, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, "render", "-f", input, "--proxy-mode", "ipvs", "--emit", "ipvsadm", "--ipvs-scheduler", s)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			vss, err := ir.ParseIPVSAdm(strings.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if len(vss) == 0 {
				t.Fatal("no virtual servers")
			}
			for _, vs := range vss {
				if vs.Scheduler != s || vs.MHPort != (s == "mh") {
					t.Errorf("%s:%d/%s: -s %s, mh-port %v", vs.Address, vs.Port, vs.Protocol, vs.Scheduler, vs.MHPort)
				}
			}
		})
	}
}

// TestIPVSGoldenCoverage keeps the IPVS golden cases honest: every
// feature the issue lists shows in at least one of them, in both families.
func TestIPVSGoldenCoverage(t *testing.T) {
	text := map[string]string{}
	for _, c := range ipvsCases(t) {
		data, err := os.ReadFile(c.golden)
		if err != nil {
			t.Fatal(err)
		}
		text[c.family] += string(data)
	}
	common := map[string]string{
		"ClientIP persistence":         " -p 300\n",
		"mh scheduler with mh-port":    " -s mh -b mh-port\n",
		"sh scheduler":                 " -s sh\n",
		"UDP service":                  "-A -u ",
		"SCTP service":                 "-A --sctp-service ",
		"masquerade-all":               " dst,dst -j KUBE-MARK-MASQ\n",
		"no local detector":            " src,dst -j KUBE-MARK-MASQ\n",
		"local detector":               " dst,dst ! -s ",
		"LB source ranges":             "LOAD-BALANCER-SOURCE-CID",
		"source range with the node":   "LOAD-BALANCER-SOURCE-IP ",
		"LB not reachable from node":   "-A KUBE-IPVS-OUT-FILTER -s ",
		"ETP Local LB":                 "LOAD-BALANCER-LOCAL ",
		"ETP Local external IP":        "EXTERNAL-IP-LOCAL ",
		"external IP":                  "EXTERNAL-IP ",
		"health check node port":       "HEALTH-CHECK-NODE-PORT 3",
		"hairpin (loopback) entries":   "LOOP-BACK ",
		"SCTP node port per node IP":   "NODE-PORT-SCTP-HASH ",
		"ETP Local SCTP node port":     "NODE-PORT-LOCAL-SCTP-HAS",
		"ETP Local UDP node port":      "NODE-PORT-LOCAL-UDP ",
		"no random-fully":              "-j MASQUERADE\n",
		"random-fully":                 "-j MASQUERADE --random-fully\n",
		"masquerade bit 7":             "0x00000080",
		"virtual server without reals": "-s rr\n-A ",
	}
	for _, fam := range []string{"IPv4", "IPv6"} {
		for name, want := range common {
			if !strings.Contains(text[fam], want) {
				t.Errorf("no %s ipvs golden case shows %s (%q)", fam, name, want)
			}
		}
	}
	for name, want := range map[string]string{
		"KUBE-6- set names":           "create KUBE-6-CLUSTER-IP hash:ip,port family inet6 ",
		"truncated set name":          "create KUBE-6-NODE-PORT-LOCAL-SCTP-HAS ",
		"IPv6 addresses":              "/128\n",
		"IPv6 loopback RETURN":        "-A KUBE-SERVICES -s ::1/128 -j RETURN\n",
		"IPv6 virtual server":         "-A -t [",
		"link-local node IP excluded": "fd00::9]:30601",
	} {
		if !strings.Contains(text["IPv6"], want) {
			t.Errorf("no IPv6 ipvs golden case shows %s (%q)", name, want)
		}
	}
}
