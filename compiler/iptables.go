package compiler

import (
	"strconv"
	"sync"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// Top-level chains kube-proxy's iptables mode owns.
const (
	chainServices         = "KUBE-SERVICES"
	chainExternalServices = "KUBE-EXTERNAL-SERVICES"
	chainForward          = "KUBE-FORWARD"
	chainNodePorts        = "KUBE-NODEPORTS"
	chainProxyFirewall    = "KUBE-PROXY-FIREWALL"
	chainPostrouting      = "KUBE-POSTROUTING"
	chainMarkMasq         = "KUBE-MARK-MASQ"
	chainKubeletFirewall  = "KUBE-FIREWALL"
)

// LargeClusterEndpointsThreshold is the number of endpoints above which
// kube-proxy leaves the comments off its endpoint rules.
const LargeClusterEndpointsThreshold = 1000

// nfacct counter names kube-proxy creates at start.
const (
	nfacctInvalidDropped       = "ct_state_invalid_dropped_pkts"
	nfacctLocalhostNodePortAcc = "localhost_nps_accepted_pkts"
)

// MasqueradeMark formats 1<<bit the way kube-proxy does (%#08x).
func MasqueradeMark(bit int) string {
	s := strconv.FormatUint(uint64(1)<<uint(bit), 16)
	for len(s) < 8 {
		s = "0" + s
	}
	return "0x" + s
}

// jumpRule is a rule kube-proxy installs from a built-in chain with
// "iptables -I" outside the restore payload.
type jumpRule struct {
	table, from, to string
	comment         string
	extra           []string
}

var ctNew = []string{"-m", "conntrack", "--ctstate", "NEW"}

// iptablesJumps lists kube-proxy's jump rules in the order it prepends
// them, followed by the kubelet firewall jumps it also ensures.
var iptablesJumps = []jumpRule{
	{"filter", "INPUT", chainExternalServices, "kubernetes externally-visible service portals", ctNew},
	{"filter", "FORWARD", chainExternalServices, "kubernetes externally-visible service portals", ctNew},
	{"filter", "INPUT", chainNodePorts, "kubernetes health check service ports", nil},
	{"filter", "FORWARD", chainServices, "kubernetes service portals", ctNew},
	{"filter", "OUTPUT", chainServices, "kubernetes service portals", ctNew},
	{"filter", "FORWARD", chainForward, "kubernetes forwarding rules", nil},
	{"filter", "INPUT", chainProxyFirewall, "kubernetes load balancer firewall", ctNew},
	{"filter", "OUTPUT", chainProxyFirewall, "kubernetes load balancer firewall", ctNew},
	{"filter", "FORWARD", chainProxyFirewall, "kubernetes load balancer firewall", ctNew},
	{"nat", "OUTPUT", chainServices, "kubernetes service portals", nil},
	{"nat", "PREROUTING", chainServices, "kubernetes service portals", nil},
	{"nat", "POSTROUTING", chainPostrouting, "kubernetes postrouting rules", nil},
	{"filter", "INPUT", chainKubeletFirewall, "", nil},
	{"filter", "OUTPUT", chainKubeletFirewall, "", nil},
}

var builtinChains = map[string][]string{
	"filter": {"INPUT", "FORWARD", "OUTPUT"},
	"nat":    {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
}

var (
	probMu    sync.Mutex
	probCache = []string{"<bad value>"}
)

// probability returns kube-proxy's "%0.10f" of 1/n.
func probability(n int) string {
	probMu.Lock()
	defer probMu.Unlock()
	for len(probCache) <= n {
		probCache = append(probCache, strconv.FormatFloat(1.0/float64(len(probCache)), 'f', 10, 64))
	}
	return probCache[n]
}

// iptablesCtx holds what every service port's rules need.
type iptablesCtx struct {
	opts               *Options
	filter, nat        *ir.Table
	mark               string
	detector           LocalDetector
	localhostNodePorts bool
	largeCluster       bool
	isIPv6             bool
	nodeIP             string
	nfacct             bool
	seps               sepNames
}

// LowerIPTables compiles the model into kube-proxy's iptables-restore
// payload: *filter then *nat, as one full sync writes it. With standalone
// the built-in chains are declared and kube-proxy's jump rules added, so
// the payload works on a host without kube-proxy.
func LowerIPTables(m *Model, opts *Options, standalone bool) *ir.IPTables {
	npm := opts.NodePortMatch()
	c := &iptablesCtx{
		opts:               opts,
		filter:             ir.NewTable("filter"),
		nat:                ir.NewTable("nat"),
		mark:               MasqueradeMark(opts.MasqueradeBit),
		detector:           opts.LocalDetector(),
		localhostNodePorts: opts.LocalhostNodePorts && npm.ContainsIPv4Loopback,
		largeCluster:       m.TotalEndpoints > LargeClusterEndpointsThreshold,
		isIPv6:             opts.Family == IPv6,
		nodeIP:             opts.PrimaryNodeIP().String(),
		nfacct:             opts.NFAcct,
	}
	prog := &ir.IPTables{Tables: []*ir.Table{c.filter, c.nat}}
	if standalone {
		c.writeStandaloneHead()
	}
	for _, ch := range []string{chainServices, chainExternalServices, chainForward, chainNodePorts, chainProxyFirewall} {
		c.filter.AddChain(ch)
	}
	for _, ch := range []string{chainServices, chainNodePorts, chainPostrouting, chainMarkMasq} {
		c.nat.AddChain(ch)
	}
	markMask := c.mark + "/" + c.mark
	c.nat.AddRule(0, chainPostrouting, "-m", "mark", "!", "--mark", markMask, "-j", "RETURN")
	c.nat.AddRule(0, chainPostrouting, "-j", "MARK", "--xor-mark", c.mark)
	random := ""
	if opts.RandomFully {
		random = "--random-fully"
	}
	c.nat.AddRule(0, chainPostrouting, "-m", "comment", "--comment", `"kubernetes service traffic requiring SNAT"`, "-j", "MASQUERADE", random)
	c.nat.AddRule(0, chainMarkMasq, "-j", "MARK", "--or-mark", c.mark)
	if !c.isIPv6 && c.localhostNodePorts {
		c.filter.AddChain(chainKubeletFirewall)
		c.filter.AddRule(0, chainKubeletFirewall,
			"-m", "comment", "--comment", `"block incoming localnet connections"`,
			"-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8",
			"-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP")
	}
	c.lowerServicePorts(m, prog)
	c.writeEpilogue(npm)
	if standalone {
		c.writeJumps()
		prog.Header = append(prog.Header, "kubeproxyc --standalone: a complete ruleset for iptables-restore (no --noflush needed).")
		if !c.isIPv6 && c.localhostNodePorts {
			prog.Header = append(prog.Header, "NodePorts on 127.0.0.1 also need: sysctl -w net.ipv4.conf.all.route_localnet=1")
		}
	}
	return prog
}

// reserve sizes the nat table's records for the model, which holds nearly
// all of a big payload, from the shape of the rules: about three rules per
// service port and three per endpoint (four with session affinity), and
// one chain per endpoint. (The rule text grows in blocks and needs no
// estimate.)
func (c *iptablesCtx) reserve(sps []*ServicePort) {
	chains, rules := 2*len(sps), 3*len(sps)
	for _, sp := range sps {
		chains += len(sp.Endpoints)
		rules += 3 * len(sp.Endpoints)
		if sp.SessionAffinity {
			rules += len(sp.Endpoints)
		}
	}
	c.nat.Grow(chains, rules)
}

// writeStandaloneHead declares the built-in chains, so that a plain
// iptables-restore replaces the whole table and can be repeated.
func (c *iptablesCtx) writeStandaloneHead() {
	for _, t := range []*ir.Table{c.filter, c.nat} {
		for _, ch := range builtinChains[t.Name] {
			t.AddBuiltinChain(ch, "ACCEPT")
		}
	}
}

// writeJumps adds kube-proxy's jump rules. kube-proxy prepends each one
// (iptables -I), so in the chain they end up in reverse order.
func (c *iptablesCtx) writeJumps() {
	for i := len(iptablesJumps) - 1; i >= 0; i-- {
		j := iptablesJumps[i]
		if j.to == chainKubeletFirewall && (c.isIPv6 || !c.localhostNodePorts) {
			// kubelet's chain; kube-proxy only fills it for IPv4 localhost
			// NodePorts, so a standalone payload has nothing to jump to.
			continue
		}
		t := c.filter
		if j.table == "nat" {
			t = c.nat
		}
		parts := append([]string{}, j.extra...)
		if j.comment != "" {
			parts = append(parts, "-m", "comment", "--comment", quote(j.comment))
		}
		parts = append(parts, "-j", j.to)
		t.AddRule(0, j.from, parts...)
	}
}

func quote(s string) string { return `"` + s + `"` }

func (c *iptablesCtx) servicePort(sp *ServicePort, origin int32) {
	opts := c.opts
	c.seps.reset(sp)
	names := c.seps.chains()
	proto := sp.ProtoLower
	name := sp.NameString
	cat := CategorizeEndpoints(sp, opts.NodeName, opts.NodeZone)

	reach := cat.Reach(sp)
	usesClusterChain, usesLocalChain := reach.ClusterSet, reach.LocalSet
	hasInternal, hasExternal, usesExtChain := reach.Internal, reach.External, reach.ExternalChain
	internalChain, externalPolicyChain := names.SVC, names.SVC
	if sp.InternalPolicyLocal {
		internalChain = names.SVL
	}
	if sp.ExternalPolicyLocal {
		externalPolicyChain = names.SVL
	}
	lbChain := names.EXT
	usesFW := cat.HasAny && len(sp.LoadBalancerVIPs) > 0 && len(sp.SourceRanges) > 0
	if usesFW {
		lbChain = names.FW
	}

	var intTarget, intComment, extTarget, extComment string
	if !cat.HasAny {
		intTarget, intComment = "REJECT", `"`+name+` has no endpoints"`
		extTarget, extComment = intTarget, intComment
	} else {
		if !hasInternal {
			intTarget, intComment = "DROP", `"`+name+` has no local endpoints"`
		}
		if !hasExternal {
			extTarget, extComment = "DROP", `"`+name+` has no local endpoints"`
		}
	}

	f, n := c.filter, c.nat
	cip := sp.ClusterIP.String()
	port := strconv.Itoa(sp.Port)
	clusterComment := `"` + name + ` cluster IP"`

	if hasInternal {
		n.AddRule(origin, chainServices, "-m", "comment", "--comment", clusterComment,
			"-m", proto, "-p", proto, "-d", cip, "--dport", port, "-j", internalChain)
	} else {
		f.AddRule(origin, chainServices, "-m", "comment", "--comment", intComment,
			"-m", proto, "-p", proto, "-d", cip, "--dport", port, "-j", intTarget)
	}

	for _, eip := range sp.ExternalIPs {
		e := eip.String()
		if cat.HasAny {
			n.AddRule(origin, chainServices, "-m", "comment", "--comment", `"`+name+` external IP"`,
				"-m", proto, "-p", proto, "-d", e, "--dport", port, "-j", names.EXT)
		}
		if !hasExternal {
			f.AddRule(origin, chainExternalServices, "-m", "comment", "--comment", extComment,
				"-m", proto, "-p", proto, "-d", e, "--dport", port, "-j", extTarget)
		}
	}

	for _, vip := range sp.LoadBalancerVIPs {
		v := vip.String()
		if cat.HasAny {
			n.AddRule(origin, chainServices, "-m", "comment", "--comment", `"`+name+` loadbalancer IP"`,
				"-m", proto, "-p", proto, "-d", v, "--dport", port, "-j", lbChain)
		}
		if usesFW {
			f.AddRule(origin, chainProxyFirewall, "-m", "comment", "--comment", `"`+name+` traffic not accepted by `+names.FW+`"`,
				"-m", proto, "-p", proto, "-d", v, "--dport", port, "-j", "DROP")
		}
	}
	if !hasExternal {
		for _, vip := range sp.LoadBalancerVIPs {
			f.AddRule(origin, chainExternalServices, "-m", "comment", "--comment", extComment,
				"-m", proto, "-p", proto, "-d", vip.String(), "--dport", port, "-j", extTarget)
		}
	}

	if sp.NodePort != 0 {
		np := strconv.Itoa(sp.NodePort)
		if cat.HasAny {
			if c.localhostNodePorts && !c.isIPv6 && c.nfacct {
				n.AddRule(origin, chainNodePorts, "-m", "comment", "--comment", name,
					"-m", proto, "-p", proto, "-d", "127.0.0.0/8", "--dport", np,
					"-m", "nfacct", "--nfacct-name", nfacctLocalhostNodePortAcc, "-j", names.EXT)
			}
			n.AddRule(origin, chainNodePorts, "-m", "comment", "--comment", name,
				"-m", proto, "-p", proto, "--dport", np, "-j", names.EXT)
		}
		if !hasExternal {
			f.AddRule(origin, chainExternalServices, "-m", "comment", "--comment", extComment,
				"-m", "addrtype", "--dst-type", "LOCAL", "-m", proto, "-p", proto, "--dport", np, "-j", extTarget)
		}
	}

	if sp.HealthCheckNodePort != 0 {
		f.AddRule(origin, chainNodePorts, "-m", "comment", "--comment", `"`+name+` health check node port"`,
			"-m", "tcp", "-p", "tcp", "--dport", strconv.Itoa(sp.HealthCheckNodePort), "-j", "ACCEPT")
	}

	if hasInternal {
		if c.opts.MasqueradeAll {
			n.AddRule(origin, internalChain, "-m", "comment", "--comment", clusterComment,
				"-m", proto, "-p", proto, "-d", cip, "--dport", port, "-j", chainMarkMasq)
		} else if c.detector.Implemented() {
			parts := []string{"-m", "comment", "--comment", clusterComment,
				"-m", proto, "-p", proto, "-d", cip, "--dport", port}
			parts = append(parts, c.detector.IfNotLocal...)
			parts = append(parts, "-j", chainMarkMasq)
			n.AddRule(origin, internalChain, parts...)
		}
	}

	if usesExtChain {
		n.AddChain(names.EXT)
		if !sp.ExternalPolicyLocal {
			n.AddRule(origin, names.EXT, "-m", "comment", "--comment", `"masquerade traffic for `+name+` external destinations"`,
				"-j", chainMarkMasq)
		} else {
			if c.detector.Implemented() {
				parts := []string{"-m", "comment", "--comment", `"pod traffic for ` + name + ` external destinations"`}
				parts = append(parts, c.detector.IfLocal...)
				parts = append(parts, "-j", names.SVC)
				n.AddRule(origin, names.EXT, parts...)
			}
			n.AddRule(origin, names.EXT, "-m", "comment", "--comment", `"masquerade LOCAL traffic for `+name+` external destinations"`,
				"-m", "addrtype", "--src-type", "LOCAL", "-j", chainMarkMasq)
			n.AddRule(origin, names.EXT, "-m", "comment", "--comment", `"route LOCAL traffic for `+name+` external destinations"`,
				"-m", "addrtype", "--src-type", "LOCAL", "-j", names.SVC)
		}
		if hasExternal {
			n.AddRule(origin, names.EXT, "-j", externalPolicyChain)
		}
	}

	if usesFW {
		n.AddChain(names.FW)
		fwComment := `"` + name + ` loadbalancer IP"`
		allowFromNode := false
		nodeIP := c.opts.PrimaryNodeIP()
		for _, r := range sp.SourceRanges {
			n.AddRule(origin, names.FW, "-m", "comment", "--comment", fwComment, "-s", r.String(), "-j", names.EXT)
			if r.Contains(nodeIP) {
				allowFromNode = true
			}
		}
		if allowFromNode {
			for _, vip := range sp.LoadBalancerVIPs {
				n.AddRule(origin, names.FW, "-m", "comment", "--comment", fwComment, "-s", vip.String(), "-j", names.EXT)
			}
		}
		n.AddRule(origin, names.FW, "-m", "comment", "--comment", `"other traffic to `+name+` will be dropped by KUBE-PROXY-FIREWALL"`)
	}

	if usesClusterChain {
		n.AddChain(names.SVC)
		c.endpointRules(sp, origin, names.SVC, cat.Cluster)
	}
	if usesLocalChain {
		n.AddChain(names.SVL)
		c.endpointRules(sp, origin, names.SVL, cat.Local)
	}

	for _, ep := range cat.AllReachable {
		sep := c.seps.name(ep)
		n.AddChain(sep)
		w := n.Rule(origin, sep)
		if !c.largeCluster {
			w.Arg("-m", "comment", "--comment", name)
		}
		w.Arg("-s")
		w.ArgAddr(ep.IP)
		w.Arg("-j", chainMarkMasq)
		w.End()
		w = n.Rule(origin, sep)
		if !c.largeCluster {
			w.Arg("-m", "comment", "--comment", name)
		}
		if sp.SessionAffinity {
			w.Arg("-m", "recent", "--name", sep, "--set")
		}
		w.Arg("-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.String)
		w.End()
	}
}

// endpointComment writes kube-proxy's per-endpoint comment,
// "<service port> -> <endpoint>", left out in large clusters.
func (c *iptablesCtx) endpointComment(w *ir.RuleWriter, name string, ep *Endpoint) {
	if !c.largeCluster {
		w.Arg("-m", "comment", "--comment")
		w.Cat(` "`, name, " -> ", ep.String, `"`)
	}
}

// endpointRules writes the affinity and load-balancing jumps of a KUBE-SVC
// or KUBE-SVL chain.
func (c *iptablesCtx) endpointRules(sp *ServicePort, origin int32, chain string, eps []*Endpoint) {
	name, n := sp.NameString, c.nat
	if sp.SessionAffinity {
		for _, ep := range eps {
			sep := c.seps.name(ep)
			w := n.Rule(origin, chain)
			c.endpointComment(&w, name, ep)
			w.Arg("-m", "recent", "--name", sep, "--rcheck", "--seconds")
			w.ArgInt(sp.StickyMaxAgeSeconds)
			w.Arg("--reap", "-j", sep)
			w.End()
		}
	}
	num := len(eps)
	for i, ep := range eps {
		sep := c.seps.name(ep)
		w := n.Rule(origin, chain)
		c.endpointComment(&w, name, ep)
		if i < num-1 {
			w.Arg("-m", "statistic", "--mode", "random", "--probability", probability(num-i))
		}
		w.Arg("-j", sep)
		w.End()
	}
}

// writeEpilogue writes what follows the service loop: the NodePort jump at
// the end of KUBE-SERVICES and the KUBE-FORWARD rules.
func (c *iptablesCtx) writeEpilogue(npm NodePortMatch) {
	const npComment = `"kubernetes service nodeports; NOTE: this must be the last rule in this chain"`
	if npm.MatchAll {
		parts := []string{"-m", "comment", "--comment", npComment, "-m", "addrtype", "--dst-type", "LOCAL"}
		if c.isIPv6 {
			parts = append(parts, "!", "-d", "::1/128")
		} else if !c.localhostNodePorts {
			parts = append(parts, "!", "-d", "127.0.0.0/8")
		}
		parts = append(parts, "-j", chainNodePorts)
		c.nat.AddRule(0, chainServices, parts...)
	} else {
		for _, ip := range c.opts.NodePortIPs(npm) {
			if ip.IsLoopback() && (c.isIPv6 || !c.localhostNodePorts) {
				continue
			}
			c.nat.AddRule(0, chainServices, "-m", "comment", "--comment", npComment, "-d", ip.String(), "-j", chainNodePorts)
		}
	}
	if !c.opts.ConntrackTCPBeLiberal {
		parts := []string{"-m", "conntrack", "--ctstate", "INVALID"}
		if c.nfacct {
			parts = append(parts, "-m", "nfacct", "--nfacct-name", nfacctInvalidDropped)
		}
		parts = append(parts, "-j", "DROP")
		c.filter.AddRule(0, chainForward, parts...)
	}
	markMask := c.mark + "/" + c.mark
	c.filter.AddRule(0, chainForward, "-m", "comment", "--comment", `"kubernetes forwarding rules"`,
		"-m", "mark", "--mark", markMask, "-j", "ACCEPT")
	c.filter.AddRule(0, chainForward, "-m", "comment", "--comment", `"kubernetes forwarding conntrack rule"`,
		"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
}
