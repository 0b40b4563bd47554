//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		os.Exit(runAgent(role))
	}
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// modes are the proxy modes whose rules the suite loads into a kernel. In
// ipvs mode only the ipsets, the addresses of kube-ipvs0 and the iptables
// rules are loaded: the suite makes no assumption that the kernel has IPVS,
// so only the scenarios those decide carry the ipvs mode.
var modes = []string{"iptables", "nftables", "ipvs"}

// Timeouts of one connection or datagram. An answer inside the namespaces
// takes milliseconds; a rejection must come back within rejectWithin.
const (
	answerTimeout = 3 * time.Second
	dropTimeout   = time.Second
	rejectWithin  = time.Second
)

// TestKernel loads what kubeproxyc renders for node1 into node1's network
// namespace, for each mode, and checks every scenario of the table against
// what the kernel does with real packets.
func TestKernel(t *testing.T) {
	requireNetns(t)
	table := loadTable(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			r := render(t, table, mode)
			c := newCluster(t, mode)
			if err := c.load(r); err != nil {
				t.Fatal(err)
			}
			for i := range table.Scenarios {
				sc := &table.Scenarios[i]
				if !sc.In(mode) {
					continue
				}
				t.Run(sc.Name, func(t *testing.T) {
					summary, err := c.check(sc)
					if err != nil {
						t.Fatal(err)
					}
					t.Log(summary)
				})
			}
			if t.Failed() {
				t.Logf("node1's ruleset after the scenarios:\n%s", c.dump(mode))
			}
		})
	}
}

// TestWrongRuleFails shows that the suite catches a wrong rule: the payload
// is loaded with every DNAT to pod a's port 8080 sent to 8081 instead, where
// nothing listens. Every scenario that only pod a can answer must then
// fail; the scenarios that pod a's TCP port has no part in must still pass,
// so the failures come from the rule and nothing else.
func TestWrongRuleFails(t *testing.T) {
	podA := netip.AddrPortFrom(pods[0].ip, podTCPPort)
	wrong := netip.AddrPortFrom(pods[0].ip, podTCPPort+1)
	mutate := func(mode string, payload []byte) []byte {
		switch mode {
		case "iptables":
			return bytes.ReplaceAll(payload, []byte("--to-destination "+podA.String()+"\n"), []byte("--to-destination "+wrong.String()+"\n"))
		case "nftables":
			// kube-proxy writes either "dnat to IP:PORT" or a numgen
			// map with "IP . PORT" elements.
			out := bytes.ReplaceAll(payload, []byte("dnat to "+podA.String()+"\n"), []byte("dnat to "+wrong.String()+"\n"))
			return bytes.ReplaceAll(out, []byte(fmt.Sprintf("%s . %d ", podA.Addr(), podA.Port())), []byte(fmt.Sprintf("%s . %d ", wrong.Addr(), wrong.Port())))
		}
		return payload
	}
	judge := func(sc *Scenario) verdictChange {
		switch e := sc.Expect; {
		case e.Verdict != Answer:
			return unaffected
		case slices.Equal(e.Endpoints, []netip.AddrPort{podA}):
			return broken
		case !slices.Contains(e.Endpoints, podA):
			return unaffected
		}
		return unknown // some connections may miss pod a
	}
	checkMutation(t, []string{"iptables", "nftables"}, "wrong-dnat", mutate, judge)
}

// TestMissingFilterRuleFails shows that the suite catches a missing filter
// rule: the payload is loaded without the rules that reject or drop
// packets. Every scenario whose verdict is reject or drop must then fail.
// In ipvs mode that includes the REJECT that keeps node1's own server on
// port 22 from answering on a ClusterIP.
func TestMissingFilterRuleFails(t *testing.T) {
	mutate := func(mode string, payload []byte) []byte {
		var kept []byte
		for _, line := range bytes.SplitAfter(payload, []byte("\n")) {
			l := string(bytes.TrimSpace(line))
			var filter bool
			switch mode {
			case "iptables", "ipvs":
				filter = strings.HasPrefix(l, "-A ") && (strings.HasSuffix(l, "-j REJECT") || strings.HasSuffix(l, "-j DROP"))
			case "nftables":
				f := strings.Fields(l)
				filter = strings.HasPrefix(l, "add rule ") && (slices.Contains(f, "reject") || slices.Contains(f, "drop"))
			}
			if !filter {
				kept = append(kept, line...)
			}
		}
		return kept
	}
	judge := func(sc *Scenario) verdictChange {
		if sc.Expect.Verdict == Answer {
			return unknown
		}
		return broken
	}
	checkMutation(t, modes, "no-filter", mutate, judge)
}

// verdictChange is what a mutation of the rules does to a scenario.
type verdictChange int

const (
	unknown    verdictChange = iota // not checked
	broken                          // the scenario must fail
	unaffected                      // the scenario must still pass
)

// checkMutation loads, for each mode, the rendered rules as mutate changes
// them (for ipvs: its iptables rules), and checks every scenario of the
// mode the way judge says. A scenario that must fail is sent once: its
// verdict does not depend on chance, and a failing attempt may have to
// wait for a timeout.
func checkMutation(t *testing.T, modes []string, tag string, mutate func(mode string, payload []byte) []byte, judge func(*Scenario) verdictChange) {
	requireNetns(t)
	table := loadTable(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			r := render(t, table, mode)
			payload := r.payload
			if mode == "ipvs" {
				var err error
				if payload, err = os.ReadFile(filepath.Join(r.dir, "iptables.rules")); err != nil {
					t.Fatal(err)
				}
			}
			bad := mutate(mode, payload)
			if bytes.Equal(bad, payload) {
				t.Fatalf("the mutation %s changed nothing in the %s payload", tag, mode)
			}
			if mode == "ipvs" {
				if err := os.WriteFile(filepath.Join(r.dir, "iptables.rules"), bad, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r.payload = bad
			c := newCluster(t, mode+"-"+tag)
			if err := c.load(r); err != nil {
				t.Fatal(err)
			}
			var fails, passes int
			for i := range table.Scenarios {
				sc := &table.Scenarios[i]
				if !sc.In(mode) {
					continue
				}
				switch judge(sc) {
				case broken:
					fails++
					short := *sc
					short.Count = 1
					if _, err := c.check(&short); err == nil {
						t.Errorf("%s: passed with the mutated rules", sc.Name)
					} else {
						t.Logf("%s fails as it should: %v", sc.Name, firstLine(err))
					}
				case unaffected:
					passes++
					if _, err := c.check(sc); err != nil {
						t.Errorf("%s: failed although the mutation has no part in it: %v", sc.Name, err)
					}
				}
			}
			if fails == 0 {
				t.Fatalf("no scenario of mode %s is affected by the mutation %s", mode, tag)
			}
			t.Logf("%d scenarios failed as they should, %d unaffected ones passed", fails, passes)
		})
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func loadTable(t *testing.T) *Table {
	t.Helper()
	table, err := LoadTable()
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// envBinary names a kubeproxyc binary to test instead of building one
// from this tree.
const envBinary = "KPCE2E_KUBEPROXYC"

// binary is the kubeproxyc binary, built once per test process.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func kubeproxyc(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if p := os.Getenv(envBinary); p != "" {
			binary.path, binary.err = filepath.Abs(p)
			return
		}
		binary.dir, binary.err = os.MkdirTemp("", "kpce2e-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "kubeproxyc")
		out, err := exec.Command("go", "build", "-o", binary.path, "github.com/kubeproxyc/kubeproxyc/cmd/kubeproxyc").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build kubeproxyc: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// rendered is what `kubeproxyc render` wrote for one mode.
type rendered struct {
	mode    string
	payload []byte // iptables and nftables: the payload
	dir     string // ipvs: the directory of artifacts and apply.sh (render -o)
}

// render runs `kubeproxyc render` on the table's input for the mode, with
// --standalone for iptables, and returns what it wrote. It skips the test
// if kubeproxyc cannot render the mode yet.
func render(t *testing.T, table *Table, mode string) rendered {
	t.Helper()
	r := rendered{mode: mode}
	args := []string{"render", "-f", filepath.Join("testdata", table.Input), "--proxy-mode", mode}
	args = append(args, table.Flags...)
	switch mode {
	case "iptables":
		args = append(args, "--standalone")
	case "ipvs":
		r.dir = filepath.Join(t.TempDir(), "ipvs")
		args = append(args, "-o", r.dir)
	}
	cmd := exec.Command(kubeproxyc(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 && strings.Contains(stderr.String(), "not implemented") {
		t.Skipf("kubeproxyc cannot render --proxy-mode %s yet: %s", mode, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("kubeproxyc %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	r.payload = stdout.Bytes()
	return r
}

// load puts what render wrote into node1's kernel as kube-proxy's mode
// would, with the sysctls kube-proxy sets for it.
func (c *cluster) load(r rendered) error {
	switch r.mode {
	case "iptables":
		// kube-proxy sets route_localnet for NodePorts on 127.0.0.1
		// (--iptables-localhost-nodeports, on by default).
		if err := c.sysctl("node1", "net.ipv4.conf.all.route_localnet", "1"); err != nil {
			return err
		}
		_, err := c.exec("node1", r.payload, "iptables-restore")
		return err
	case "nftables":
		_, err := c.exec("node1", r.payload, "nft", "-f", "-")
		return err
	case "ipvs":
		return c.loadIPVS(r.dir)
	}
	return fmt.Errorf("loading mode %s: unknown mode", r.mode)
}

// loadIPVS applies the IPVS artifacts that need no IPVS in the kernel,
// with render's apply.sh: the addresses of kube-ipvs0, the ipsets, the
// iptables rules and their jump rules. The virtual servers and the
// net.ipv4.vs sysctls are left out.
func (c *cluster) loadIPVS(dir string) error {
	if err := c.ip("node1", "link", "add", "kube-ipvs0", "type", "dummy"); err != nil {
		// Without the dummy driver, a bridge without ports holds the
		// addresses just as well: they are local, and nothing is sent.
		if err := c.ip("node1", "link", "add", "kube-ipvs0", "type", "bridge"); err != nil {
			return err
		}
	}
	if _, err := c.exec("node1", nil, "sh", "-eu", filepath.Join(dir, "apply.sh"), "device", "addresses", "ipsets"); err != nil {
		return err
	}
	if _, err := c.exec("node1", nil, "sh", "-eu", filepath.Join(dir, "apply.sh"), "iptables"); err != nil {
		// The rules of KUBE-IPVS-OUT-FILTER use the ipvs match, which
		// only a kernel with IPVS has. Without them, load the rest.
		path := filepath.Join(dir, "iptables.rules")
		rules, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Contains(rules, []byte(" -m ipvs ")) {
			return err
		}
		var kept []byte
		for _, line := range bytes.SplitAfter(rules, []byte("\n")) {
			if !bytes.Contains(line, []byte(" -m ipvs ")) {
				kept = append(kept, line...)
			}
		}
		if werr := os.WriteFile(path, kept, 0o644); werr != nil {
			return werr
		}
		c.t.Logf("this kernel has no ipvs match: loading the IPVS iptables rules without those of KUBE-IPVS-OUT-FILTER")
		if _, err := c.exec("node1", nil, "sh", "-eu", filepath.Join(dir, "apply.sh"), "iptables"); err != nil {
			return err
		}
	}
	_, err := c.exec("node1", nil, "sh", "-eu", filepath.Join(dir, "apply.sh"), "jumps")
	return err
}

// dump returns node1's ruleset with packet counters, for failure reports.
func (c *cluster) dump(mode string) string {
	var out []byte
	var err error
	switch mode {
	case "nftables":
		out, err = c.exec("node1", nil, "nft", "list", "ruleset")
	case "ipvs":
		out, err = c.exec("node1", nil, "sh", "-c", "iptables-save -c && ipset list")
	default:
		out, err = c.exec("node1", nil, "iptables-save", "-c")
	}
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// hostFor returns the host that owns the scenario's source address.
func hostFor(sc *Scenario) (string, error) {
	switch sc.From {
	case FromNode:
		if sc.Src == node1IP || sc.Src.IsLoopback() {
			return "node1", nil
		}
	case FromPod:
		for _, p := range pods {
			if p.ip == sc.Src && p.node == 0 {
				return podHost(p), nil
			}
		}
	case FromExternal:
		if slices.Contains(extIPs, sc.Src) {
			return "ext", nil
		}
	}
	return "", fmt.Errorf("%s: no %s host of the topology has the address %s", sc.Name, sc.From, sc.Src)
}

// check sends the scenario's packets and compares what happened with the
// expected verdict. It returns a one-line summary, or an error that lists
// every attempt that went wrong.
func (c *cluster) check(sc *Scenario) (string, error) {
	host, err := hostFor(sc)
	if err != nil {
		return "", err
	}
	timeout := answerTimeout
	switch sc.Expect.Verdict {
	case Drop:
		timeout = dropTimeout
	case Reject:
		timeout = 2 * rejectWithin
	}
	before, err := c.voidPackets()
	if err != nil {
		return "", err
	}
	res, err := c.send(host, clientSpec{
		Proto:   sc.Proto,
		Src:     sc.Src.String(),
		Dst:     sc.Dst.String(),
		Count:   sc.Count,
		Timeout: timeout,
	})
	if err != nil {
		return "", err
	}
	if len(res) != sc.Count {
		return "", fmt.Errorf("%s: the client made %d attempts, want %d", sc.Name, len(res), sc.Count)
	}
	after, err := c.voidPackets()
	if err != nil {
		return "", err
	}
	summary, err := verify(sc, res)
	if err == nil && sc.Expect.Verdict == Drop && after != before {
		// A timeout alone does not show a drop: the packets might have
		// left node1 by its default route, unhandled.
		err = fmt.Errorf("%s: %s %s -> %s/%s: want drop, but node1 sent %d packets out of its uplink instead",
			sc.Name, sc.From, sc.Src, sc.Dst, sc.Proto, after-before)
	}
	return summary, err
}

// verify compares the attempts with the scenario's verdict.
func verify(sc *Scenario, res []attempt) (string, error) {
	e := sc.Expect
	var problems []string
	bad := func(i int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("attempt %d: ", i+1)+fmt.Sprintf(format, args...))
	}
	counts := map[netip.AddrPort]int{}
	for i, a := range res {
		switch e.Verdict {
		case Answer:
			if a.Outcome != outAnswer {
				bad(i, "%s after %v (%s), want an answer", a.Outcome, a.Took.Round(time.Millisecond), a.Err)
				continue
			}
			ep, err := netip.ParseAddrPort(a.Local)
			if err != nil || !slices.Contains(e.Endpoints, ep) {
				bad(i, "answered by pod %s at %s, which is not one of %v", a.Server, a.Local, e.Endpoints)
				continue
			}
			counts[ep]++
			want := sc.Src
			if e.Masquerade {
				want = masqueradeSource(ep.Addr())
			}
			if a.Seen != want.String() {
				bad(i, "pod %s saw the client as %s, want %s (masquerade: %v)", a.Server, a.Seen, want, e.Masquerade)
			}
		case Reject:
			if a.Outcome != outRefused || a.Took > rejectWithin {
				bad(i, "%s after %v (%s), want refused within %v", a.Outcome, a.Took.Round(time.Millisecond), a.Err, rejectWithin)
			}
		case Drop:
			if a.Outcome != outTimeout {
				bad(i, "%s after %v (%s %s), want a timeout", a.Outcome, a.Took.Round(time.Millisecond), a.Server, a.Err)
			}
		}
	}
	dist := tally(res) + distribution(e.Endpoints, counts)
	if e.Verdict == Answer && len(problems) == 0 {
		if e.Spread {
			lo, hi := SpreadBounds(sc.Count, len(e.Endpoints))
			for _, ep := range e.Endpoints {
				if n := counts[ep]; n < lo || n > hi {
					problems = append(problems, fmt.Sprintf("%s answered %d of %d, outside [%d, %d]", ep, n, sc.Count, lo, hi))
				}
			}
		}
		if e.Sticky && len(counts) != 1 {
			problems = append(problems, fmt.Sprintf("answers came from %d endpoints, want one", len(counts)))
		}
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%s: %s %s -> %s/%s: want %s, got %s\n%s", sc.Name, sc.From, sc.Src, sc.Dst, sc.Proto,
			e.Verdict, dist, strings.Join(problems, "\n"))
	}
	return fmt.Sprintf("%s %s -> %s/%s: %s", sc.From, sc.Src, sc.Dst, sc.Proto, dist), nil
}

// tally counts the attempts by outcome: "6 answer", "2 refused 1 timeout".
func tally(res []attempt) string {
	var parts []string
	for _, o := range []string{outAnswer, outRefused, outTimeout, outError} {
		n := 0
		for _, a := range res {
			if a.Outcome == o {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	return strings.Join(parts, " ")
}

// distribution prints how many answers each endpoint gave.
func distribution(eps []netip.AddrPort, counts map[netip.AddrPort]int) string {
	if len(counts) == 0 {
		return ""
	}
	parts := make([]string, 0, len(eps))
	for _, ep := range eps {
		parts = append(parts, fmt.Sprintf("%s=%d", ep, counts[ep]))
	}
	return " (" + strings.Join(parts, " ") + ")"
}
