//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The topology (docs/verification.md draws it). All of it lives in network
// namespaces named nsPrefix-PID-TAG-HOST; nothing touches the namespace the
// test runs in.
//
// The LAN is a bridge in its own namespace with node1, node2 and the
// external client on it. Pods hang off their node by a veth pair, routed
// the way point-to-point CNI plugins route them: the pod has a /32 and a
// default route to the node's gateway address, which the node puts on every
// pod veth, and the node has a /32 route to each pod. The nodes route each
// other's pod CIDR. node1 has no route out of the topology: its default
// route goes into void0, one end of a veth pair whose other end stays down,
// through a gateway with a fixed neighbour entry, so that whatever is sent
// that way is discarded without an ARP request or an ICMP error. It stands
// in for a real node's uplink, so that Service traffic that is not DNATed
// meets node1's filter rules as it would on a real node instead of failing
// a route lookup (the node's own connections to a ClusterIP need a route
// before any rule sees them). void0's counters tell whether a packet left
// node1 that way: a dropped packet must not.
const nsPrefix = "kpce2e-"

var (
	voidGW    = netip.MustParseAddr("169.254.0.1") // node1's default gateway, on void0
	node1IP   = netip.MustParseAddr("172.18.0.2")
	node2IP   = netip.MustParseAddr("172.18.0.3")
	extIPs    = []netip.Addr{netip.MustParseAddr("172.18.0.10"), netip.MustParseAddr("172.18.0.20")}
	lanBits   = 24
	extRoutes = []string{"198.51.100.0/24", "203.0.113.0/24"} // external and load-balancer IPs, sent to node1
)

type nodeDef struct {
	name    string
	ip      netip.Addr
	gateway netip.Addr   // on every pod veth of the node
	podCIDR netip.Prefix // routed to the node by the other node
}

var nodes = []nodeDef{
	{"node1", node1IP, netip.MustParseAddr("10.244.1.1"), netip.MustParsePrefix("10.244.1.0/24")},
	{"node2", node2IP, netip.MustParseAddr("10.244.2.1"), netip.MustParsePrefix("10.244.2.0/24")},
}

type podDef struct {
	name string
	node int // index in nodes
	ip   netip.Addr
}

var pods = []podDef{
	{"a", 0, netip.MustParseAddr("10.244.1.2")},
	{"b", 0, netip.MustParseAddr("10.244.1.3")},
	{"client", 0, netip.MustParseAddr("10.244.1.10")},
	{"c", 1, netip.MustParseAddr("10.244.2.2")},
}

// The ports every pod serves on.
const (
	podTCPPort = 8080
	podUDPPort = 5353
)

// masqueradeSource is the address node1 masquerades traffic to ep as: its
// address on the link that leads to ep.
func masqueradeSource(ep netip.Addr) netip.Addr {
	if nodes[0].podCIDR.Contains(ep) {
		return nodes[0].gateway
	}
	return node1IP
}

// cluster is one instance of the topology.
type cluster struct {
	t      *testing.T
	prefix string
	made   []string // namespaces, in creation order
	srv    []*exec.Cmd
	stdin  []io.Closer
}

func (c *cluster) ns(host string) string { return c.prefix + host }

func podHost(p podDef) string { return "pod-" + p.name }

// newCluster builds the topology under the tag (unique within the test
// process) and starts the pods' servers. t.Cleanup takes it all down.
func newCluster(t *testing.T, tag string) *cluster {
	t.Helper()
	c := &cluster{t: t, prefix: fmt.Sprintf("%s%d-%s-", nsPrefix, os.Getpid(), tag)}
	t.Cleanup(c.destroy)
	if err := c.build(); err != nil {
		t.Fatalf("building the topology: %v", err)
	}
	if err := c.startServers(); err != nil {
		t.Fatalf("starting the pods' servers: %v", err)
	}
	return c
}

func (c *cluster) build() error {
	hosts := []string{"lan", "ext"}
	for _, n := range nodes {
		hosts = append(hosts, n.name)
	}
	for _, p := range pods {
		hosts = append(hosts, podHost(p))
	}
	for _, h := range hosts {
		if err := run("ip", "netns", "add", c.ns(h)); err != nil {
			return err
		}
		c.made = append(c.made, c.ns(h))
		if err := c.ip(h, "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"lan", "link", "add", "br0", "type", "bridge"},
		{"lan", "link", "set", "br0", "up"},
	}
	lanPeer := func(host string, addrs ...netip.Addr) {
		port := "p-" + host
		steps = append(steps,
			[]string{"lan", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", c.ns(host)},
			[]string{"lan", "link", "set", port, "master", "br0", "up"},
			[]string{host, "link", "set", "eth0", "up"})
		for _, a := range addrs {
			steps = append(steps, []string{host, "addr", "add", prefix(a, lanBits), "dev", "eth0"})
		}
	}
	for _, n := range nodes {
		lanPeer(n.name, n.ip)
	}
	lanPeer("ext", extIPs...)
	for _, r := range extRoutes {
		steps = append(steps, []string{"ext", "route", "add", r, "via", node1IP.String()})
	}
	for i, n := range nodes {
		other := nodes[1-i]
		steps = append(steps, []string{n.name, "route", "add", other.podCIDR.String(), "via", other.ip.String()})
	}
	for _, p := range pods {
		n, host, veth := nodes[p.node], podHost(p), "v-"+p.name
		steps = append(steps,
			[]string{n.name, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", c.ns(host)},
			[]string{n.name, "addr", "add", prefix(n.gateway, 32), "dev", veth},
			[]string{n.name, "link", "set", veth, "up"},
			[]string{n.name, "route", "add", prefix(p.ip, 32), "dev", veth},
			[]string{host, "addr", "add", prefix(p.ip, 32), "dev", "eth0"},
			[]string{host, "link", "set", "eth0", "up"},
			[]string{host, "route", "add", prefix(n.gateway, 32), "dev", "eth0", "scope", "link"},
			[]string{host, "route", "add", "default", "via", n.gateway.String(), "dev", "eth0"})
	}
	steps = append(steps,
		[]string{"node1", "link", "add", "void0", "type", "veth", "peer", "name", "void1"},
		[]string{"node1", "link", "set", "void0", "up"},
		[]string{"node1", "neigh", "add", voidGW.String(), "lladdr", "02:00:00:00:00:01", "dev", "void0", "nud", "permanent"},
		[]string{"node1", "route", "add", "default", "via", voidGW.String(), "dev", "void0", "onlink", "src", node1IP.String()})
	for _, s := range steps {
		if err := c.ip(s[0], s[1:]...); err != nil {
			return err
		}
	}
	// The nodes forward; the LAN namespace is a plain switch, even where
	// br_netfilter is loaded and would hand bridged packets to its (empty)
	// netfilter hooks.
	for _, n := range nodes {
		if err := c.sysctl(n.name, "net.ipv4.ip_forward", "1"); err != nil {
			return err
		}
	}
	// node1 forwards NodePort and external traffic for node2's pods back
	// out of eth0, for which Linux sends the client an ICMP redirect. Each
	// redirect also empties the per-client budget of ICMP errors, so a
	// REJECT that follows within a second goes unanswered and the client
	// waits for its SYN to be retransmitted. The suite switches redirects
	// off (on all interfaces and on eth0: the kernel ORs the two) so that
	// rejections are judged on the rules alone.
	for _, key := range []string{"net.ipv4.conf.all.send_redirects", "net.ipv4.conf.eth0.send_redirects"} {
		if err := c.sysctl("node1", key, "0"); err != nil {
			return err
		}
	}
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		_ = c.sysctl("lan", "net.bridge.bridge-nf-call-iptables", "0")
	}
	return nil
}

func prefix(a netip.Addr, bits int) string { return netip.PrefixFrom(a, bits).String() }

// ip runs `ip -n NS args...` in the host's namespace.
func (c *cluster) ip(host string, args ...string) error {
	return run("ip", append([]string{"-n", c.ns(host)}, args...)...)
}

// sysctl sets a sysctl inside the host's namespace (the /proc/sys/net a
// process sees is that of its network namespace).
func (c *cluster) sysctl(host, key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return run("ip", "netns", "exec", c.ns(host), "sh", "-c", `printf '%s\n' "$2" > "$1"`, "sh", path, value)
}

// exec runs a command inside the host's namespace with stdin, and returns
// its stdout.
func (c *cluster) exec(host string, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", c.ns(host), name}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s in %s: %w\n%s", name, host, err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// nodeTCPPorts are where node1 runs a server of its own, on all its
// addresses: 22 as sshd would, which kube-proxy's IPVS mode, binding
// Service IPs to the node, must keep from answering on them; and the
// NodePort of the Service without endpoints, which kube-proxy must reject
// before a host process sees it. Without them the node's own TCP stack
// would refuse those connections, and a missing REJECT rule would go
// unnoticed.
var nodeTCPPorts = []int{22, 30086}

// startServers starts one server per pod and one on node1, and waits until
// each one has bound its sockets.
func (c *cluster) startServers() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	hosts := []string{"node1"}
	specs := []serverSpec{{Name: "node1"}}
	for _, p := range nodeTCPPorts {
		specs[0].TCP = append(specs[0].TCP, fmt.Sprintf("0.0.0.0:%d", p))
	}
	for _, p := range pods {
		hosts = append(hosts, podHost(p))
		specs = append(specs, serverSpec{
			Name: p.name,
			TCP:  []string{netip.AddrPortFrom(p.ip, podTCPPort).String()},
			UDP:  []string{netip.AddrPortFrom(p.ip, podUDPPort).String()},
		})
	}
	for i, s := range specs {
		spec, _ := json.Marshal(s)
		cmd := exec.Command("ip", "netns", "exec", c.ns(hosts[i]), exe)
		cmd.Env = append(os.Environ(), envRole+"=server", envSpec+"="+string(spec))
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		c.srv = append(c.srv, cmd)
		c.stdin = append(c.stdin, in)
		ready := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("unexpected %q", line)
			}
			ready <- err
			_, _ = io.Copy(io.Discard, out)
		}()
		select {
		case err := <-ready:
			if err != nil {
				return fmt.Errorf("server %s: %w", s.Name, err)
			}
		case <-time.After(30 * time.Second):
			return fmt.Errorf("server %s: not ready after 30s", s.Name)
		}
	}
	return nil
}

// send runs a client in the host's namespace.
func (c *cluster) send(host string, spec clientSpec) ([]attempt, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, _ := json.Marshal(spec)
	limit := time.Duration(spec.Count)*spec.Timeout*2 + 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", c.ns(host), exe)
	cmd.Env = append(os.Environ(), envRole+"=client", envSpec+"="+string(js))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("client in %s: %w\n%s", host, err, stderr.Bytes())
	}
	var res []attempt
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("client in %s: %w", host, err)
	}
	return res, nil
}

// voidPackets returns how many packets node1 has sent into void0, its
// stand-in uplink (all of them are dropped there, as the peer is down).
func (c *cluster) voidPackets() (uint64, error) {
	out, err := exec.Command("ip", "-n", c.ns("node1"), "-s", "-j", "link", "show", "dev", "void0").Output()
	if err != nil {
		return 0, fmt.Errorf("reading void0's counters: %w", err)
	}
	var links []struct {
		Stats struct {
			TX struct {
				Packets uint64 `json:"packets"`
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("reading void0's counters: %v in %s", err, out)
	}
	return links[0].Stats.TX.Packets + links[0].Stats.TX.Dropped, nil
}

// destroy stops the servers and deletes the namespaces.
func (c *cluster) destroy() {
	for _, in := range c.stdin {
		in.Close()
	}
	for _, cmd := range c.srv {
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	for i := len(c.made) - 1; i >= 0; i-- {
		if err := deleteNetns(c.made[i]); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
	}
}

// deleteNetns kills whatever still runs in the namespace (only the suite's
// own servers and clients ever do), then deletes it.
func deleteNetns(name string) error {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	return run("ip", "netns", "del", name)
}

// removeStale deletes the namespaces of earlier runs whose test process is
// gone (a run that crashed or was killed before its cleanup).
func removeStale() error {
	entries, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		if err := deleteNetns(e.Name()); err != nil {
			return err
		}
	}
	return nil
}

// alive reports whether the process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

var netnsCheck struct {
	once   sync.Once
	reason string // why namespaces cannot be made
	err    error  // stale namespaces could not be removed
}

// requireNetns skips the test where network namespaces cannot be made: not
// root, no ip(8), or a sandbox that forbids it. It also clears namespaces
// that crashed runs left behind.
func requireNetns(t *testing.T) {
	t.Helper()
	netnsCheck.once.Do(func() {
		if os.Geteuid() != 0 {
			netnsCheck.reason = "not root: network namespaces need root"
			return
		}
		if _, err := exec.LookPath("ip"); err != nil {
			netnsCheck.reason = "ip (iproute2) not installed: cannot make network namespaces"
			return
		}
		probe := fmt.Sprintf("%s%d-probe", nsPrefix, os.Getpid())
		if err := run("ip", "netns", "add", probe); err != nil {
			netnsCheck.reason = fmt.Sprintf("cannot make a network namespace: %v", err)
			return
		}
		if err := run("ip", "netns", "del", probe); err != nil {
			netnsCheck.reason = fmt.Sprintf("cannot delete a network namespace: %v", err)
			return
		}
		if err := removeStale(); err != nil {
			netnsCheck.err = fmt.Errorf("removing namespaces of crashed runs: %w", err)
		}
	})
	if netnsCheck.reason != "" {
		t.Skip(netnsCheck.reason)
	}
	if netnsCheck.err != nil {
		t.Fatal(netnsCheck.err)
	}
}

// run runs a command and returns an error with its output if it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
