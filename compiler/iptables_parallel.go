package compiler

import (
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// lowerServicePorts writes every service port's rules, in model order.
// A big model is cut into one run of consecutive service ports per CPU,
// of about equal numbers of endpoints. The first run is written into the
// context's own tables while the others are written into tables of their
// own, which are then appended in order: the same bytes as one pass.
func (c *iptablesCtx) lowerServicePorts(m *Model, prog *ir.IPTables) {
	prog.Origins = make([]ir.Origin, 0, len(m.ServicePorts))
	for _, sp := range m.ServicePorts {
		prog.Origins = append(prog.Origins, ir.Origin{ServicePort: sp.NameString, File: sp.Pos.File, Line: sp.Pos.Line})
	}
	sps := m.ServicePorts
	runs := splitRuns(len(sps), m.TotalEndpoints+len(sps), procs(), func(i int) int { return len(sps[i].Endpoints) + 1 })
	c.reserve(sps)
	parts := make([]*iptablesCtx, len(runs))
	parts[0] = c
	for k := 1; k < len(runs); k++ {
		part := *c
		part.filter, part.nat, part.seps = ir.NewTable("filter"), ir.NewTable("nat"), sepNames{}
		parts[k] = &part
	}
	inParallel(runs, func(k int, r run) {
		if k > 0 {
			parts[k].reserve(sps[r.from:r.to])
		}
		parts[k].lowerRun(sps[r.from:r.to], r.from)
	})
	for _, p := range parts[1:] {
		c.filter.Append(p.filter)
		c.nat.Append(p.nat)
	}
}

// lowerRun writes the rules of consecutive service ports, the first of
// which is service port number first of the model.
func (c *iptablesCtx) lowerRun(sps []*ServicePort, first int) {
	for i, sp := range sps {
		c.servicePort(sp, int32(first+i+1))
	}
}
