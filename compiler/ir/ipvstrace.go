package ir

import (
	"net/netip"
	"strconv"
	"strings"
)

// This file traces packets through kube-proxy's IPVS mode: the iptables
// rules it writes (with kube-proxy's jumps from the built-in chains, and
// -m set matches looked up in its ipsets), then the IPVS virtual server
// the packet is addressed to, which picks a real server. IPVS sees the
// packet after the filter table's INPUT chain (for a packet from the
// node, after OUTPUT): the service addresses are bound to the dummy
// interface, so they are the node's own. The real server is then reached
// through POSTROUTING, where kube-proxy's masquerade rules apply. Each
// real server is an outcome with its share of the weights: what the
// round-robin and weighted schedulers give over many connections; the
// hashing schedulers (sh, mh, dh) pick one real server per client
// instead, which the notes say.

// IPVSTracer traces packets through one IPVS-mode program.
type IPVSTracer struct {
	p       *IPVS
	ipt     *IPTablesTracer
	servers map[vsKey]*VirtualServer
}

type vsKey struct {
	addr  netip.Addr
	port  uint16
	proto string
}

// NewIPVSTracer prepares an IPVS-mode program for tracing.
func NewIPVSTracer(p *IPVS) (*IPVSTracer, error) {
	prog := withJumps(p.IPTables, p.Jumps)
	ipt, err := NewIPTablesTracer(prog, func(t *Table, i int) string {
		if o := t.Rules[i].Origin; o > 0 && int(o) <= len(prog.Origins) {
			return prog.Origins[o-1].String()
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	ipt.sets = map[string]*IPSet{}
	for i := range p.Sets {
		ipt.sets[p.Sets[i].Name] = &p.Sets[i]
	}
	tr := &IPVSTracer{p: p, ipt: ipt, servers: map[vsKey]*VirtualServer{}}
	for i := range p.VirtualServers {
		v := &p.VirtualServers[i]
		tr.servers[vsKey{v.Address, v.Port, strings.ToLower(v.Protocol)}] = v
	}
	return tr, nil
}

// withJumps returns a copy of the payload with the built-in chains kube-
// proxy jumps from and its jump rules (each inserted at the top, so in
// reverse order), then the payload's own chains and rules.
func withJumps(p *IPTables, jumps []JumpRule) *IPTables {
	out := &IPTables{Origins: p.Origins, Header: p.Header}
	for _, t := range p.Tables {
		nt := NewTable(t.Name)
		declared := map[string]bool{}
		for _, name := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
			for _, j := range jumps {
				if j.Table == t.Name && j.Chain == name && !declared[name] {
					declared[name] = true
					nt.AddBuiltinChain(name, "ACCEPT")
				}
			}
		}
		for i := len(jumps) - 1; i >= 0; i-- {
			if j := jumps[i]; j.Table == t.Name {
				nt.AddRule(0, j.Chain, "-m comment --comment "+QuoteArg(j.Comment, true)+" -j "+j.Target)
			}
		}
		nt.Chains = append(nt.Chains, t.Chains...)
		for i, r := range t.Rules {
			nt.AddRule(r.Origin, r.Chain, t.Args(i))
		}
		out.Tables = append(out.Tables, nt)
	}
	return out
}

// Trace follows pkt through the rules and the virtual servers.
func (tr *IPVSTracer) Trace(pkt Packet, node NodeContext) *TraceResult {
	node.LocalAddrs = append(append([]netip.Addr(nil), node.LocalAddrs...), tr.p.Addresses...)
	t := &tracing{tr: tr.ipt, node: &node, noted: map[string]bool{}}
	res := &TraceResult{Packet: pkt}
	branches := []*pathState{{pkt: pkt, prob: 1}}
	run := func(list []*pathState, hook string) []*pathState {
		var next []*pathState
		for _, b := range list {
			if b.done {
				next = append(next, b)
				continue
			}
			next = append(next, t.hook(b, hook)...)
		}
		return next
	}
	var delivered []*pathState
	if node.FromNode {
		branches = run(branches, "OUTPUT")
	} else {
		branches = run(branches, "PREROUTING")
		var local, forward []*pathState
		for _, b := range branches {
			if !b.done && node.isLocal(b.pkt.Dst) {
				local = append(local, b)
			} else {
				forward = append(forward, b)
			}
		}
		branches = append(run(local, "INPUT"), run(forward, "FORWARD")...)
	}
	var next []*pathState
	for _, b := range branches {
		if b.done || b.dnat {
			next = append(next, b)
			continue
		}
		balanced, ok := tr.balance(t, b)
		if !ok {
			if node.isLocal(b.pkt.Dst) {
				delivered = append(delivered, b)
			} else {
				next = append(next, b)
			}
			continue
		}
		next = append(next, balanced...)
	}
	branches = append(delivered, run(next, "POSTROUTING")...)
	for _, b := range branches {
		res.Outcomes = append(res.Outcomes, b.outcome())
	}
	res.Notes = t.notes
	return res
}

// balance sends a packet addressed to a virtual server to each of its
// real servers; ok is false when no virtual server has the address.
func (tr *IPVSTracer) balance(t *tracing, b *pathState) ([]*pathState, bool) {
	v := tr.servers[vsKey{b.pkt.Dst, b.pkt.DstPort, b.pkt.Proto}]
	if v == nil {
		return nil, false
	}
	name := v.Protocol + " " + netip.AddrPortFrom(v.Address, v.Port).String()
	origin := ""
	if v.Origin > 0 && int(v.Origin) <= len(tr.p.Origins) {
		origin = tr.p.Origins[v.Origin-1].String()
	}
	head := "virtual server " + name + " scheduler " + v.Scheduler
	if v.Persistent {
		head += " persistent " + strconv.Itoa(int(v.Timeout))
	}
	if len(v.RealServers) == 0 {
		// IPVS answers a connection to a service without destinations
		// with ICMP port unreachable (ip_vs_leave).
		b.steps = append(b.steps, Step{Kind: StepElement, Table: "ipvs", Chain: name, Text: head + ", no real servers", Origin: origin})
		b.done, b.verdict, b.reason = true, VerdictReject, "virtual server "+name+" has no real servers"
		return []*pathState{b}, true
	}
	switch v.Scheduler {
	case "sh", "mh", "dh", "lblc", "lblcr":
		t.note("virtual server %s uses the %s scheduler, which picks one real server per client (or destination); the shares shown are over many clients", name, v.Scheduler)
	}
	total := 0
	for _, rs := range v.RealServers {
		total += max(rs.Weight, 0)
	}
	var out []*pathState
	for _, rs := range v.RealServers {
		if rs.Weight <= 0 || total == 0 {
			continue
		}
		s := b.clone()
		s.prob *= float64(rs.Weight) / float64(total)
		dst := netip.AddrPortFrom(rs.Address, rs.Port)
		s.steps = append(s.steps, Step{Kind: StepElement, Table: "ipvs", Chain: name,
			Text: head + ": real server " + dst.String() + " weight " + strconv.Itoa(rs.Weight), Origin: origin})
		s.pkt.Dst, s.pkt.DstPort, s.dnat = rs.Address, rs.Port, true
		if v.Persistent {
			s.affinity = "IPVS persistence of " + name
			if s.seconds == nil {
				s.seconds = map[string]int{}
			}
			s.seconds[s.affinity] = int(v.Timeout)
		}
		out = append(out, s)
	}
	return out, true
}

// setContains looks a packet up in an ipset, as -m set --match-set NAME
// FLAGS does: FLAGS names, per dimension of the set's type, which of the
// packet's addresses (or ports) to take, src or dst.
func setContains(set *IPSet, flags string, pkt *Packet) bool {
	dirs := strings.Split(flags, ",")
	dims := strings.Split(strings.TrimPrefix(strings.TrimPrefix(set.Type, "hash:"), "bitmap:"), ",")
	if len(dirs) < len(dims) {
		return false
	}
	for _, e := range set.Entries {
		parts := strings.Split(e, ",")
		if len(parts) != len(dims) {
			continue
		}
		if entryMatches(dims, dirs, parts, pkt) {
			return true
		}
	}
	return false
}

func entryMatches(dims, dirs, parts []string, pkt *Packet) bool {
	for i, d := range dims {
		src := dirs[i] == "src"
		addr, port := pkt.Dst, pkt.DstPort
		if src {
			addr, port = pkt.Src, pkt.SrcPort
		}
		switch d {
		case "ip", "net":
			p, err := parsePrefix(parts[i])
			if err != nil || !p.Contains(addr) {
				return false
			}
		case "port":
			proto, num, ok := strings.Cut(parts[i], ":")
			if !ok {
				num, proto = parts[i], pkt.Proto
			}
			n, err := strconv.ParseUint(num, 10, 16)
			if err != nil || proto != pkt.Proto || uint16(n) != port {
				return false
			}
		default:
			return false
		}
	}
	return true
}
