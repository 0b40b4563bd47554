// Command dataplane measures what the rulesets kubeproxyc compiles cost in
// a real kernel: how long iptables-restore and nft -f take to load them,
// and the connection-setup latency to a ClusterIP with 1, 1k, 5k and 10k
// services loaded (the oracle's synthetic clusters, 10 endpoints each).
// `make bench-dataplane` runs it (root; docs/performance.md).
//
// Everything happens in three network namespaces it creates and deletes:
//
//	client 10.0.1.2 --- 10.0.1.1 node 10.0.2.1 --- 10.0.2.2 backend
//
// node carries the ruleset (render --standalone, loaded with
// iptables-restore or nft -f) and forwards; backend holds the endpoint
// addresses of the measured services on its loopback and accepts on
// every one of them. client connects, one TCP connection after the other,
// to a ClusterIP (each new connection's first packet goes through node's
// NAT rules). node has routes to client and backend only, no default
// route: no packet can leave the three namespaces.
//
// The program runs itself inside the namespaces, as the server (-role
// server) and as the client (-role client).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
	"github.com/kubeproxyc/kubeproxyc/render"
)

func main() {
	role := flag.String("role", "", "internal: server or client (run inside a namespace)")
	listen := flag.String("listen", "", "server: address to accept on")
	target := flag.String("target", "", "client: address to connect to")
	count := flag.Int("n", 1000, "client: connections")
	sizes := flag.String("sizes", "1,1000,5000,10000", "service counts")
	endpoints := flag.Int("endpoints", 10, "endpoints per service")
	modes := flag.String("modes", "iptables,nftables", "rulesets")
	connects := flag.Int("connects", 2000, "connections per measurement (at most 20000)")
	tsv := flag.String("tsv", "", "also write the measurements as tab-separated values to this file")
	flag.Parse()

	var err error
	switch *role {
	case "server":
		err = serve(*listen)
	case "client":
		err = connectLoop(*target, *count)
	case "":
		err = run(*sizes, *modes, *endpoints, min(*connects, 20000), *tsv)
	default:
		err = fmt.Errorf("unknown -role %q", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dataplane:", err)
		os.Exit(1)
	}
}

// Addresses of the three namespaces.
var (
	clientIP      = "10.0.1.2"
	nodeClientIP  = "10.0.1.1"
	nodeBackendIP = "10.0.2.1"
	backendIP     = "10.0.2.2"
	podRoute      = "10.240.0.0/12" // benchgen's pod IPs start at 10.244.0.1
	serviceRoute  = "10.96.0.0/12"
)

// result is one measurement.
type result struct {
	mode      string
	services  int
	rules     int // lines of the payload
	bytes     int
	load      time.Duration
	first     stats // the first service in kube-proxy's KUBE-SERVICES order
	last      stats // the last one
	direct    stats // an endpoint's own address, no Service
	firstName string
	lastName  string
}

// stats summarizes connection-setup times.
type stats struct {
	N        int     `json:"n"`
	Failures int     `json:"failures"`
	P50      float64 `json:"p50_us"`
	P90      float64 `json:"p90_us"`
	P99      float64 `json:"p99_us"`
	Mean     float64 `json:"mean_us"`
}

func run(sizeList, modeList string, endpoints, connects int, tsv string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, iptables, nft)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var sizes []int
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: bad size %q", s)
		}
		sizes = append(sizes, n)
	}
	work, err := os.MkdirTemp("", "kubeproxyc-dataplane-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	var results []result
	for _, n := range sizes {
		for _, mode := range strings.Split(modeList, ",") {
			fmt.Fprintf(os.Stderr, "dataplane: %s, %d services x %d endpoints\n", mode, n, endpoints)
			r, err := measure(self, work, mode, n, endpoints, connects)
			if err != nil {
				return fmt.Errorf("%s, %d services: %w", mode, n, err)
			}
			results = append(results, r)
		}
	}
	printTable(os.Stdout, results, connects)
	if tsv != "" {
		return writeTSV(tsv, results)
	}
	return nil
}

// ruleset compiles the synthetic cluster for one mode, standalone, and
// returns the payload and the first and last service ports of the model
// (the order of KUBE-SERVICES).
func ruleset(mode string, n, e int) ([]byte, *compiler.ServicePort, *compiler.ServicePort, error) {
	var in bytes.Buffer
	if err := benchgen.ValidYAML(&in, n, e); err != nil {
		return nil, nil, nil, err
	}
	snap, err := compiler.Load([]compiler.Source{{Name: "bench.yaml", Data: in.Bytes()}})
	if err != nil {
		return nil, nil, nil, err
	}
	opts := compiler.DefaultOptions()
	opts.Mode = compiler.Mode(mode)
	opts.NFAcct = false // as render --standalone: no kube-proxy made the counters
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: true})
	if err != nil {
		return nil, nil, nil, err
	}
	var out bytes.Buffer
	switch mode {
	case "iptables":
		err = render.IPTablesRestore(&out, p.IPTables)
	case "nftables":
		err = render.NFTStandalone(&out, p.NFT)
	default:
		err = fmt.Errorf("mode %q: only iptables and nftables load into a kernel without IPVS", mode)
	}
	sps := p.Model.ServicePorts
	return out.Bytes(), sps[0], sps[len(sps)-1], err
}

func measure(self, work, mode string, n, e, connects int) (result, error) {
	r := result{mode: mode, services: n}
	payload, first, last, err := ruleset(mode, n, e)
	if err != nil {
		return r, err
	}
	r.bytes, r.rules = len(payload), bytes.Count(payload, []byte("\n"))
	r.firstName, r.lastName = first.NameString, last.NameString
	file := filepath.Join(work, "rules")
	if err := os.WriteFile(file, payload, 0o644); err != nil {
		return r, err
	}
	payload = nil

	t, err := newTopology()
	if err != nil {
		return r, err
	}
	defer t.destroy()
	var pods []netip.Addr
	for _, sp := range []*compiler.ServicePort{first, last} {
		for _, ep := range sp.Endpoints {
			if !slices.Contains(pods, ep.IP) {
				pods = append(pods, ep.IP)
			}
		}
	}
	if err := t.build(pods); err != nil {
		return r, err
	}
	srv, err := t.startServer(self, ":"+strconv.Itoa(first.Endpoints[0].Port))
	if err != nil {
		return r, err
	}
	defer stop(srv)

	start := time.Now()
	switch mode {
	case "iptables":
		err = t.exec("node", "iptables-restore", file)
	case "nftables":
		err = t.exec("node", "nft", "-f", file)
	}
	r.load = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("loading the ruleset: %w", err)
	}

	cases := []struct {
		to  string
		out *stats
	}{
		{netip.AddrPortFrom(first.ClusterIP, uint16(first.Port)).String(), &r.first},
		{netip.AddrPortFrom(last.ClusterIP, uint16(last.Port)).String(), &r.last},
		{netip.AddrPortFrom(last.Endpoints[0].IP, uint16(last.Endpoints[0].Port)).String(), &r.direct},
	}
	for _, c := range cases {
		if _, err := t.client(self, c.to, connects/10); err != nil { // warm-up
			return r, err
		}
		s, err := t.client(self, c.to, connects)
		if err != nil {
			return r, err
		}
		if s.Failures > s.N/100 {
			return r, fmt.Errorf("%d of %d connections to %s failed", s.Failures, s.N, c.to)
		}
		*c.out = s
	}
	return r, nil
}

// topology is the three namespaces of one measurement.
type topology struct {
	prefix  string
	created []string
}

// current is the topology that exists, for the interrupt handler.
var (
	currentMu sync.Mutex
	current   *topology
)

func newTopology() (*topology, error) {
	t := &topology{prefix: "kpcdp-" + strconv.Itoa(os.Getpid()) + "-"}
	currentMu.Lock()
	defer currentMu.Unlock()
	if current == nil {
		// An interrupt must not leave namespaces behind.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			currentMu.Lock()
			current.destroy()
			os.Exit(130)
		}()
	}
	current = t
	return t, nil
}

func (t *topology) ns(name string) string { return t.prefix + name }

func (t *topology) build(pods []netip.Addr) error {
	for _, name := range []string{"client", "node", "backend"} {
		if err := sh("ip", "netns", "add", t.ns(name)); err != nil {
			return err
		}
		t.created = append(t.created, t.ns(name))
		if err := sh("ip", "-n", t.ns(name), "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"ip", "link", "add", "c0", "netns", t.ns("client"), "type", "veth", "peer", "name", "n0", "netns", t.ns("node")},
		{"ip", "link", "add", "b0", "netns", t.ns("backend"), "type", "veth", "peer", "name", "n1", "netns", t.ns("node")},
		{"ip", "-n", t.ns("client"), "addr", "add", clientIP + "/24", "dev", "c0"},
		{"ip", "-n", t.ns("node"), "addr", "add", nodeClientIP + "/24", "dev", "n0"},
		{"ip", "-n", t.ns("node"), "addr", "add", nodeBackendIP + "/24", "dev", "n1"},
		{"ip", "-n", t.ns("backend"), "addr", "add", backendIP + "/24", "dev", "b0"},
		{"ip", "-n", t.ns("client"), "link", "set", "c0", "up"},
		{"ip", "-n", t.ns("node"), "link", "set", "n0", "up"},
		{"ip", "-n", t.ns("node"), "link", "set", "n1", "up"},
		{"ip", "-n", t.ns("backend"), "link", "set", "b0", "up"},
		// client sends Service and pod traffic to node; node sends pod
		// traffic to backend; backend answers through node.
		{"ip", "-n", t.ns("client"), "route", "add", serviceRoute, "via", nodeClientIP},
		{"ip", "-n", t.ns("client"), "route", "add", podRoute, "via", nodeClientIP},
		{"ip", "-n", t.ns("node"), "route", "add", podRoute, "via", backendIP},
		{"ip", "-n", t.ns("backend"), "route", "add", "10.0.1.0/24", "via", nodeBackendIP},
		{"ip", "netns", "exec", t.ns("node"), "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	}
	for _, a := range pods {
		steps = append(steps, []string{"ip", "-n", t.ns("backend"), "addr", "add", a.String() + "/32", "dev", "lo"})
	}
	for _, s := range steps {
		if err := sh(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// destroy deletes the namespaces (the processes in them are stopped by
// then; anything left is killed with them).
func (t *topology) destroy() {
	for _, name := range t.created {
		if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		_ = exec.Command("ip", "netns", "delete", name).Run()
	}
	t.created = nil
}

func (t *topology) exec(ns, name string, args ...string) error {
	return sh("ip", append([]string{"netns", "exec", t.ns(ns), name}, args...)...)
}

// startServer runs the server in backend and waits until it accepts.
func (t *topology) startServer(self, addr string) (*exec.Cmd, error) {
	cmd := exec.Command("ip", "netns", "exec", t.ns("backend"), self, "-role", "server", "-listen", addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		stop(cmd)
		return nil, fmt.Errorf("server did not start: %q %v", line, err)
	}
	return cmd, nil
}

func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// client runs n connections from client to addr.
func (t *topology) client(self, addr string, n int) (stats, error) {
	var s stats
	out, err := exec.Command("ip", "netns", "exec", t.ns("client"), self, "-role", "client", "-target", addr, "-n", strconv.Itoa(n)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return s, fmt.Errorf("client: %w: %s", err, ee.Stderr)
		}
		return s, err
	}
	return s, json.Unmarshal(out, &s)
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// serve accepts connections and closes them at once.
func serve(addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		_ = c.Close()
	}
}

// connectLoop times n TCP connection setups to addr, one after the
// other, and prints their statistics as JSON. Each connection is reset
// on close so that no TIME_WAIT state piles up.
func connectLoop(addr string, n int) error {
	var times []float64
	s := stats{N: n}
	d := net.Dialer{Timeout: 2 * time.Second}
	for i := 0; i < n; i++ {
		start := time.Now()
		c, err := d.Dial("tcp4", addr)
		el := time.Since(start)
		if err != nil {
			s.Failures++
			continue
		}
		times = append(times, float64(el.Nanoseconds())/1000)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
	if len(times) > 0 {
		slices.Sort(times)
		q := func(p float64) float64 { return times[min(len(times)-1, int(p*float64(len(times))))] }
		s.P50, s.P90, s.P99 = q(0.50), q(0.90), q(0.99)
		sum := 0.0
		for _, v := range times {
			sum += v
		}
		s.Mean = sum / float64(len(times))
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

func printTable(w io.Writer, rs []result, connects int) {
	fmt.Fprintf(w, "\nconnection setup (TCP connect) from client to a ClusterIP through node's rules, %d connections each, microseconds\n", connects)
	fmt.Fprintln(w, "first/last = the first/last Service in KUBE-SERVICES order; direct = an endpoint's own address (no Service)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-9s %8s %9s %9s %10s  %22s  %22s  %22s\n", "mode", "services", "lines", "MB", "load s", "first p50/p90/p99", "last p50/p90/p99", "direct p50/p90/p99")
	for _, r := range rs {
		f := func(s stats) string { return fmt.Sprintf("%.0f/%.0f/%.0f", s.P50, s.P90, s.P99) }
		fmt.Fprintf(w, "%-9s %8d %9d %9.1f %10.2f  %22s  %22s  %22s\n", r.mode, r.services, r.rules, float64(r.bytes)/(1<<20),
			r.load.Seconds(), f(r.first), f(r.last), f(r.direct))
	}
}

func writeTSV(path string, rs []result) error {
	var b strings.Builder
	b.WriteString("mode\tservices\tlines\tbytes\tload_s\tfirst_p50_us\tfirst_p90_us\tfirst_p99_us\tlast_p50_us\tlast_p90_us\tlast_p99_us\tdirect_p50_us\tdirect_p90_us\tdirect_p99_us\tfirst\tlast\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%d\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\n",
			r.mode, r.services, r.rules, r.bytes, r.load.Seconds(),
			r.first.P50, r.first.P90, r.first.P99, r.last.P50, r.last.P90, r.last.P99,
			r.direct.P50, r.direct.P90, r.direct.P99, r.firstName, r.lastName)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
