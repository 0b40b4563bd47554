package tools

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// BehaviourSide is one side of a behaviour diff: a ruleset ready to trace,
// with the model it was compiled from (nil for a dump).
type BehaviourSide struct {
	Name      string
	Explainer *Explainer
}

// frontend is one address a service port is reached at.
type frontend struct {
	servicePort string
	what        string // "cluster IP", "node port", ...
	dst         netip.AddrPort
	proto       string
}

// source is where behaviour probes come from.
type source struct {
	what string
	addr netip.Addr
}

// BehaviourDiff compares what two rulesets do to packets instead of how
// they are written: for every address of every service port either side
// knows (cluster IP, external IPs, load-balancer IPs, node port on the
// node's primary IP), a first packet from a pod, from another host and
// from the node itself is traced through both, and the outcomes
// (verdict, endpoint, probability, masquerade, affinity) are compared. It
// answers "what changes if we switch proxy mode", where the rules of the
// two sides have nothing in common.
func BehaviourDiff(old, new *BehaviourSide) *DiffReport {
	rep := &DiffReport{Old: old.Name, New: new.Name}
	fronts := map[string]frontend{}
	var opts compiler.Options
	var has [2]map[string]string // service port -> where it was read, per side
	for i, side := range []*BehaviourSide{old, new} {
		e := side.Explainer
		opts = e.opts
		has[i] = map[string]string{}
		if e.model == nil {
			continue
		}
		for _, sp := range e.model.ServicePorts {
			has[i][sp.NameString] = sp.Pos.String()
			for _, f := range frontends(sp, &e.opts) {
				fronts[f.servicePort+" "+f.what+" "+f.dst.String()] = f
			}
		}
	}
	sources := probeSources(&opts, old.Explainer.model, new.Explainer.model)
	groups := map[string]*DiffGroup{}
	for _, k := range sortedKeys(fronts) {
		f := fronts[k]
		od := &ObjectDiff{Title: f.what + " " + f.dst.String() + "/" + f.proto, Status: "changed"}
		for _, src := range sources {
			if src.addr.Is4() != f.dst.Addr().Is4() {
				continue
			}
			p := Probe{Src: src.addr, Dst: f.dst.Addr(), DstPort: f.dst.Port(), Proto: f.proto}
			a := summarize(old.Explainer.Explain(p))
			b := summarize(new.Explainer.Explain(p))
			if a != b {
				od.Lines = append(od.Lines, DiffLine{"-", "from " + src.what + ": " + a}, DiffLine{"+", "from " + src.what + ": " + b})
			}
		}
		if len(od.Lines) == 0 {
			continue
		}
		g := groups[f.servicePort]
		if g == nil {
			oldPos, inOld := has[0][f.servicePort]
			newPos, inNew := has[1][f.servicePort]
			g = &DiffGroup{ServicePort: f.servicePort, Status: "changed", OldOrigin: oldPos, NewOrigin: newPos}
			switch {
			case !inOld && inNew && old.Explainer.model != nil:
				g.Status = "added"
			case inOld && !inNew && new.Explainer.model != nil:
				g.Status = "removed"
			}
			groups[f.servicePort] = g
		}
		g.Objects = append(g.Objects, od)
		g.Added += len(od.Lines) / 2
		g.Removed += len(od.Lines) / 2
	}
	for _, k := range sortedKeys(groups) {
		rep.Groups = append(rep.Groups, groups[k])
	}
	return rep
}

// frontends lists the addresses a service port is reached at on the node.
func frontends(sp *compiler.ServicePort, opts *compiler.Options) []frontend {
	proto := sp.ProtoLower
	port := uint16(sp.Port)
	out := []frontend{{sp.NameString, "cluster IP", netip.AddrPortFrom(sp.ClusterIP, port), proto}}
	for _, a := range sp.ExternalIPs {
		out = append(out, frontend{sp.NameString, "external IP", netip.AddrPortFrom(a, port), proto})
	}
	for _, a := range sp.LoadBalancerVIPs {
		out = append(out, frontend{sp.NameString, "load-balancer IP", netip.AddrPortFrom(a, port), proto})
	}
	if sp.NodePort != 0 {
		out = append(out, frontend{sp.NameString, "node port", netip.AddrPortFrom(opts.PrimaryNodeIP(), uint16(sp.NodePort)), proto})
	}
	return out
}

// probeSources are a pod (an address of the pod network that is no
// endpoint of the models given, so that no hairpin rule applies), another
// host (a documentation address) and the node itself.
func probeSources(opts *compiler.Options, models ...*compiler.Model) []source {
	used := map[netip.Addr]bool{}
	for _, m := range models {
		if m == nil {
			continue
		}
		for _, sp := range m.ServicePorts {
			for _, ep := range sp.Endpoints {
				used[ep.IP] = true
			}
		}
	}
	var out []source
	for _, c := range opts.ClusterCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil || !opts.Family.Is(p.Addr()) {
			continue
		}
		a := p.Masked().Addr()
		for i := 0; i < 250; i++ {
			a = a.Next()
		}
		for p.Contains(a) && used[a] {
			a = a.Next()
		}
		if p.Contains(a) {
			out = append(out, source{"a pod (" + a.String() + ")", a})
		}
	}
	ext := netip.MustParseAddr("192.0.2.10")
	if opts.Family == compiler.IPv6 {
		ext = netip.MustParseAddr("2001:db8::10")
	}
	out = append(out, source{"another host (" + ext.String() + ")", ext})
	out = append(out, source{"the node (" + opts.PrimaryNodeIP().String() + ")", opts.PrimaryNodeIP()})
	return out
}

// summarize prints an explanation's outcomes in one line, in a form that
// does not depend on how the mode spells things: verdict, destination,
// probability, masquerade and affinity timeout.
func summarize(x *Explanation) string {
	var parts []string
	for _, o := range x.Result.Outcomes {
		s := ir.FormatProbabilityPercent(o.Probability) + " " + x.verdictWord(o)
		switch {
		case o.DNAT:
			s += " " + o.Dst.String()
		case o.Verdict == ir.VerdictAccept:
			s += " (not rewritten)"
		}
		if o.Masquerade {
			s += " masquerade"
		}
		if o.Affinity != "" {
			s += " affinity " + strconv.Itoa(o.AffinitySeconds) + "s"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
