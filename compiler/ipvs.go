package compiler

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// IPVSDevice is the dummy interface kube-proxy binds service addresses to.
const IPVSDevice = "kube-ipvs0"

// IPVSSchedulers are the IPVS scheduling methods Linux implements. kube-proxy
// accepts any of them (it probes the kernel with a dummy virtual server);
// rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq and mh are the ones its
// documentation lists.
var IPVSSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"}

// The ipsets of kube-proxy's IPVS mode (base names: the IPv6 proxier puts
// "KUBE-6-" in place of "KUBE-").
const (
	setLoopBack             = "KUBE-LOOP-BACK"
	setClusterIP            = "KUBE-CLUSTER-IP"
	setExternalIP           = "KUBE-EXTERNAL-IP"
	setExternalIPLocal      = "KUBE-EXTERNAL-IP-LOCAL"
	setLoadBalancer         = "KUBE-LOAD-BALANCER"
	setLoadBalancerFW       = "KUBE-LOAD-BALANCER-FW"
	setLoadBalancerLocal    = "KUBE-LOAD-BALANCER-LOCAL"
	setLoadBalancerSourceIP = "KUBE-LOAD-BALANCER-SOURCE-IP"
	setLoadBalancerSrcCIDR  = "KUBE-LOAD-BALANCER-SOURCE-CIDR"
	setNodePortTCP          = "KUBE-NODE-PORT-TCP"
	setNodePortLocalTCP     = "KUBE-NODE-PORT-LOCAL-TCP"
	setNodePortUDP          = "KUBE-NODE-PORT-UDP"
	setNodePortLocalUDP     = "KUBE-NODE-PORT-LOCAL-UDP"
	setNodePortSCTP         = "KUBE-NODE-PORT-SCTP-HASH"
	setNodePortLocalSCTP    = "KUBE-NODE-PORT-LOCAL-SCTP-HASH"
	setHealthCheckNodePort  = "KUBE-HEALTH-CHECK-NODE-PORT"
	setIPVSAddresses        = "KUBE-IPVS-IPS"
)

// ipvsSetDef is one of kube-proxy's ipsets: its type and the comment its
// iptables rules carry.
type ipvsSetDef struct {
	name, typ, comment string
}

var ipvsSetDefs = []ipvsSetDef{
	{setLoopBack, ir.SetHashIPPortIP, "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"},
	{setClusterIP, ir.SetHashIPPort, "Kubernetes service cluster ip + port for masquerade purpose"},
	{setExternalIP, ir.SetHashIPPort, "Kubernetes service external ip + port for masquerade and filter purpose"},
	{setExternalIPLocal, ir.SetHashIPPort, "Kubernetes service external ip + port with externalTrafficPolicy=local"},
	{setLoadBalancer, ir.SetHashIPPort, "Kubernetes service lb portal"},
	{setLoadBalancerFW, ir.SetHashIPPort, "Kubernetes service load balancer ip + port for load balancer with sourceRange"},
	{setLoadBalancerLocal, ir.SetHashIPPort, "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"},
	{setLoadBalancerSourceIP, ir.SetHashIPPortIP, "Kubernetes service load balancer ip + port + source IP for packet filter purpose"},
	{setLoadBalancerSrcCIDR, ir.SetHashIPPortNet, "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"},
	{setNodePortTCP, ir.SetBitmapPort, "Kubernetes nodeport TCP port for masquerade purpose"},
	{setNodePortLocalTCP, ir.SetBitmapPort, "Kubernetes nodeport TCP port with externalTrafficPolicy=local"},
	{setNodePortUDP, ir.SetBitmapPort, "Kubernetes nodeport UDP port for masquerade purpose"},
	{setNodePortLocalUDP, ir.SetBitmapPort, "Kubernetes nodeport UDP port with externalTrafficPolicy=local"},
	{setNodePortSCTP, ir.SetHashIPPort, "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"},
	{setNodePortLocalSCTP, ir.SetHashIPPort, "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"},
	{setHealthCheckNodePort, ir.SetBitmapPort, "Kubernetes health check node port"},
	{setIPVSAddresses, ir.SetHashIP, "Addresses on the ipvs interface"},
}

// IPVSSetName is the name of one of kube-proxy's ipsets in a family: the
// IPv6 proxier replaces the "KUBE-" prefix by "KUBE-6-" and cuts the result
// to ipset's 31-character limit.
func IPVSSetName(base string, f Family) string {
	if f != IPv6 || !strings.HasPrefix(base, "KUBE-") {
		return base
	}
	name := "KUBE-6-" + base[len("KUBE-"):]
	if len(name) > 31 {
		name = name[:31]
	}
	return name
}

// Chains of IPVS mode's iptables payload.
const (
	chainIPVSNodePort     = "KUBE-NODE-PORT"
	chainLoadBalancer     = "KUBE-LOAD-BALANCER"
	chainSourceRangesFW   = "KUBE-SOURCE-RANGES-FIREWALL"
	chainIPVSFilter       = "KUBE-IPVS-FILTER"
	chainIPVSOutFilter    = "KUBE-IPVS-OUT-FILTER"
	ipvsDefaultScheduler  = "rr"
	ipvsRealServerWeight  = 1
	ipvsHashSize          = 1024
	ipvsMaxElem           = 65536
	ipvsBitmapPortRange   = "0-65535"
	ipvsFamilyInet        = "inet"
	ipvsFamilyInet6       = "inet6"
	ipvsSchedulerMH       = "mh"
	ipvsLoopbackV4        = "127.0.0.0/8"
	ipvsLoopbackV6        = "::1/128"
	ipvsSetMatchDst       = "dst"
	ipvsSetMatchDstDst    = "dst,dst"
	ipvsSetMatchDstDstSrc = "dst,dst,src"
)

// The user chains IPVS mode declares, per table, in kube-proxy's order.
var (
	ipvsNATChains    = []string{chainServices, chainPostrouting, chainIPVSNodePort, chainLoadBalancer, chainMarkMasq}
	ipvsFilterChains = []string{chainForward, chainIPVSNodePort, chainProxyFirewall, chainSourceRangesFW, chainIPVSFilter, chainIPVSOutFilter}
)

// ipvsJumps are the jump rules IPVS mode installs from the built-in chains,
// in the order it inserts them.
var ipvsJumps = []ir.JumpRule{
	{Table: "nat", Chain: "OUTPUT", Target: chainServices, Comment: "kubernetes service portals"},
	{Table: "nat", Chain: "PREROUTING", Target: chainServices, Comment: "kubernetes service portals"},
	{Table: "nat", Chain: "POSTROUTING", Target: chainPostrouting, Comment: "kubernetes postrouting rules"},
	{Table: "filter", Chain: "FORWARD", Target: chainForward, Comment: "kubernetes forwarding rules"},
	{Table: "filter", Chain: "INPUT", Target: chainIPVSNodePort, Comment: "kubernetes health check rules"},
	{Table: "filter", Chain: "INPUT", Target: chainProxyFirewall, Comment: "kube-proxy firewall rules"},
	{Table: "filter", Chain: "FORWARD", Target: chainProxyFirewall, Comment: "kube-proxy firewall rules"},
	{Table: "filter", Chain: "INPUT", Target: chainIPVSFilter, Comment: "kubernetes ipvs access filter"},
	{Table: "filter", Chain: "OUTPUT", Target: chainIPVSOutFilter, Comment: "kubernetes ipvs access filter"},
}

// ipvsSetChain is a rule that sends packets matching a set from one chain
// to a target; written only when the set has entries, in this order.
type ipvsSetChain struct {
	set, table, from, to, match, proto string
}

var ipvsSetChains = []ipvsSetChain{
	{setLoopBack, "nat", chainPostrouting, "MASQUERADE", ipvsSetMatchDstDstSrc, ""},
	{setLoadBalancer, "nat", chainServices, chainLoadBalancer, ipvsSetMatchDstDst, ""},
	{setLoadBalancerLocal, "nat", chainLoadBalancer, "RETURN", ipvsSetMatchDstDst, ""},
	{setNodePortLocalTCP, "nat", chainIPVSNodePort, "RETURN", ipvsSetMatchDst, "tcp"},
	{setNodePortTCP, "nat", chainIPVSNodePort, chainMarkMasq, ipvsSetMatchDst, "tcp"},
	{setNodePortLocalUDP, "nat", chainIPVSNodePort, "RETURN", ipvsSetMatchDst, "udp"},
	{setNodePortUDP, "nat", chainIPVSNodePort, chainMarkMasq, ipvsSetMatchDst, "udp"},
	{setNodePortLocalSCTP, "nat", chainIPVSNodePort, "RETURN", ipvsSetMatchDstDst, "sctp"},
	{setNodePortSCTP, "nat", chainIPVSNodePort, chainMarkMasq, ipvsSetMatchDstDst, "sctp"},
	{setLoadBalancerFW, "filter", chainProxyFirewall, chainSourceRangesFW, ipvsSetMatchDstDst, ""},
	{setLoadBalancerSrcCIDR, "filter", chainSourceRangesFW, "RETURN", ipvsSetMatchDstDstSrc, ""},
	{setLoadBalancerSourceIP, "filter", chainSourceRangesFW, "RETURN", ipvsSetMatchDstDstSrc, ""},
}

// Kernel parameters IPVS mode sets at start.
const (
	sysctlVSConntrack        = "net/ipv4/vs/conntrack"
	sysctlVSConnReuseMode    = "net/ipv4/vs/conn_reuse_mode"
	sysctlVSExpireNoDestConn = "net/ipv4/vs/expire_nodest_conn"
	sysctlVSExpireQuiescent  = "net/ipv4/vs/expire_quiescent_template"
	sysctlIPForward          = "net/ipv4/ip_forward"
	sysctlARPIgnore          = "net/ipv4/conf/all/arp_ignore"
	sysctlARPAnnounce        = "net/ipv4/conf/all/arp_announce"
)

// CheckIPVS reports IPVS options kube-proxy would refuse to start with.
func CheckIPVS(o *Options) error {
	if o.IPVSScheduler != "" && !slices.Contains(IPVSSchedulers, o.IPVSScheduler) {
		return fmt.Errorf("--ipvs-scheduler: unsupported value %q: the kernel knows %s", o.IPVSScheduler, strings.Join(IPVSSchedulers, ", "))
	}
	return nil
}

// vsKey identifies a virtual server: the kernel keys them by address,
// port and protocol.
type vsKey struct {
	addr  netip.Addr
	port  uint16
	proto string
}

// ipvsCtx collects one sync's state.
type ipvsCtx struct {
	opts      *Options
	prog      *ir.IPVS
	scheduler string
	// sets holds the entries of each set, by base name.
	sets map[string]map[string]struct{}
	// vs indexes vsSlab, which holds each virtual server once (a later
	// one for the same key replaces it in place); rsPool is where real
	// server lists are cut from, and names where set entries are.
	vs     map[vsKey]int
	vsSlab []ir.VirtualServer
	rsPool []ir.RealServer
	names  stringArena
	bind   map[netip.Addr]struct{}
	// nodeAddrs are the node's addresses of the family kube-proxy sees on
	// interfaces other than kube-ipvs0 (no loopback, no IPv6 link-local).
	nodeAddrs map[netip.Addr]struct{}
	// nodePortIPs get the NodePort virtual servers.
	nodePortIPs []netip.Addr
	// noNodeAccess are the LB IP:port/proto whose source ranges leave the
	// node out (KUBE-IPVS-OUT-FILTER drops them), in sync order.
	noNodeAccess []lbNoNodeAccess
}

type lbNoNodeAccess struct {
	ip     string
	proto  string
	port   int
	origin int32
}

// LowerIPVS compiles the model into what kube-proxy's IPVS proxier programs
// on a full sync: service ports are visited in ascending name order, which
// only matters where two service ports claim the same virtual server (the
// last one visited wins, as in kube-proxy, whose visiting order is random).
func LowerIPVS(m *Model, opts *Options) (*ir.IPVS, error) {
	if err := CheckIPVS(opts); err != nil {
		return nil, err
	}
	c := &ipvsCtx{
		opts:      opts,
		prog:      &ir.IPVS{IPv6: opts.Family == IPv6, Device: IPVSDevice},
		scheduler: opts.IPVSScheduler,
		sets:      make(map[string]map[string]struct{}, len(ipvsSetDefs)),
		bind:      map[netip.Addr]struct{}{},
		nodeAddrs: map[netip.Addr]struct{}{},
	}
	if c.scheduler == "" {
		c.scheduler = ipvsDefaultScheduler
	}
	for _, d := range ipvsSetDefs {
		c.sets[d.name] = map[string]struct{}{}
	}
	for _, a := range opts.LocalAddresses() {
		if opts.Family.Is(a) && !a.IsLoopback() && !(a.Is6() && a.IsLinkLocalUnicast()) {
			c.nodeAddrs[a] = struct{}{}
		}
	}
	c.nodePortIPs = c.nodePortAddresses(m)
	// Size the virtual servers and the biggest set for the model, so that
	// the maps do not grow step by step.
	nVS := 0
	for _, sp := range m.ServicePorts {
		nVS += 1 + len(sp.ExternalIPs) + len(sp.LoadBalancerVIPs)
		if sp.NodePort != 0 {
			nVS += len(c.nodePortIPs)
		}
	}
	c.vs = make(map[vsKey]int, nVS)
	c.vsSlab = make([]ir.VirtualServer, 0, nVS)
	c.sets[setClusterIP] = make(map[string]struct{}, len(m.ServicePorts))
	for _, sp := range m.ServicePorts {
		c.prog.Origins = append(c.prog.Origins, ir.Origin{ServicePort: sp.NameString, File: sp.Pos.File, Line: sp.Pos.Line})
		c.servicePort(sp, int32(len(c.prog.Origins)))
	}
	bound := make(map[string]struct{}, len(c.bind))
	c.prog.Addresses = make([]netip.Addr, 0, len(c.bind))
	var buf [64]byte
	for a := range c.bind {
		bound[c.names.bytes(a.AppendTo(buf[:0]))] = struct{}{}
		c.prog.Addresses = append(c.prog.Addresses, a)
	}
	c.sets[setIPVSAddresses] = bound
	slices.SortFunc(c.prog.Addresses, netip.Addr.Compare)
	// Ordering the virtual servers and the set entries are independent:
	// side by side for a big model.
	if len(c.vsSlab)+m.TotalEndpoints >= parallelMinEndpoints && procs() > 1 {
		var wg sync.WaitGroup
		wg.Go(c.finishSets)
		c.finishVirtualServers()
		wg.Wait()
	} else {
		c.finishVirtualServers()
		c.finishSets()
	}
	c.prog.IPTables = c.iptables()
	c.prog.Jumps = append([]ir.JumpRule(nil), ipvsJumps...)
	c.prog.Sysctls = ipvsSysctls(opts.IPVSStrictARP)
	for _, s := range opts.IPVSExcludeCIDRs {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && opts.Family.Is(p.Addr()) {
			c.prog.ExcludeCIDRs = append(c.prog.ExcludeCIDRs, p.Masked())
		}
	}
	return c.prog, nil
}

// nodePortAddresses returns the addresses that get NodePort virtual
// servers, or nil when no service port has a node port. With the default
// --nodeport-addresses these are all the node's addresses of the family;
// otherwise the local addresses in the given CIDRs, loopback excluded.
func (c *ipvsCtx) nodePortAddresses(m *Model) []netip.Addr {
	has := false
	for _, sp := range m.ServicePorts {
		if sp.NodePort != 0 {
			has = true
			break
		}
	}
	if !has {
		return nil
	}
	npm := c.opts.NodePortMatch()
	var out []netip.Addr
	if npm.MatchAll {
		for a := range c.nodeAddrs {
			out = append(out, a)
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return out
	}
	for _, a := range c.opts.NodePortIPs(npm) {
		if !a.IsLoopback() {
			out = append(out, a)
		}
	}
	return out
}

func (c *ipvsCtx) add(set, entry string) {
	c.sets[set][entry] = struct{}{}
}

// ipPortEntry is the hash:ip,port entry "ip,proto:port".
func (c *ipvsCtx) ipPortEntry(ip netip.Addr, proto string, port int) string {
	var buf [64]byte
	b := ip.AppendTo(buf[:0])
	b = append(append(append(b, ','), proto...), ':')
	return c.names.bytes(strconv.AppendInt(b, int64(port), 10))
}

// realServers returns room for n real servers, cut from a shared pool.
func (c *ipvsCtx) realServers(n int) []ir.RealServer {
	if cap(c.rsPool)-len(c.rsPool) < n {
		c.rsPool = make([]ir.RealServer, 0, max(n, 16<<10))
	}
	from := len(c.rsPool)
	c.rsPool = c.rsPool[:from+n]
	return c.rsPool[from : from+n : from+n]
}

func (c *ipvsCtx) servicePort(sp *ServicePort, origin int32) {
	proto := sp.ProtoLower
	for _, ep := range sp.Endpoints {
		if ep.IsLocal && ep.Port != 0 {
			c.add(setLoopBack, c.ipPortEntry(ep.IP, proto, ep.Port)+","+ep.IP.String())
		}
	}
	cat := CategorizeEndpoints(sp, c.opts.NodeName, c.opts.NodeZone)
	external := ipvsEndpoints(cat, sp.ExternalPolicyLocal)

	c.add(setClusterIP, c.ipPortEntry(sp.ClusterIP, proto, sp.Port))
	c.virtualServer(sp, sp.ClusterIP, sp.Port, true, ipvsEndpoints(cat, sp.InternalPolicyLocal), origin)

	for _, eip := range sp.ExternalIPs {
		set := setExternalIP
		if sp.ExternalPolicyLocal {
			set = setExternalIPLocal
		}
		c.add(set, c.ipPortEntry(eip, proto, sp.Port))
		_, onNode := c.nodeAddrs[eip]
		c.virtualServer(sp, eip, sp.Port, !onNode, external, origin)
	}

	nodeIP := c.opts.PrimaryNodeIP()
	for _, vip := range sp.LoadBalancerVIPs {
		v := vip.String()
		entry := c.ipPortEntry(vip, proto, sp.Port)
		c.add(setLoadBalancer, entry)
		if sp.ExternalPolicyLocal {
			c.add(setLoadBalancerLocal, entry)
		}
		if len(sp.SourceRanges) > 0 {
			c.add(setLoadBalancerFW, entry)
			allowFromNode := false
			for _, r := range sp.SourceRanges {
				c.add(setLoadBalancerSrcCIDR, entry+","+r.String())
				if r.Contains(nodeIP) {
					allowFromNode = true
				}
			}
			if allowFromNode {
				c.add(setLoadBalancerSourceIP, entry+","+v)
			} else {
				c.noNodeAccess = append(c.noNodeAccess, lbNoNodeAccess{ip: v, proto: proto, port: sp.Port, origin: origin})
			}
		}
		_, onNode := c.nodeAddrs[vip]
		c.virtualServer(sp, vip, sp.Port, !onNode, external, origin)
	}

	if sp.NodePort != 0 {
		if len(c.nodePortIPs) == 0 {
			// kube-proxy gives up on the rest of the service port,
			// health check node port included.
			return
		}
		var set, localSet string
		var entries []string
		switch sp.Protocol {
		case "TCP":
			set, localSet = setNodePortTCP, setNodePortLocalTCP
			entries = []string{strconv.Itoa(sp.NodePort)}
		case "UDP":
			set, localSet = setNodePortUDP, setNodePortLocalUDP
			entries = []string{strconv.Itoa(sp.NodePort)}
		case "SCTP":
			set, localSet = setNodePortSCTP, setNodePortLocalSCTP
			for _, ip := range c.nodePortIPs {
				entries = append(entries, c.ipPortEntry(ip, proto, sp.NodePort))
			}
		}
		for _, e := range entries {
			c.add(set, e)
			if sp.ExternalPolicyLocal {
				c.add(localSet, e)
			}
		}
		for _, ip := range c.nodePortIPs {
			c.virtualServer(sp, ip, sp.NodePort, false, external, origin)
		}
	}

	if sp.HealthCheckNodePort != 0 {
		c.add(setHealthCheckNodePort, strconv.Itoa(sp.HealthCheckNodePort))
	}
}

// ipvsEndpoints picks a virtual server's endpoints: the local ones when the
// traffic policy is Local and there are any, else the cluster-wide ones
// (IPVS mode falls back to them so that local pods still reach the service).
func ipvsEndpoints(cat Categorized, local bool) []*Endpoint {
	if local && len(cat.Local) > 0 {
		return cat.Local
	}
	return cat.Cluster
}

// virtualServer programs one virtual server with its real servers; a
// later call for the same address, port and protocol replaces it.
func (c *ipvsCtx) virtualServer(sp *ServicePort, addr netip.Addr, port int, bind bool, eps []*Endpoint, origin int32) {
	vs := ir.VirtualServer{
		Address:   addr,
		Port:      uint16(port),
		Protocol:  string(sp.Protocol),
		Scheduler: c.scheduler,
		MHPort:    c.scheduler == ipvsSchedulerMH,
		Origin:    origin,
	}
	if sp.SessionAffinity {
		vs.Persistent = true
		vs.Timeout = uint32(sp.StickyMaxAgeSeconds)
	}
	// The model holds each ip:port of a service port once, so the real
	// servers are distinct.
	if len(eps) > 0 {
		vs.RealServers = c.realServers(len(eps))
		for i, ep := range eps {
			vs.RealServers[i] = ir.RealServer{Address: ep.IP, Port: uint16(ep.Port), Weight: ipvsRealServerWeight}
		}
	}
	key := vsKey{addr, vs.Port, vs.Protocol}
	if i, ok := c.vs[key]; ok {
		c.vsSlab[i] = vs
	} else {
		c.vs[key] = len(c.vsSlab)
		c.vsSlab = append(c.vsSlab, vs)
	}
	if bind {
		c.bind[addr] = struct{}{}
	}
}

func (c *ipvsCtx) finishVirtualServers() {
	out := c.vsSlab
	for i := range out {
		slices.SortFunc(out[i].RealServers, ir.CompareRealServers)
	}
	slices.SortFunc(out, ir.CompareVirtualServers)
	c.prog.VirtualServers = out
}

func (c *ipvsCtx) finishSets() {
	fam := ipvsFamilyInet
	if c.prog.IPv6 {
		fam = ipvsFamilyInet6
	}
	for _, d := range ipvsSetDefs {
		s := ir.IPSet{Name: IPVSSetName(d.name, c.opts.Family), Type: d.typ, Comment: d.comment}
		if d.typ == ir.SetBitmapPort {
			s.PortRange = ipvsBitmapPortRange
		} else {
			s.Family, s.HashSize, s.MaxElem = fam, ipvsHashSize, ipvsMaxElem
		}
		for e := range c.sets[d.name] {
			s.Entries = append(s.Entries, e)
		}
		slices.Sort(s.Entries)
		c.prog.Sets = append(c.prog.Sets, s)
	}
	slices.SortFunc(c.prog.Sets, func(a, b ir.IPSet) int { return strings.Compare(a.Name, b.Name) })
}

func (c *ipvsCtx) setName(base string) string { return IPVSSetName(base, c.opts.Family) }

func (c *ipvsCtx) empty(base string) bool { return len(c.sets[base]) == 0 }

func setComment(base string) string {
	for _, d := range ipvsSetDefs {
		if d.name == base {
			return `"` + d.comment + `"`
		}
	}
	return ""
}

// iptables writes IPVS mode's iptables-restore payload: *nat, then
// *filter.
func (c *ipvsCtx) iptables() *ir.IPTables {
	nat, filter := ir.NewTable("nat"), ir.NewTable("filter")
	for _, ch := range ipvsNATChains {
		nat.AddChain(ch)
	}
	for _, ch := range ipvsFilterChains {
		filter.AddChain(ch)
	}
	table := func(name string) *ir.Table {
		if name == "filter" {
			return filter
		}
		return nat
	}
	loopback := ipvsLoopbackV4
	if c.prog.IPv6 {
		loopback = ipvsLoopbackV6
	}
	nat.AddRule(0, chainServices, "-s", loopback, "-j", "RETURN")

	for _, sc := range ipvsSetChains {
		if c.empty(sc.set) {
			continue
		}
		var parts []string
		if sc.proto != "" {
			parts = append(parts, "-p", sc.proto)
		}
		parts = append(parts, "-m", "comment", "--comment", setComment(sc.set),
			"-m", "set", "--match-set", c.setName(sc.set), sc.match, "-j", sc.to)
		table(sc.table).AddRule(0, sc.from, parts...)
	}

	if !c.empty(setClusterIP) {
		parts := []string{"-m", "comment", "--comment", setComment(setClusterIP),
			"-m", "set", "--match-set", c.setName(setClusterIP)}
		det := c.opts.LocalDetector()
		switch {
		case c.opts.MasqueradeAll:
			parts = append(parts, ipvsSetMatchDstDst)
		case det.Implemented():
			parts = append(parts, ipvsSetMatchDstDst)
			parts = append(parts, det.IfNotLocal...)
		default:
			parts = append(parts, "src,dst")
		}
		parts = append(parts, "-j", chainMarkMasq)
		nat.AddRule(0, chainServices, parts...)
	}

	externalAccept := func(set string) {
		base := []string{"-m", "comment", "--comment", setComment(set),
			"-m", "set", "--match-set", c.setName(set), ipvsSetMatchDstDst}
		nat.AddRule(0, chainServices, append(slices.Clone(base),
			"-m", "physdev", "!", "--physdev-is-in", "-m", "addrtype", "!", "--src-type", "LOCAL", "-j", "ACCEPT")...)
		nat.AddRule(0, chainServices, append(slices.Clone(base),
			"-m", "addrtype", "--dst-type", "LOCAL", "-j", "ACCEPT")...)
	}
	if !c.empty(setExternalIP) {
		nat.AddRule(0, chainServices, "-m", "comment", "--comment", setComment(setExternalIP),
			"-m", "set", "--match-set", c.setName(setExternalIP), ipvsSetMatchDstDst, "-j", chainMarkMasq)
		externalAccept(setExternalIP)
	}
	if !c.empty(setExternalIPLocal) {
		externalAccept(setExternalIPLocal)
	}

	nat.AddRule(0, chainServices, "-m", "addrtype", "--dst-type", "LOCAL", "-j", chainIPVSNodePort)
	nat.AddRule(0, chainLoadBalancer, "-j", chainMarkMasq)
	filter.AddRule(0, chainSourceRangesFW, "-j", "DROP")
	for _, e := range c.noNodeAccess {
		filter.AddRule(e.origin, chainIPVSOutFilter, "-s", e.ip,
			"-m", "ipvs", "--vaddr", e.ip, "--vproto", e.proto, "--vport", strconv.Itoa(e.port), "-j", "DROP")
	}
	for _, set := range []string{setClusterIP, setLoadBalancer} {
		if !c.empty(set) {
			nat.AddRule(0, chainServices, "-m", "set", "--match-set", c.setName(set), ipvsSetMatchDstDst, "-j", "ACCEPT")
		}
	}

	mark := MasqueradeMark(c.opts.MasqueradeBit)
	markMask := mark + "/" + mark
	filter.AddRule(0, chainForward, "-m", "comment", "--comment", `"kubernetes forwarding rules"`,
		"-m", "mark", "--mark", markMask, "-j", "ACCEPT")
	filter.AddRule(0, chainForward, "-m", "comment", "--comment", `"kubernetes forwarding conntrack rule"`,
		"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
	filter.AddRule(0, chainIPVSNodePort, "-m", "comment", "--comment", setComment(setHealthCheckNodePort),
		"-m", "set", "--match-set", c.setName(setHealthCheckNodePort), ipvsSetMatchDst, "-j", "ACCEPT")
	for _, f := range []struct{ set, match string }{
		{setLoadBalancer, ipvsSetMatchDstDst},
		{setClusterIP, ipvsSetMatchDstDst},
		{setExternalIP, ipvsSetMatchDstDst},
		{setExternalIPLocal, ipvsSetMatchDstDst},
		{setHealthCheckNodePort, ipvsSetMatchDst},
	} {
		filter.AddRule(0, chainIPVSFilter, "-m", "set", "--match-set", c.setName(f.set), f.match, "-j", "RETURN")
	}
	filter.AddRule(0, chainIPVSFilter, "-m", "conntrack", "--ctstate", "NEW",
		"-m", "set", "--match-set", c.setName(setIPVSAddresses), ipvsSetMatchDst, "-j", "REJECT")

	nat.AddRule(0, chainPostrouting, "-m", "mark", "!", "--mark", markMask, "-j", "RETURN")
	nat.AddRule(0, chainPostrouting, "-j", "MARK", "--xor-mark", mark)
	random := ""
	if c.opts.RandomFully {
		random = "--random-fully"
	}
	nat.AddRule(0, chainPostrouting, "-m", "comment", "--comment", `"kubernetes service traffic requiring SNAT"`, "-j", "MASQUERADE", random)
	nat.AddRule(0, chainMarkMasq, "-j", "MARK", "--or-mark", mark)

	return &ir.IPTables{Tables: []*ir.Table{nat, filter}, Origins: c.prog.Origins}
}

// ipvsSysctls lists the kernel parameters IPVS mode sets when it starts.
// conn_reuse_mode is set to 0 only on kernels from 4.1 up to (not
// including) 5.9; newer kernels fixed the problem it works around.
func ipvsSysctls(strictARP bool) []ir.Sysctl {
	s := []ir.Sysctl{
		{Name: sysctlVSConntrack, Value: 1},
		{Name: sysctlVSConnReuseMode, Value: 0, MinKernel: "4.1", BelowKernel: "5.9"},
		{Name: sysctlVSExpireNoDestConn, Value: 1},
		{Name: sysctlVSExpireQuiescent, Value: 1},
		{Name: sysctlIPForward, Value: 1},
	}
	if strictARP {
		s = append(s, ir.Sysctl{Name: sysctlARPIgnore, Value: 1}, ir.Sysctl{Name: sysctlARPAnnounce, Value: 2})
	}
	return s
}
