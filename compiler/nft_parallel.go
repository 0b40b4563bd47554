package compiler

import "github.com/kubeproxyc/kubeproxyc/compiler/ir"

// lowerServicePorts writes every service port's chains, rules, sets and
// elements, in model order. A big model is cut into runs of consecutive
// service ports as in iptables mode (splitRuns): the first run is written
// into the table itself, each other one into a part of its own, and the
// parts are then added in order, which gives the table one pass gives.
func (c *nftCtx) lowerServicePorts(m *Model) {
	sps := m.ServicePorts
	runs := splitRuns(len(sps), m.TotalEndpoints+len(sps), procs(), func(i int) int { return len(sps[i].Endpoints) + 1 })
	parts := make([]*nftCtx, len(runs))
	parts[0] = c
	for k := 1; k < len(runs); k++ {
		parts[k] = c.part()
	}
	inParallel(runs, func(k int, r run) { parts[k].lowerRun(sps[r.from:r.to], r.from) })
	for _, p := range parts[1:] {
		c.add(p)
	}
}

// lowerRun writes consecutive service ports, the first of which is
// service port number first of the model.
func (c *nftCtx) lowerRun(sps []*ServicePort, first int) {
	for i, sp := range sps {
		c.servicePort(sp, int32(first+i+1))
	}
}

// part returns a context that writes service ports into a table of its
// own. The table-wide sets and maps service ports add elements to are
// stand-ins outside that table, of the same names; add moves their
// elements into the real ones.
func (c *nftCtx) part() *nftCtx {
	p := &nftCtx{
		opts:          c.opts,
		t:             ir.NewNFT(c.t.Family, c.t.Name, ""),
		ipX:           c.ipX,
		addrType:      c.addrType,
		masqRule:      c.masqRule,
		detector:      c.detector,
		ifLocal:       c.ifLocal,
		nodeIP:        c.nodeIP,
		rejectGoto:    c.rejectGoto,
		affinityFlags: c.affinityFlags,
	}
	shared := c.sharedSets()
	mine := p.sharedSets()
	for i, s := range shared {
		*mine[i] = &ir.NFTSet{Name: (*s).Name, Type: (*s).Type}
	}
	return p
}

// sharedSets lists the fields holding the table-wide sets and maps that
// service ports add elements to.
func (c *nftCtx) sharedSets() []**ir.NFTSet {
	return []**ir.NFTSet{&c.clusterIPs, &c.hairpin, &c.serviceIPs, &c.serviceNodePorts, &c.firewallIPs,
		&c.noEndpointServices, &c.noEndpointNodePorts}
}

// add appends what the part p wrote after what c wrote: its chains and
// sets (all new: their names hold their service port's), and the elements
// of its stand-in sets, added to the real ones in order (so that a key
// both wrote ends as the later one left it, as in one pass).
func (c *nftCtx) add(p *nftCtx) {
	c.t.Chains = append(c.t.Chains, p.t.Chains...)
	c.t.Sets = append(c.t.Sets, p.t.Sets...)
	c.t.Maps = append(c.t.Maps, p.t.Maps...)
	mine := c.sharedSets()
	for i, s := range p.sharedSets() {
		dst := *mine[i]
		for _, e := range (*s).Elements {
			dst.AddElement(e)
		}
	}
}
