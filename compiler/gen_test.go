package compiler

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file generates valid snapshots for the property tests and the
// structured fuzz targets. Every choice comes from a chooser: a seeded
// random source, or the fuzzer's bytes (so that coverage guidance steers
// the snapshot). The generator writes YAML, one object per document, so
// that the loader is exercised too and documents can be shuffled.

// chooser makes the generator's choices.
type chooser interface {
	// intn returns a number in [0, n).
	intn(n int) int
}

// rngChooser chooses with a seeded random source.
type rngChooser struct{ r *rand.Rand }

func (c rngChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser chooses with the fuzzer's bytes, one byte per choice; once
// they run out every choice is 0.
type byteChooser struct {
	data []byte
	i    int
}

func (c *byteChooser) intn(n int) int {
	if c.i >= len(c.data) {
		return 0
	}
	b := c.data[c.i]
	c.i++
	return int(b) % n
}

// gen is the state of one generated snapshot.
type gen struct {
	c        chooser
	docs     []string
	nodePort int
	svcIP    int
}

func pick[T any](g *gen, list []T) T { return list[g.c.intn(len(list))] }

func (g *gen) chance(percent int) bool { return g.c.intn(100) < percent }

var (
	genNamespaces = []string{"default", "shop", "a"}
	genPortNames  = []string{"http", "https", "dns", "p1", "a-b"}
	genPorts      = []int{80, 443, 53, 8080, 1, 65535}
	genProtocols  = []string{"TCP", "TCP", "UDP", "SCTP"}
	genNodes      = []string{"node1", "node2", "node3"}
	genZones      = []string{"zone-a", "zone-b"}
	genPodIPs4    = []string{"10.244.1.2", "10.244.1.3", "10.244.2.2", "10.244.2.3", "10.244.3.4", "192.168.0.2"}
	genPodIPs6    = []string{"fd00:10:244:1::2", "fd00:10:244:1::3", "fd00:10:244:2::2", "fd00::2"}
	genExtIPs4    = []string{"198.51.100.7", "198.51.100.8", "203.0.113.10"}
	genExtIPs6    = []string{"2001:db8::7", "2001:db8::8"}
	genRanges     = []string{"203.0.113.0/24", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/64", "10.0.0.0/8"}
)

// genPort is a generated Service port.
type genPort struct {
	name, proto string
	port        int
}

// genSnapshot writes a valid snapshot as YAML documents.
func genSnapshot(c chooser) []string {
	g := &gen{c: c, nodePort: 30000}
	n := 1 + g.c.intn(6)
	names := map[string]bool{}
	for i := 0; i < n; i++ {
		ns := pick(g, genNamespaces)
		name := fmt.Sprintf("svc-%d", i)
		if names[ns+"/"+name] {
			continue
		}
		names[ns+"/"+name] = true
		g.service(ns, name)
	}
	if g.chance(30) {
		g.docs = append(g.docs, "apiVersion: v1\nkind: Node\nmetadata:\n  name: node1\n  labels: {topology.kubernetes.io/zone: "+
			pick(g, genZones)+"}\nspec: {podCIDRs: [10.244.1.0/24, \"fd00:10:244:1::/64\"]}\nstatus:\n  addresses: [{type: InternalIP, address: 192.168.0.2}, {type: InternalIP, address: \"fd00::2\"}]\n")
	}
	return g.docs
}

func (g *gen) service(ns, name string) {
	var b strings.Builder
	typ := pick(g, []string{"ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"})
	fam := pick(g, []string{"v4", "v4", "v6", "dual"})
	g.svcIP++
	ip4 := fmt.Sprintf("10.96.%d.%d", g.svcIP/250, 1+g.svcIP%250)
	ip6 := fmt.Sprintf("fd00:10:96::%x", g.svcIP)
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n", name, ns)
	if g.chance(5) {
		b.WriteString("  labels: {service.kubernetes.io/service-proxy-name: other}\n")
	}
	fmt.Fprintf(&b, "spec:\n  type: %s\n", typ)
	headless := typ == "ClusterIP" && g.chance(5)
	switch {
	case headless:
		b.WriteString("  clusterIP: None\n")
	case fam == "v4":
		fmt.Fprintf(&b, "  clusterIP: %s\n", ip4)
	case fam == "v6":
		fmt.Fprintf(&b, "  clusterIP: %s\n", ip6)
	default:
		first, second := ip4, ip6
		if g.chance(50) {
			first, second = ip6, ip4
		}
		fmt.Fprintf(&b, "  clusterIP: %s\n  clusterIPs: [%s, %s]\n  ipFamilyPolicy: PreferDualStack\n", first, first, second)
	}
	external := typ != "ClusterIP"
	if g.chance(25) {
		fmt.Fprintf(&b, "  externalIPs: [%s, %s]\n", pick(g, genExtIPs4), pick(g, genExtIPs6))
		external = true
	}
	local := external && g.chance(40)
	if local {
		b.WriteString("  externalTrafficPolicy: Local\n")
		if typ == "LoadBalancer" {
			g.nodePort++
			fmt.Fprintf(&b, "  healthCheckNodePort: %d\n", g.nodePort)
		}
	}
	if g.chance(20) {
		b.WriteString("  internalTrafficPolicy: Local\n")
	}
	if g.chance(20) {
		fmt.Fprintf(&b, "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: %d}}\n", pick(g, []int{1, 10800, 86400}))
	}
	if g.chance(20) {
		fmt.Fprintf(&b, "  trafficDistribution: %s\n", pick(g, []string{"PreferClose", "PreferSameZone", "PreferSameNode"}))
	}
	if typ == "LoadBalancer" && g.chance(50) {
		fmt.Fprintf(&b, "  loadBalancerSourceRanges: [%s, %s]\n", pick(g, genRanges), pick(g, genRanges))
	}
	if g.chance(70) {
		fmt.Fprintf(&b, "  selector: {app: %s}\n", name)
	}
	nports := 1 + g.c.intn(3)
	var ports []genPort
	used := map[string]bool{}
	b.WriteString("  ports:\n")
	for i := 0; i < nports; i++ {
		p := genPort{pick(g, genPortNames), pick(g, genProtocols), pick(g, genPorts)}
		if nports == 1 && g.chance(30) {
			p.name = ""
		}
		key := fmt.Sprint(p.port, p.proto)
		if used[p.name] || used[key] {
			continue
		}
		used[p.name], used[key] = true, true
		ports = append(ports, p)
		fmt.Fprintf(&b, "  - {name: %q, port: %d, protocol: %s", p.name, p.port, p.proto)
		if typ != "ClusterIP" {
			g.nodePort++
			fmt.Fprintf(&b, ", nodePort: %d", g.nodePort)
		}
		b.WriteString("}\n")
	}
	if typ == "LoadBalancer" && g.chance(70) {
		b.WriteString("status:\n  loadBalancer:\n    ingress:\n")
		fmt.Fprintf(&b, "    - ip: %s\n", pick(g, append(append([]string{}, genExtIPs4...), genExtIPs6...)))
		if g.chance(50) {
			fmt.Fprintf(&b, "    - {ip: %s, ipMode: %s}\n", pick(g, genExtIPs4), pick(g, []string{"VIP", "Proxy"}))
		}
	}
	g.docs = append(g.docs, b.String())
	if g.chance(10) {
		g.endpoints(ns, name, ports)
		return
	}
	for _, at := range []string{"IPv4", "IPv6"} {
		for k := g.c.intn(3); k > 0; k-- {
			g.slice(ns, name, fmt.Sprintf("%s-%s-%d", name, strings.ToLower(at), k), at, ports)
		}
	}
}

func (g *gen) slice(ns, svc, name, at string, ports []genPort) {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {kubernetes.io/service-name: %s}\naddressType: %s\nports:\n", name, ns, svc, at)
	for _, p := range ports {
		port := p.port + 8000
		if port > 65535 {
			port = 8080
		}
		fmt.Fprintf(&b, "- {name: %q, port: %d, protocol: %s}\n", p.name, port, p.proto)
	}
	b.WriteString("endpoints:\n")
	ips := genPodIPs4
	if at == "IPv6" {
		ips = genPodIPs6
	}
	for k := g.c.intn(5); k > 0; k-- {
		fmt.Fprintf(&b, "- addresses: [%q]\n", pick(g, ips))
		if g.chance(80) {
			fmt.Fprintf(&b, "  nodeName: %s\n", pick(g, genNodes))
		}
		if g.chance(50) {
			fmt.Fprintf(&b, "  zone: %s\n", pick(g, genZones))
		}
		conds := []string{}
		for _, c := range []string{"ready", "serving", "terminating"} {
			switch g.c.intn(3) {
			case 1:
				conds = append(conds, c+": true")
			case 2:
				conds = append(conds, c+": false")
			}
		}
		if len(conds) > 0 {
			fmt.Fprintf(&b, "  conditions: {%s}\n", strings.Join(conds, ", "))
		}
		if g.chance(30) {
			fmt.Fprintf(&b, "  hints: {forZones: [{name: %s}], forNodes: [{name: %s}]}\n", pick(g, genZones), pick(g, genNodes))
		}
	}
	g.docs = append(g.docs, b.String())
}

func (g *gen) endpoints(ns, svc string, ports []genPort) {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: %s\n  namespace: %s\nsubsets:\n- addresses:\n", svc, ns)
	for k := 1 + g.c.intn(3); k > 0; k-- {
		fmt.Fprintf(&b, "  - {ip: %q, nodeName: %s}\n", pick(g, genPodIPs4), pick(g, genNodes))
	}
	if g.chance(50) {
		fmt.Fprintf(&b, "  notReadyAddresses: [{ip: %q}]\n", pick(g, genPodIPs6))
	}
	b.WriteString("  ports:\n")
	for _, p := range ports {
		fmt.Fprintf(&b, "  - {name: %q, port: %d, protocol: %s}\n", p.name, p.port, p.proto)
	}
	g.docs = append(g.docs, b.String())
}

// genOptions chooses the node context.
func genOptions(c chooser) Options {
	g := &gen{c: c}
	o := DefaultOptions()
	o.Family = pick(g, []Family{IPv4, IPv6})
	o.NodeName = pick(g, genNodes)
	if g.chance(40) {
		o.NodeZone = pick(g, genZones)
	}
	o.MasqueradeAll = g.chance(20)
	o.LocalhostNodePorts = g.chance(70)
	o.RandomFully = g.chance(70)
	o.NFAcct = g.chance(70)
	o.ConntrackTCPBeLiberal = g.chance(20)
	o.AllowServiceExternalIPs = g.chance(80)
	switch g.c.intn(5) {
	case 1:
		o.ClusterCIDRs = nil
	case 2:
		o.DetectLocalMode = LocalModeBridgeInterface
		o.BridgeInterface = "cbr0"
	case 3:
		o.DetectLocalMode = LocalModeInterfaceNamePrefix
		o.InterfaceNamePrefix = "veth"
	case 4:
		o.DetectLocalMode = LocalModeNodeCIDR
		o.PodCIDRs = []string{"10.244.1.0/24", "fd00:10:244:1::/64"}
	}
	switch g.c.intn(4) {
	case 1:
		o.NodePortAddresses = []string{"primary"}
	case 2:
		o.NodePortAddresses = []string{"192.168.0.0/24", "fd00::/64"}
	case 3:
		o.NodePortAddresses = []string{"127.0.0.0/8", "::1/128"}
	}
	o.IPVSScheduler = pick(g, []string{"rr", "wrr", "sh", "mh"})
	return o
}
