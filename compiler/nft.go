package compiler

import (
	"fmt"
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
	opts     *Options
	t        *ir.NFT
	ipX      string // "ip" or "ip6"
	addrType string // "ipv4_addr" or "ipv6_addr"
	masqRule string // "mark set mark or 0x00004000"
	detector LocalDetector
	nodeIP   string

	clusterIPs, hairpin                       *ir.NFTSet
	serviceIPs, serviceNodePorts, firewallIPs *ir.NFTSet
	noEndpointServices, noEndpointNodePorts   *ir.NFTSet

	b strings.Builder // scratch for rule and element text
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
		opts:     opts,
		ipX:      "ip",
		addrType: "ipv4_addr",
		masqRule: "mark set mark or " + MasqueradeMark(opts.MasqueradeBit),
		detector: opts.LocalDetector(),
		nodeIP:   opts.PrimaryNodeIP().String(),
	}
	if opts.Family == IPv6 {
		c.ipX, c.addrType = "ip6", "ipv6_addr"
	}
	c.t = ir.NewNFT(c.ipX, NFTTable, "rules for kube-proxy")
	c.setup(cidrs)
	for _, sp := range m.ServicePorts {
		c.t.Origins = append(c.t.Origins, ir.Origin{ServicePort: sp.NameString, File: sp.Pos.File, Line: sp.Pos.Line})
		c.servicePort(sp, int32(len(c.t.Origins)))
	}
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

// key3 returns "ip . proto . port", the key of the per-address maps.
func key3(ip, proto, port string) string {
	return ip + " . " + proto + " . " + port
}

func (c *nftCtx) servicePort(sp *ServicePort, origin int32) {
	t, opts := c.t, c.opts
	names := NFTChains(sp)
	proto := sp.ProtoLower
	port := strconv.Itoa(sp.Port)
	cat := CategorizeEndpoints(sp, opts.NodeName, opts.NodeZone)
	affinity := sp.SessionAffinity

	// With affinity every endpoint gets a chain and an affinity set, which
	// share one name base.
	var epBase map[*Endpoint]string
	if affinity {
		epBase = make(map[*Endpoint]string, len(cat.AllReachable))
	}
	for _, ep := range cat.AllReachable {
		if affinity {
			epBase[ep] = NFTEndpointNameBase(sp, ep)
			t.AddChain(NFTPrefixEndpoint + epBase[ep])
		}
		if ep.IsLocal {
			ip := ep.IP.String()
			c.hairpin.AddElement(ir.NFTElement{
				Key:    ip + " . " + ip + " . " + proto + " . " + strconv.Itoa(ep.Port),
				Origin: origin,
			})
		}
	}

	reach := cat.Reach(sp)
	usesClusterChain, usesLocalChain := reach.ClusterSet, reach.LocalSet
	if usesClusterChain {
		t.AddChain(names.Service)
	}
	if usesLocalChain {
		t.AddChain(names.Local)
	}
	hasInternal, hasExternal, usesExternalChain := reach.Internal, reach.External, reach.ExternalChain
	internalChain, externalPolicyChain := names.Service, names.Service
	if sp.InternalPolicyLocal {
		internalChain = names.Local
	}
	if sp.ExternalPolicyLocal {
		externalPolicyChain = names.Local
	}
	if usesExternalChain {
		t.AddChain(names.External)
	}

	var internalVerdict, externalVerdict string
	if !cat.HasAny {
		internalVerdict = "goto " + nftRejectChain
		externalVerdict = internalVerdict
	} else {
		if !hasInternal {
			internalVerdict = "drop"
		}
		if !hasExternal {
			externalVerdict = "drop"
		}
	}

	cip := sp.ClusterIP.String()
	c.clusterIPs.AddElement(ir.NFTElement{Key: cip, Origin: origin})
	if hasInternal {
		c.serviceIPs.AddElement(ir.NFTElement{Key: key3(cip, proto, port), Value: "goto " + internalChain, Origin: origin})
	} else {
		c.noEndpointServices.AddElement(ir.NFTElement{Key: key3(cip, proto, port), Comment: sp.NameString,
			Value: internalVerdict, Origin: origin})
	}

	toExternal := "goto " + names.External
	for _, eip := range sp.ExternalIPs {
		k := key3(eip.String(), proto, port)
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
	if usesFirewall {
		t.AddChain(names.Firewall)
	}
	for _, vip := range sp.LoadBalancerVIPs {
		k := key3(vip.String(), proto, port)
		if cat.HasAny {
			c.serviceIPs.AddElement(ir.NFTElement{Key: k, Value: toExternal, Origin: origin})
		}
		if usesFirewall {
			c.firewallIPs.AddElement(ir.NFTElement{Key: k, Value: "goto " + names.Firewall, Origin: origin})
		}
	}
	if !hasExternal {
		for _, vip := range sp.LoadBalancerVIPs {
			c.noEndpointServices.AddElement(ir.NFTElement{Key: key3(vip.String(), proto, port), Comment: sp.NameString,
				Value: externalVerdict, Origin: origin})
		}
	}

	if sp.NodePort != 0 {
		k := proto + " . " + strconv.Itoa(sp.NodePort)
		if cat.HasAny {
			c.serviceNodePorts.AddElement(ir.NFTElement{Key: k, Value: toExternal, Origin: origin})
		}
		if !hasExternal {
			c.noEndpointNodePorts.AddElement(ir.NFTElement{Key: k, Comment: sp.NameString, Value: externalVerdict, Origin: origin})
		}
	}

	if usesExternalChain {
		ext := t.Chain(names.External)
		if !sp.ExternalPolicyLocal {
			// Endpoints may be on other nodes: masquerade.
			ext.AddRule(origin, c.masqRule, "masquerade")
		} else {
			// Pod and host traffic to an external address is not subject
			// to the traffic policy, as if it went out to the load
			// balancer and came back.
			if c.detector.Implemented() {
				ext.AddRule(origin, strings.Join(c.detector.IfLocalNFT, " ")+" goto "+names.Service, "short-circuit pod traffic")
			}
			ext.AddRule(origin, "fib saddr type local "+c.masqRule, "masquerade local traffic")
			ext.AddRule(origin, "fib saddr type local goto "+names.Service, "short-circuit local traffic")
		}
		if hasExternal {
			ext.AddRule(origin, "goto "+externalPolicyChain, "")
		}
	}

	if usesFirewall {
		c.firewallRule(sp, origin, names.Firewall)
	}

	if affinity {
		for _, ep := range cat.AllReachable {
			s := t.AddSet(NFTPrefixAffinity+epBase[ep], c.addrType, "")
			s.Flags = []string{"dynamic", "timeout"}
			s.Timeout = sp.StickyMaxAgeSeconds
		}
		if usesClusterChain {
			c.endpointJumps(origin, names.Service, cat.Cluster, epBase)
		}
		if usesLocalChain {
			c.endpointJumps(origin, names.Local, cat.Local, epBase)
		}
		for _, ep := range cat.AllReachable {
			ch := t.Chain(NFTPrefixEndpoint + epBase[ep])
			ch.AddRule(origin, "update @"+NFTPrefixAffinity+epBase[ep]+" { "+c.ipX+" saddr }", "")
			ch.AddRule(origin, "meta l4proto "+proto+" dnat to "+ep.String, "")
		}
		return
	}
	if usesClusterChain {
		c.endpointDNAT(sp, origin, names.Service, cat.Cluster)
	}
	if usesLocalChain {
		c.endpointDNAT(sp, origin, names.Local, cat.Local)
	}
}

// firewallRule drops traffic to the LB IPs from outside the source ranges.
// When a range covers the node IP, the LB IPs are allowed too: traffic from
// the node to a VIP that is bound locally arrives with the VIP as source.
func (c *nftCtx) firewallRule(sp *ServicePort, origin int32, chain string) {
	b := &c.b
	b.Reset()
	b.WriteString(c.ipX)
	b.WriteString(" saddr != { ")
	nodeIP := c.opts.PrimaryNodeIP()
	allowFromNode := false
	for i, r := range sp.SourceRanges {
		if i > 0 {
			b.WriteString(" , ")
		}
		b.WriteString(r.String())
		if r.Contains(nodeIP) {
			allowFromNode = true
		}
	}
	if allowFromNode {
		for _, vip := range sp.LoadBalancerVIPs {
			b.WriteString(" , ")
			b.WriteString(vip.String())
		}
	}
	b.WriteString(" } drop")
	c.t.Chain(chain).AddRule(origin, b.String(), "")
}

// endpointDNAT writes the one rule of a policy chain without affinity:
// DNAT to an endpoint picked by "numgen random mod N".
func (c *nftCtx) endpointDNAT(sp *ServicePort, origin int32, chain string, eps []*Endpoint) {
	b := &c.b
	b.Reset()
	b.WriteString("meta l4proto ")
	b.WriteString(sp.ProtoLower)
	b.WriteString(" dnat ")
	b.WriteString(c.ipX)
	b.WriteString(" addr . port to numgen random mod ")
	b.WriteString(strconv.Itoa(len(eps)))
	b.WriteString(" map { ")
	for i, ep := range eps {
		if i > 0 {
			b.WriteString(" , ")
		}
		b.WriteString(strconv.Itoa(i))
		b.WriteString(" : ")
		b.WriteString(ep.IP.String())
		b.WriteString(" . ")
		b.WriteString(strconv.Itoa(ep.Port))
	}
	b.WriteString(" }")
	c.t.Chain(chain).AddRule(origin, b.String(), "")
}

// endpointJumps writes a policy chain with ClientIP affinity: a jump to
// each endpoint whose affinity set holds the source, then a random pick.
func (c *nftCtx) endpointJumps(origin int32, chain string, eps []*Endpoint, base map[*Endpoint]string) {
	ch := c.t.Chain(chain)
	for _, ep := range eps {
		ch.AddRule(origin, c.ipX+" saddr @"+NFTPrefixAffinity+base[ep]+" goto "+NFTPrefixEndpoint+base[ep], "")
	}
	b := &c.b
	b.Reset()
	b.WriteString("numgen random mod ")
	b.WriteString(strconv.Itoa(len(eps)))
	b.WriteString(" vmap { ")
	for i, ep := range eps {
		if i > 0 {
			b.WriteString(" , ")
		}
		b.WriteString(strconv.Itoa(i))
		b.WriteString(" : goto ")
		b.WriteString(NFTPrefixEndpoint)
		b.WriteString(base[ep])
	}
	b.WriteString(" }")
	ch.AddRule(origin, b.String(), "")
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
