package compiler

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// NFTTable is the table kube-proxy's nftables mode owns in each family.
const NFTTable = "kube-proxy"

// Chains, sets and maps kube-proxy's nftables mode sets up on every full
// sync.
const (
	nftFilterPreroutingPreDNAT = "filter-prerouting-pre-dnat"
	nftFilterOutputPreDNAT     = "filter-output-pre-dnat"
	nftFilterInput             = "filter-input"
	nftFilterForward           = "filter-forward"
	nftFilterOutput            = "filter-output"
	nftNatPrerouting           = "nat-prerouting"
	nftNatOutput               = "nat-output"
	nftNatPostrouting          = "nat-postrouting"

	nftServices               = "services"
	nftServiceIPs             = "service-ips"
	nftServiceNodePorts       = "service-nodeports"
	nftNodePortIPs            = "nodeport-ips"
	nftClusterIPs             = "cluster-ips"
	nftServiceEndpointsCheck  = "service-endpoints-check"
	nftNodePortEndpointsCheck = "nodeport-endpoints-check"
	nftNoEndpointServices     = "no-endpoint-services"
	nftNoEndpointNodePorts    = "no-endpoint-nodeports"
	nftRejectChain            = "reject-chain"
	nftClusterIPsCheck        = "cluster-ips-check"
	nftFirewallIPs            = "firewall-ips"
	nftFirewallCheck          = "firewall-check"
	nftMasquerading           = "masquerading"
	nftHairpinConnections     = "hairpin-connections"
)

// Numeric chain priorities: nft's named priorities for the ip and ip6
// families (dstnat -100, filter 0, srcnat 100).
const (
	nftPrioDstNAT = -100
	nftPrioFilter = 0
	nftPrioSrcNAT = 100
)

// nftBaseChains are the chains attached to netfilter hooks. The pre-DNAT
// filter chains still see the original destination, which the
// source-range firewall needs.
var nftBaseChains = []struct {
	name, typ, hook string
	priority        int
}{
	{nftFilterPreroutingPreDNAT, "filter", "prerouting", nftPrioDstNAT - 10},
	{nftFilterOutputPreDNAT, "filter", "output", nftPrioDstNAT - 10},
	{nftFilterInput, "filter", "input", nftPrioFilter},
	{nftFilterForward, "filter", "forward", nftPrioFilter},
	{nftFilterOutput, "filter", "output", nftPrioFilter},
	{nftNatPrerouting, "nat", "prerouting", nftPrioDstNAT},
	{nftNatOutput, "nat", "output", nftPrioDstNAT},
	{nftNatPostrouting, "nat", "postrouting", nftPrioSrcNAT},
}

// nftJumps are the rules from the base chains to kube-proxy's top-level
// chains, in the order kube-proxy adds them. The no-endpoint checks hang
// off input, forward and output because kernels before 5.9 refuse
// "reject" in prerouting.
var nftJumps = []struct{ to, from, match string }{
	{nftNodePortEndpointsCheck, nftFilterInput, "ct state new "},
	{nftServiceEndpointsCheck, nftFilterInput, "ct state new "},
	{nftServiceEndpointsCheck, nftFilterForward, "ct state new "},
	{nftServiceEndpointsCheck, nftFilterOutput, "ct state new "},
	{nftFirewallCheck, nftFilterPreroutingPreDNAT, "ct state new "},
	{nftFirewallCheck, nftFilterOutputPreDNAT, "ct state new "},
	{nftServices, nftNatOutput, ""},
	{nftServices, nftNatPrerouting, ""},
	{nftMasquerading, nftNatPostrouting, ""},
	{nftClusterIPsCheck, nftFilterForward, "ct state new "},
	{nftClusterIPsCheck, nftFilterOutput, "ct state new "},
}

// nftCtx holds what every service port's rules need.
type nftCtx struct {
	opts       *Options
	t          *ir.NFT
	ipX        string // "ip" or "ip6"
	addrType   string // "ipv4_addr" or "ipv6_addr"
	masqRule   string // "mark set mark or 0x00004000"
	detector   LocalDetector
	ifLocal    string // the detector's nftables match for local traffic
	nodeIP     netip.Addr
	rejectGoto string // "goto reject-chain"
	// affinityFlags are the flags of every affinity set, shared by them.
	affinityFlags []string

	clusterIPs, hairpin                       *ir.NFTSet
	serviceIPs, serviceNodePorts, firewallIPs *ir.NFTSet
	noEndpointServices, noEndpointNodePorts   *ir.NFTSet

	// Rule, element and name text is built in b and kept in arena: one
	// allocation per block of strings instead of one per string.
	arena stringArena
	b     []byte
	// base is the current service port's name base; hashIn holds the
	// hash input of its names.
	base, hashIn []byte
	// epBases are the name bases of the current service port's reachable
	// endpoints (with affinity), and epNext where to look for the next.
	epBases  []string
	epNext   int
	epChains []*ir.NFTChain // their chains
}

// NFTServiceCIDRs returns the ServiceCIDRs of the compiled family, in the
// order given, as kube-proxy's nftables proxier keeps them: a CIDR that is
// not IPv4 counts as IPv6.
func NFTServiceCIDRs(opts *Options) ([]string, error) {
	var out []string
	for _, c := range opts.ServiceCIDRs {
		p, ok := ParseCIDRSloppy(c)
		if !ok {
			return nil, fmt.Errorf("--service-cidrs: invalid CIDR %q", c)
		}
		if p.Addr().Is4() == (opts.Family == IPv4) {
			out = append(out, c)
		}
	}
	return out, nil
}

// LowerNFT compiles the model into the table kube-proxy's nftables mode
// programs on a full sync from an empty state.
func LowerNFT(m *Model, opts *Options) (*ir.NFT, error) {
	cidrs, err := NFTServiceCIDRs(opts)
	if err != nil {
		return nil, err
	}
	c := &nftCtx{
		opts:          opts,
		ipX:           "ip",
		addrType:      "ipv4_addr",
		masqRule:      "mark set mark or " + MasqueradeMark(opts.MasqueradeBit),
		detector:      opts.LocalDetector(),
		nodeIP:        opts.PrimaryNodeIP(),
		rejectGoto:    "goto " + nftRejectChain,
		affinityFlags: []string{"dynamic", "timeout"},
	}
	if opts.Family == IPv6 {
		c.ipX, c.addrType = "ip6", "ipv6_addr"
	}
	c.ifLocal = strings.Join(c.detector.IfLocalNFT, " ")
	c.t = ir.NewNFT(c.ipX, NFTTable, "rules for kube-proxy")
	c.setup(cidrs)
	// Every service port has a ClusterIP and a service-ips element or a
	// no-endpoint-services one.
	c.clusterIPs.Grow(len(m.ServicePorts))
	c.serviceIPs.Grow(len(m.ServicePorts))
	c.t.Origins = make([]ir.Origin, 0, len(m.ServicePorts))
	for _, sp := range m.ServicePorts {
		c.t.Origins = append(c.t.Origins, ir.Origin{ServicePort: sp.NameString, File: sp.Pos.File, Line: sp.Pos.Line})
	}
	c.lowerServicePorts(m)
	return c.t, nil
}

// setup adds what does not depend on services: base chains, jumps,
// top-level chains, sets and maps, and their fixed rules.
func (c *nftCtx) setup(serviceCIDRs []string) {
	t, ipX := c.t, c.ipX
	noLocalhost := "ip daddr != 127.0.0.0/8"
	if c.opts.Family == IPv6 {
		noLocalhost = "ip6 daddr != ::1"
	}
	for _, bc := range nftBaseChains {
		t.AddBaseChain(bc.name, bc.typ, bc.hook, bc.priority)
	}
	for _, j := range nftJumps {
		t.AddChain(j.to)
		t.Chain(j.from).AddRule(0, j.match+"jump "+j.to, "")
	}
	for _, name := range []string{nftServices, nftClusterIPsCheck, nftMasquerading} {
		t.AddChain(name)
	}

	c.hairpin = t.AddSet(nftHairpinConnections,
		c.addrType+" . "+c.addrType+" . inet_proto . inet_service", "service hairpin connections")
	mark := MasqueradeMark(c.opts.MasqueradeBit)
	masq := t.Chain(nftMasquerading)
	masq.AddRule(0, "mark and "+mark+" != 0 mark set mark xor "+mark+" masquerade fully-random", "")
	masq.AddRule(0, "ct status dnat "+ipX+" saddr . "+ipX+" daddr . meta l4proto . th dport @"+
		nftHairpinConnections+" masquerade fully-random", "")

	c.clusterIPs = t.AddSet(nftClusterIPs, c.addrType, "Active ClusterIPs")
	check := t.Chain(nftClusterIPsCheck)
	check.AddRule(0, ipX+" daddr @"+nftClusterIPs+" reject", "Reject traffic to invalid ports of ClusterIPs")
	if len(serviceCIDRs) > 0 {
		check.AddRule(0, ipX+" daddr { "+strings.Join(serviceCIDRs, ",")+" } drop", "Drop traffic to unallocated ClusterIPs")
	}

	npm := c.opts.NodePortMatch()
	if !npm.MatchAll {
		ips := t.AddSet(nftNodePortIPs, c.addrType, "IPs that accept NodePort traffic")
		for _, ip := range c.opts.NodePortIPs(npm) {
			if ip.IsLoopback() {
				continue // kube-proxy's nftables mode has no localhost NodePorts
			}
			ips.AddElement(ir.NFTElement{Key: ip.String()})
		}
	}

	c.noEndpointServices = t.AddMap(nftNoEndpointServices, c.addrType+" . inet_proto . inet_service : verdict",
		"vmap to drop or reject packets to services with no endpoints")
	c.noEndpointNodePorts = t.AddMap(nftNoEndpointNodePorts, "inet_proto . inet_service : verdict",
		"vmap to drop or reject packets to service nodeports with no endpoints")
	t.AddChain(nftRejectChain).Comment = "helper for @no-endpoint-services / @no-endpoint-nodeports"
	t.Chain(nftRejectChain).AddRule(0, "reject", "")
	t.Chain(nftServiceEndpointsCheck).AddRule(0,
		ipX+" daddr . meta l4proto . th dport vmap @"+nftNoEndpointServices, "")
	npCheck := t.Chain(nftNodePortEndpointsCheck)
	if npm.MatchAll {
		npCheck.AddRule(0, noLocalhost+" meta l4proto . th dport vmap @"+nftNoEndpointNodePorts, "")
	} else {
		npCheck.AddRule(0, ipX+" daddr @"+nftNodePortIPs+" meta l4proto . th dport vmap @"+nftNoEndpointNodePorts, "")
	}

	c.firewallIPs = t.AddMap(nftFirewallIPs, c.addrType+" . inet_proto . inet_service : verdict",
		"destinations that are subject to LoadBalancerSourceRanges")
	t.Chain(nftFirewallCheck).AddRule(0, ipX+" daddr . meta l4proto . th dport vmap @"+nftFirewallIPs, "")

	c.serviceIPs = t.AddMap(nftServiceIPs, c.addrType+" . inet_proto . inet_service : verdict",
		"ClusterIP, ExternalIP and LoadBalancer IP traffic")
	c.serviceNodePorts = t.AddMap(nftServiceNodePorts, "inet_proto . inet_service : verdict", "NodePort traffic")
	svcs := t.Chain(nftServices)
	if c.opts.MasqueradeAll {
		svcs.AddRule(0, ipX+" daddr @"+nftClusterIPs+" "+c.masqRule, "masquerade all clusterIP traffic")
	} else if c.detector.Implemented() {
		svcs.AddRule(0, ipX+" daddr @"+nftClusterIPs+" "+strings.Join(c.detector.IfNotLocalNFT, " ")+" "+c.masqRule,
			"masquerade clusterIP traffic from outside cluster")
	}
	svcs.AddRule(0, ipX+" daddr . meta l4proto . th dport vmap @"+nftServiceIPs, "")
	if npm.MatchAll {
		svcs.AddRule(0, "fib daddr type local "+noLocalhost+" meta l4proto . th dport vmap @"+nftServiceNodePorts, "")
	} else {
		svcs.AddRule(0, ipX+" daddr @"+nftNodePortIPs+" meta l4proto . th dport vmap @"+nftServiceNodePorts, "")
	}
}

// str returns b as a string cut from the arena.
func (c *nftCtx) str(b []byte) string { return c.arena.bytes(b) }

// cat returns the concatenation of the parts, cut from the arena.
func (c *nftCtx) cat(parts ...string) string {
	c.b = c.b[:0]
	for _, p := range parts {
		c.b = append(c.b, p...)
	}
	return c.str(c.b)
}

// key3 returns "ip . proto . port", the key of the per-address maps.
func (c *nftCtx) key3(ip netip.Addr, proto string, port int) string {
	b := ip.AppendTo(c.b[:0])
	b = append(append(append(b, " . "...), proto...), " . "...)
	c.b = strconv.AppendInt(b, int64(port), 10)
	return c.str(c.b)
}

// nftChainNames are the current service port's chain names, each made
// when first asked for.
type nftChainNames struct {
	c                                  *nftCtx
	service, local, external, firewall string
}

func (n *nftChainNames) name(p *string, prefix string) string {
	if *p == "" {
		c := n.c
		c.b = append(append(c.b[:0], prefix...), c.base...)
		*p = c.str(c.b)
	}
	return *p
}

func (n *nftChainNames) Service() string  { return n.name(&n.service, NFTPrefixService) }
func (n *nftChainNames) Local() string    { return n.name(&n.local, NFTPrefixLocal) }
func (n *nftChainNames) External() string { return n.name(&n.external, NFTPrefixExternal) }
func (n *nftChainNames) Firewall() string { return n.name(&n.firewall, NFTPrefixFirewall) }

// endpointBases computes the name bases of the endpoints (NFTEndpointNameBase).
func (c *nftCtx) endpointBases(eps []*Endpoint) {
	c.epBases, c.epNext = c.epBases[:0], 0
	prefix := len(c.hashIn)
	for _, ep := range eps {
		c.hashIn = appendNFTEndpointSuffix(c.hashIn[:prefix], ep)
		c.b = appendNFTHashAndTruncate(c.b[:0], c.hashIn)
		c.epBases = append(c.epBases, c.str(c.b))
	}
	c.hashIn = c.hashIn[:prefix]
}

// epBase returns the name base of ep, one of all (whose bases
// endpointBases computed). Lists of endpoints are walked in all's order,
// so the search starts after the last one found.
func (c *nftCtx) epBase(all []*Endpoint, ep *Endpoint) string {
	for k := range all {
		i := (c.epNext + k) % len(all)
		if all[i] == ep {
			c.epNext = i + 1
			return c.epBases[i]
		}
	}
	// Not reachable: the Cluster and Local endpoints are all reachable.
	prefix := len(c.hashIn)
	c.hashIn = appendNFTEndpointSuffix(c.hashIn, ep)
	c.b = appendNFTHashAndTruncate(c.b[:0], c.hashIn)
	c.hashIn = c.hashIn[:prefix]
	return c.str(c.b)
}

func (c *nftCtx) servicePort(sp *ServicePort, origin int32) {
	t, opts := c.t, c.opts
	c.hashIn = appendNFTServiceName(c.hashIn[:0], sp)
	c.base = appendNFTHashAndTruncate(c.base[:0], c.hashIn)
	names := nftChainNames{c: c}
	proto := sp.ProtoLower
	cat := CategorizeEndpoints(sp, opts.NodeName, opts.NodeZone)
	affinity := sp.SessionAffinity

	// With affinity every endpoint gets a chain and an affinity set, which
	// share one name base.
	if affinity {
		c.endpointBases(cat.AllReachable)
		c.epChains = c.epChains[:0]
	}
	for i, ep := range cat.AllReachable {
		if affinity {
			c.epChains = append(c.epChains, t.NewChain(c.cat(NFTPrefixEndpoint, c.epBases[i])))
		}
		if ep.IsLocal {
			b := ep.IP.AppendTo(c.b[:0])
			b = ep.IP.AppendTo(append(b, " . "...))
			b = append(append(append(b, " . "...), proto...), " . "...)
			c.b = strconv.AppendInt(b, int64(ep.Port), 10)
			c.hairpin.AddElement(ir.NFTElement{Key: c.str(c.b), Origin: origin})
		}
	}

	reach := cat.Reach(sp)
	usesClusterChain, usesLocalChain := reach.ClusterSet, reach.LocalSet
	var clusterChain, localChain, extChain *ir.NFTChain
	if usesClusterChain {
		clusterChain = t.NewChain(names.Service())
	}
	if usesLocalChain {
		localChain = t.NewChain(names.Local())
	}
	hasInternal, hasExternal, usesExternalChain := reach.Internal, reach.External, reach.ExternalChain
	if usesExternalChain {
		extChain = t.NewChain(names.External())
	}

	var internalVerdict, externalVerdict string
	if !cat.HasAny {
		internalVerdict = c.rejectGoto
		externalVerdict = internalVerdict
	} else {
		if !hasInternal {
			internalVerdict = "drop"
		}
		if !hasExternal {
			externalVerdict = "drop"
		}
	}

	c.b = sp.ClusterIP.AppendTo(c.b[:0])
	c.clusterIPs.AddElement(ir.NFTElement{Key: c.str(c.b), Origin: origin})
	if hasInternal {
		internalChain := names.Service()
		if sp.InternalPolicyLocal {
			internalChain = names.Local()
		}
		c.serviceIPs.AddElement(ir.NFTElement{Key: c.key3(sp.ClusterIP, proto, sp.Port),
			Value: c.cat("goto ", internalChain), Origin: origin})
	} else {
		c.noEndpointServices.AddElement(ir.NFTElement{Key: c.key3(sp.ClusterIP, proto, sp.Port), Comment: sp.NameString,
			Value: internalVerdict, Origin: origin})
	}

	var toExternal string
	if cat.HasAny {
		toExternal = c.cat("goto ", names.External())
	}
	for _, eip := range sp.ExternalIPs {
		k := c.key3(eip, proto, sp.Port)
		if cat.HasAny {
			c.serviceIPs.AddElement(ir.NFTElement{Key: k, Value: toExternal, Origin: origin})
		}
		if !hasExternal {
			c.noEndpointServices.AddElement(ir.NFTElement{Key: k, Comment: sp.NameString, Value: externalVerdict, Origin: origin})
		}
	}

	// Unlike iptables mode, the firewall is set up even when the service
	// has no endpoints.
	usesFirewall := len(sp.LoadBalancerVIPs) > 0 && len(sp.SourceRanges) > 0
	var fwChain *ir.NFTChain
	var toFirewall string
	if usesFirewall {
		fwChain = t.NewChain(names.Firewall())
		toFirewall = c.cat("goto ", names.Firewall())
	}
	for _, vip := range sp.LoadBalancerVIPs {
		k := c.key3(vip, proto, sp.Port)
		if cat.HasAny {
			c.serviceIPs.AddElement(ir.NFTElement{Key: k, Value: toExternal, Origin: origin})
		}
		if usesFirewall {
			c.firewallIPs.AddElement(ir.NFTElement{Key: k, Value: toFirewall, Origin: origin})
		}
	}
	if !hasExternal {
		for _, vip := range sp.LoadBalancerVIPs {
			c.noEndpointServices.AddElement(ir.NFTElement{Key: c.key3(vip, proto, sp.Port), Comment: sp.NameString,
				Value: externalVerdict, Origin: origin})
		}
	}

	if sp.NodePort != 0 {
		c.b = strconv.AppendInt(append(append(c.b[:0], proto...), " . "...), int64(sp.NodePort), 10)
		k := c.str(c.b)
		if cat.HasAny {
			c.serviceNodePorts.AddElement(ir.NFTElement{Key: k, Value: toExternal, Origin: origin})
		}
		if !hasExternal {
			c.noEndpointNodePorts.AddElement(ir.NFTElement{Key: k, Comment: sp.NameString, Value: externalVerdict, Origin: origin})
		}
	}

	if usesExternalChain {
		if !sp.ExternalPolicyLocal {
			// Endpoints may be on other nodes: masquerade.
			extChain.AddRule(origin, c.masqRule, "masquerade")
		} else {
			// Pod and host traffic to an external address is not subject
			// to the traffic policy, as if it went out to the load
			// balancer and came back.
			if c.detector.Implemented() {
				extChain.AddRule(origin, c.cat(c.ifLocal, " goto ", names.Service()), "short-circuit pod traffic")
			}
			extChain.AddRule(origin, c.cat("fib saddr type local ", c.masqRule), "masquerade local traffic")
			extChain.AddRule(origin, c.cat("fib saddr type local goto ", names.Service()), "short-circuit local traffic")
		}
		if hasExternal {
			externalPolicyChain := names.Service()
			if sp.ExternalPolicyLocal {
				externalPolicyChain = names.Local()
			}
			extChain.AddRule(origin, c.cat("goto ", externalPolicyChain), "")
		}
	}

	if usesFirewall {
		c.firewallRule(sp, origin, fwChain)
	}

	if affinity {
		for i := range cat.AllReachable {
			s := t.NewSet(c.cat(NFTPrefixAffinity, c.epBases[i]), c.addrType, "")
			s.Flags = c.affinityFlags
			s.Timeout = sp.StickyMaxAgeSeconds
		}
		if usesClusterChain {
			c.endpointJumps(origin, clusterChain, cat.AllReachable, cat.Cluster)
		}
		if usesLocalChain {
			c.endpointJumps(origin, localChain, cat.AllReachable, cat.Local)
		}
		for i, ep := range cat.AllReachable {
			ch := c.epChains[i]
			ch.AddRule(origin, c.cat("update @", NFTPrefixAffinity, c.epBases[i], " { ", c.ipX, " saddr }"), "")
			ch.AddRule(origin, c.cat("meta l4proto ", proto, " dnat to ", ep.String), "")
		}
		return
	}
	if usesClusterChain {
		c.endpointDNAT(sp, origin, clusterChain, cat.Cluster)
	}
	if usesLocalChain {
		c.endpointDNAT(sp, origin, localChain, cat.Local)
	}
}

// firewallRule drops traffic to the LB IPs from outside the source ranges.
// When a range covers the node IP, the LB IPs are allowed too: traffic from
// the node to a VIP that is bound locally arrives with the VIP as source.
func (c *nftCtx) firewallRule(sp *ServicePort, origin int32, chain *ir.NFTChain) {
	b := append(append(c.b[:0], c.ipX...), " saddr != { "...)
	allowFromNode := false
	for i, r := range sp.SourceRanges {
		if i > 0 {
			b = append(b, " , "...)
		}
		b = r.AppendTo(b)
		if r.Contains(c.nodeIP) {
			allowFromNode = true
		}
	}
	if allowFromNode {
		for _, vip := range sp.LoadBalancerVIPs {
			b = vip.AppendTo(append(b, " , "...))
		}
	}
	c.b = append(b, " } drop"...)
	chain.AddRule(origin, c.str(c.b), "")
}

// endpointDNAT writes the one rule of a policy chain without affinity:
// DNAT to an endpoint picked by "numgen random mod N".
func (c *nftCtx) endpointDNAT(sp *ServicePort, origin int32, chain *ir.NFTChain, eps []*Endpoint) {
	b := append(append(c.b[:0], "meta l4proto "...), sp.ProtoLower...)
	b = append(append(append(b, " dnat "...), c.ipX...), " addr . port to numgen random mod "...)
	b = strconv.AppendInt(b, int64(len(eps)), 10)
	b = append(b, " map { "...)
	for i, ep := range eps {
		if i > 0 {
			b = append(b, " , "...)
		}
		b = strconv.AppendInt(b, int64(i), 10)
		b = ep.IP.AppendTo(append(b, " : "...))
		b = strconv.AppendInt(append(b, " . "...), int64(ep.Port), 10)
	}
	c.b = append(b, " }"...)
	chain.AddRule(origin, c.str(c.b), "")
}

// endpointJumps writes a policy chain with ClientIP affinity: a jump to
// each endpoint whose affinity set holds the source, then a random pick.
// all are the endpoints whose name bases endpointBases computed.
func (c *nftCtx) endpointJumps(origin int32, ch *ir.NFTChain, all, eps []*Endpoint) {
	for _, ep := range eps {
		base := c.epBase(all, ep)
		ch.AddRule(origin, c.cat(c.ipX, " saddr @", NFTPrefixAffinity, base, " goto ", NFTPrefixEndpoint, base), "")
	}
	b := strconv.AppendInt(append(c.b[:0], "numgen random mod "...), int64(len(eps)), 10)
	b = append(b, " vmap { "...)
	for i, ep := range eps {
		if i > 0 {
			b = append(b, " , "...)
		}
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(append(b, " : goto "...), NFTPrefixEndpoint...)
		b = append(b, c.epBase(all, ep)...)
	}
	c.b = append(b, " }"...)
	ch.AddRule(origin, c.str(c.b), "")
}

// SnapshotServiceCIDRs returns the CIDRs of the snapshot's ServiceCIDR
// objects, as the nftables proxier learns them: each CIDR once. kube-proxy
// passes them on in no particular order; kubeproxyc takes the objects in
// name order and each object's CIDRs in their order, so that the output
// does not depend on the order of the input.
func SnapshotServiceCIDRs(snap *Snapshot) []string {
	objs := append([]*ServiceCIDRObj(nil), snap.ServiceCIDRs...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		for _, c := range o.CIDRs {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}
