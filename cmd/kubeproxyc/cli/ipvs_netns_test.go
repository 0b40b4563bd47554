package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// These tests load the IPVS artifacts into the kernel, each inside a
// private network namespace ("unshare -n") that disappears with its shell:
// nothing touches the host's tables. The kernel needs ipset and iptables
// (IPVS itself is not needed, and the machine this project is developed on
// has none: the ipvsadm artifact is checked against kube-proxy and by our
// own parser instead, and apply.sh's ipvs step runs against a stand-in).

// inNetns runs a shell script in a fresh network namespace.
func inNetns(t *testing.T, dir, script string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("unshare", "-n", "sh", "-eu", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	kernelOnce              sync.Once
	ipvsMatchOK, dummyLink  bool
	ipvsMatchMsg, dummyMsg0 string
)

// probeKernel finds out, once, whether the kernel has the iptables ipvs
// match (xt_ipvs, needed by KUBE-IPVS-OUT-FILTER rules) and dummy links.
func probeKernel(t *testing.T) {
	kernelOnce.Do(func() {
		out, err := inNetns(t, "", "printf '*filter\\n:X - [0:0]\\n-A X -m ipvs --vaddr 192.0.2.1 -j DROP\\nCOMMIT\\n' | iptables-restore")
		ipvsMatchOK, ipvsMatchMsg = err == nil, strings.TrimSpace(out)
		out, err = inNetns(t, "", "ip link add kube-ipvs0 type dummy")
		dummyLink, dummyMsg0 = err == nil, strings.TrimSpace(out)
	})
	if !ipvsMatchOK {
		t.Logf("this kernel has no iptables ipvs match (%s): KUBE-IPVS-OUT-FILTER rules with -m ipvs are left out of what is loaded", ipvsMatchMsg)
	}
}

// withoutIPVSMatch drops the "-m ipvs" rules when the kernel cannot load
// them.
func withoutIPVSMatch(payload string) string {
	if ipvsMatchOK {
		return payload
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(payload, "\n") {
		if !strings.Contains(line, " -m ipvs ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// renderIPVSDir renders a case into a new directory with -o.
func renderIPVSDir(t *testing.T, c goldenCase, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ipvs")
	args := append(c.args(filepath.Join(c.dir, "input.yaml")), "-o", dir)
	if _, stderr, code := runCLI(t, nil, append(args, extra...)...); code != 0 {
		t.Fatalf("render -o: exit %d\n%s", code, stderr)
	}
	return dir
}

func ipt(c goldenCase) string {
	if c.family == "IPv6" {
		return "ip6tables"
	}
	return "iptables"
}

// canonicalRules reads an iptables-restore payload or iptables-save dump
// into "table chain canonical-rule" lines, in order per chain, and the
// declared chains, leaving out the built-in chains (iptables-save lists
// them, the payload does not).
func canonicalRules(t *testing.T, text string) []string {
	t.Helper()
	// iptables-save 1.8 writes a single quote inside a quoted comment as
	// \' (kube-proxy's SCTP set comments hold some); iptables-restore reads
	// it back as a plain quote, and so does this comparison.
	text = strings.ReplaceAll(text, `\'`, `'`)
	prog, err := ir.ParseIPTablesSave(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range prog.Tables {
		for _, ch := range tb.Chains {
			if ch.Policy == "-" {
				out = append(out, tb.Name+" :"+ch.Name)
			}
		}
		specs, err := tb.Parse()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			out = append(out, tb.Name+" "+s.Chain+" "+s.Canonical())
		}
	}
	// iptables-save lists tables and chains in its own order; the order of
	// rules inside one chain is what must be kept.
	slices.SortStableFunc(out, func(a, b string) int {
		fa, fb := strings.Fields(a), strings.Fields(b)
		return strings.Compare(fa[0]+" "+strings.TrimPrefix(fa[1], ":"), fb[0]+" "+strings.TrimPrefix(fb[1], ":"))
	})
	return out
}

// addLines returns the "add" lines of ipset text, sorted. A net member
// of full length (a /32 or /128 in a hash:ip,port,net entry) is written
// with its prefix, as kube-proxy writes it, but "ipset save" prints it as
// a bare address; both stand for the same member, so the prefix is
// dropped here.
func addLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "add ") {
			out = append(out, strings.TrimSuffix(strings.TrimSuffix(l, "/32"), "/128"))
		}
	}
	slices.Sort(out)
	return out
}

func setNames(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "create" {
			out = append(out, f[1])
		}
	}
	slices.Sort(out)
	return out
}

// TestIPVSArtifactsLoadInNamespace loads the ipset artifact with "ipset
// restore" and then the iptables artifact with "iptables-restore
// --noflush" (its rules match the sets, so the sets come first), for every
// IPVS golden case, and checks that the kernel holds exactly what was
// written.
func TestIPVSArtifactsLoadInNamespace(t *testing.T) {
	requireNetns(t, "ip", "ipset", "iptables-restore", "ip6tables-restore")
	probeKernel(t)
	for _, c := range ipvsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := renderIPVSDir(t, c)
			rulesFile := filepath.Join(dir, render.IPVSFiles[render.IPVSArtifactIPTables])
			rules, err := os.ReadFile(rulesFile)
			if err != nil {
				t.Fatal(err)
			}
			loaded := withoutIPVSMatch(string(rules))
			if err := os.WriteFile(rulesFile, []byte(loaded), 0o644); err != nil {
				t.Fatal(err)
			}
			script := `ipset restore < ipset.rules
` + ipt(c) + `-restore --noflush < iptables.rules
ipset save > ipset.saved
` + ipt(c) + `-save > iptables.saved`
			if out, err := inNetns(t, dir, script); err != nil {
				t.Fatalf("loading the artifacts: %v\n%s", err, out)
			}
			sets, _ := os.ReadFile(filepath.Join(dir, "ipset.rules"))
			savedSets, _ := os.ReadFile(filepath.Join(dir, "ipset.saved"))
			if diff := cmp.Diff(setNames(string(sets)), setNames(string(savedSets))); diff != "" {
				t.Errorf("sets in the kernel (-written +loaded):\n%s", diff)
			}
			if diff := cmp.Diff(addLines(string(sets)), addLines(string(savedSets))); diff != "" {
				t.Errorf("set entries in the kernel (-written +loaded):\n%s", diff)
			}
			saved, _ := os.ReadFile(filepath.Join(dir, "iptables.saved"))
			if diff := cmp.Diff(canonicalRules(t, loaded), canonicalRules(t, string(saved))); diff != "" {
				t.Errorf("iptables rules in the kernel (-written +loaded):\n%s", diff)
			}
		})
	}
}

// fakeIPVSAdm stands in for ipvsadm on a kernel without IPVS: it keeps the
// virtual and real servers as rule lines in $FAKE_IPVS_STATE, answers
// "-S -n", and applies "-R" input the way ipvsadm does, failing on adding
// what exists or changing what does not.
const fakeIPVSAdm = `#!/bin/sh
state=${FAKE_IPVS_STATE:?}
touch "$state"
case "$*" in
"-S -n") cat "$state" ;;
"-R")
	awk -v state="$state" '
	function fail(msg) { print "fake ipvsadm: " msg ": " $0 > "/dev/stderr"; bad = 1; exit 1 }
	BEGIN {
		while ((getline l < state) > 0) {
			split(l, f, " ")
			if (f[1] == "-A") vs[f[2] " " f[3]] = l
			else if (f[1] == "-a") rs[f[2] " " f[3] " " f[5]] = l
		}
		close(state)
	}
	NF == 0 { next }
	{ k = $2 " " $3; r = k " " $5 }
	$1 == "-A" { if (k in vs) fail("service exists"); vs[k] = $0; next }
	$1 == "-E" { if (!(k in vs)) fail("no such service"); l = $0; sub(/^-E/, "-A", l); vs[k] = l; next }
	$1 == "-D" { if (!(k in vs)) fail("no such service"); delete vs[k]; for (x in rs) if (index(x, k " ") == 1) delete rs[x]; next }
	$1 == "-a" { if (!(k in vs)) fail("no such service"); if (r in rs) fail("destination exists"); rs[r] = $0; next }
	$1 == "-e" { if (!(r in rs)) fail("no such destination"); l = $0; sub(/^-e/, "-a", l); rs[r] = l; next }
	$1 == "-d" { if (!(r in rs)) fail("no such destination"); delete rs[r]; next }
	{ fail("unsupported command") }
	END {
		if (bad) exit 1
		printf "" > state
		for (k in vs) print vs[k] > state
		for (x in rs) print rs[x] > state
	}'
	;;
*) echo "fake ipvsadm: unsupported arguments: $*" >&2; exit 2 ;;
esac
`

// TestIPVSApplyScript runs apply.sh in a network namespace, twice, then
// again after disturbing the state, and checks that it always converges to
// the artifacts: the addresses on kube-ipvs0, the sets, the iptables rules
// with the jump rules, the virtual servers (kept by a stand-in ipvsadm,
// since this kernel may have no IPVS) and the sysctls (written below a
// scratch directory through KUBEPROXYC_SYSCTL_ROOT). A virtual server in
// --ipvs-exclude-cidrs survives, another stray one does not.
func TestIPVSApplyScript(t *testing.T) {
	requireNetns(t, "ip", "ipset", "iptables", "ip6tables", "awk", "sed")
	probeKernel(t)
	if !dummyLink {
		t.Logf("this kernel cannot create dummy links (%s): kube-ipvs0 is created as a bridge before apply.sh runs", dummyMsg0)
	}
	for _, c := range ipvsCases(t) {
		if !strings.HasPrefix(c.name, "ipvs-features/") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			v6 := c.family == "IPv6"
			excluded, stray, strayRS := "-A -t 10.96.200.1:80 -s rr", "-A -u 10.200.0.1:53 -s rr", "-a -t 10.96.5.1:80 -r 10.244.9.9:80 -m -w 1"
			strayAddr, straySet := "10.9.9.9/32", "KUBE-CLUSTER-IP 10.9.9.9,tcp:1"
			if v6 {
				excluded, stray, strayRS = "-A -t [fd00:10:96:200::1]:80 -s rr", "-A -u [fd00:200::1]:53 -s rr", "-a -t [fd00:10:96::501]:80 -r [fd00:10:244:9::9]:80 -m -w 1"
				strayAddr, straySet = "fd00:9::9/128", "KUBE-6-CLUSTER-IP fd00:9::9,tcp:1"
			}
			dir := renderIPVSDir(t, c, "--ipvs-strict-arp", "--ipvs-exclude-cidrs", "10.96.200.0/24,fd00:10:96:200::/120")
			rulesFile := filepath.Join(dir, render.IPVSFiles[render.IPVSArtifactIPTables])
			rules, _ := os.ReadFile(rulesFile)
			if err := os.WriteFile(rulesFile, []byte(withoutIPVSMatch(string(rules))), 0o644); err != nil {
				t.Fatal(err)
			}
			bin, sysroot := t.TempDir(), t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "ipvsadm"), []byte(fakeIPVSAdm), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"net/ipv4/vs/conntrack", "net/ipv4/vs/conn_reuse_mode", "net/ipv4/vs/expire_nodest_conn",
				"net/ipv4/vs/expire_quiescent_template", "net/ipv4/ip_forward", "net/ipv4/conf/all/arp_ignore", "net/ipv4/conf/all/arp_announce"} {
				p := filepath.Join(sysroot, s)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("7\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			state := filepath.Join(bin, "ipvs.state")
			if err := os.WriteFile(state, []byte(excluded+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			ipt := ipt(c)
			fam := "-4"
			if v6 {
				fam = "-6"
			}
			pre := ""
			if !dummyLink {
				pre = "ip link add kube-ipvs0 type bridge\n"
			}
			snapshot := func(n string) string {
				return `ip -o ` + fam + ` addr show dev kube-ipvs0 | awk '{print $4}' | sort > addrs.` + n + `
ipset save | sort > sets.` + n + `
` + ipt + `-save | grep -v '^#' > ipt.` + n + `
sort "$FAKE_IPVS_STATE" > ipvs.` + n + `
cat ` + sysroot + `/net/ipv4/vs/* ` + sysroot + `/net/ipv4/ip_forward ` + sysroot + `/net/ipv4/conf/all/* > sysctl.` + n + `
`
			}
			script := pre + `sh ./apply.sh
` + snapshot("1") + `sh ./apply.sh
` + snapshot("2") + `ip addr add ` + strayAddr + ` dev kube-ipvs0
ipset add ` + straySet + `
printf '%s\n%s\n' '` + stray + `' '` + strayRS + `' >> "$FAKE_IPVS_STATE"
` + ipt + ` -t nat -D OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
` + ipt + ` -t nat -I KUBE-SERVICES -j ACCEPT
sh ./apply.sh
` + snapshot("3")
			out, err := inNetns(t, dir, script, "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_IPVS_STATE="+state, "KUBEPROXYC_SYSCTL_ROOT="+sysroot)
			if err != nil {
				t.Fatalf("apply.sh: %v\n%s", err, out)
			}
			read := func(name string) string {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
			for _, what := range []string{"addrs", "sets", "ipt", "ipvs", "sysctl"} {
				first := read(what + ".1")
				for _, n := range []string{"2", "3"} {
					if diff := cmp.Diff(first, read(what+"."+n)); diff != "" {
						t.Errorf("%s after run %s differs from the first run (-first +later):\n%s", what, n, diff)
					}
				}
			}
			// The state is the artifacts'.
			wantAddrs := read("addresses")
			if diff := cmp.Diff(sortedLines(wantAddrs), sortedLines(read("addrs.1"))); diff != "" {
				t.Errorf("addresses on kube-ipvs0 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(addLines(read("ipset.rules")), addLines(read("sets.1"))); diff != "" {
				t.Errorf("set entries (-want +got):\n%s", diff)
			}
			wantIPVS := sortedLines(read("ipvsadm.rules") + excluded + "\n")
			if diff := cmp.Diff(wantIPVS, sortedLines(read("ipvs.1"))); diff != "" {
				t.Errorf("virtual servers (-want +got):\n%s", diff)
			}
			wantSysctl := map[string]string{
				"net/ipv4/vs/conntrack": "1", "net/ipv4/vs/conn_reuse_mode": "7",
				"net/ipv4/vs/expire_nodest_conn": "1", "net/ipv4/vs/expire_quiescent_template": "1",
				"net/ipv4/ip_forward": "1", "net/ipv4/conf/all/arp_ignore": "1", "net/ipv4/conf/all/arp_announce": "2",
			}
			if kernelBetween(t, 4, 1, 5, 9) {
				wantSysctl["net/ipv4/vs/conn_reuse_mode"] = "0"
			}
			for name, want := range wantSysctl {
				got, err := os.ReadFile(filepath.Join(sysroot, name))
				if err != nil {
					t.Fatal(err)
				}
				if strings.TrimSpace(string(got)) != want {
					t.Errorf("sysctl %s = %s, want %s", name, bytes.TrimSpace(got), want)
				}
			}
			saved := read("ipt.1")
			for _, j := range []string{
				`-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
				`-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER`,
				`-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER`,
			} {
				if !strings.Contains(saved, j) {
					t.Errorf("iptables-save lacks the jump rule %q", j)
				}
			}
			written := canonicalRules(t, withoutIPVSMatch(string(rules)))
			for _, r := range canonicalRules(t, saved) {
				f := strings.Fields(r)
				if strings.HasPrefix(f[1], "KUBE-") && !slices.Contains(written, r) {
					t.Errorf("the kernel holds a rule the payload does not: %s", r)
				}
			}
		})
	}
}

func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// kernelBetween reports whether the running kernel's version is at least
// lo and below hi (major, minor pairs).
func kernelBetween(t *testing.T, loMajor, loMinor, hiMajor, hiMinor int) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(data), "%d.%d", &major, &minor); err != nil {
		t.Fatalf("kernel release %q: %v", data, err)
	}
	v := major*1000 + minor
	return v >= loMajor*1000+loMinor && v < hiMajor*1000+hiMinor
}
