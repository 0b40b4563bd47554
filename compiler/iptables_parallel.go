package compiler

import (
	"runtime"
	"sync"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// parallelMinEndpoints is the model size from which lowering is split
// across CPUs; below it starting goroutines costs more than it saves.
// (A variable so that tests can split small models.)
var parallelMinEndpoints = 20000

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
	runs := splitRuns(m.ServicePorts, m.TotalEndpoints, runtime.GOMAXPROCS(0))
	c.reserve(m.ServicePorts)
	if len(runs) == 1 {
		c.lowerRun(m.ServicePorts, 0)
		return
	}
	parts := make([]*iptablesCtx, len(runs))
	var wg sync.WaitGroup
	for i := 1; i < len(runs); i++ {
		part := *c
		part.filter, part.nat, part.seps = ir.NewTable("filter"), ir.NewTable("nat"), sepNames{}
		parts[i] = &part
		wg.Add(1)
		go func(p *iptablesCtx, r run) {
			defer wg.Done()
			p.reserve(m.ServicePorts[r.from:r.to])
			p.lowerRun(m.ServicePorts[r.from:r.to], r.from)
		}(parts[i], runs[i])
	}
	c.lowerRun(m.ServicePorts[:runs[0].to], 0)
	wg.Wait()
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

// run is a range of service ports, [from, to).
type run struct{ from, to int }

// splitRuns cuts the service ports into at most n runs of about equal
// numbers of endpoints; small models get one run.
func splitRuns(sps []*ServicePort, total, n int) []run {
	if n < 2 || total < parallelMinEndpoints {
		return []run{{0, len(sps)}}
	}
	var out []run
	from, acc := 0, 0
	for i, sp := range sps {
		acc += len(sp.Endpoints) + 1
		if len(out) < n-1 && acc*n >= (total+len(sps))*(len(out)+1) {
			out = append(out, run{from, i + 1})
			from = i + 1
		}
	}
	return append(out, run{from, len(sps)})
}
