package tools

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// Inspection is what inspect reports: one table per service port, then
// totals per proxy mode.
type Inspection struct {
	Node   string
	Mode   compiler.Mode
	Family compiler.Family
	Ports  []PortInspection
	Totals []ModeTotals
}

// PortInspection describes one service port on the node.
type PortInspection struct {
	Name, Origin string
	Type         string   // "LoadBalancer, externalTrafficPolicy Local, ..."
	Addresses    []string // "cluster IP 10.96.0.10:80/tcp", ...
	Objects      []string // chains, sets, virtual servers of the mode
	Rules        int      // rules and elements of the mode that belong to it
	Endpoints    []EndpointInspection
}

// EndpointInspection says whether the node uses an endpoint, and if not,
// why.
type EndpointInspection struct {
	Endpoint, Node, Zone, State string
	UsedFor                     string // "cluster IP, external", or ""
	WhyNot                      string
}

// ModeTotals sums up one proxy mode's program for the node.
type ModeTotals struct {
	Mode     compiler.Mode
	Rules    int // iptables rules, nftables rules, or IPVS mode's iptables rules
	Elements int // nftables set and map elements, or ipset entries
	Servers  int // IPVS virtual servers and real servers
	Bytes    int // size of the rendered program
	// WorstRules is the largest number of rules the first packet of a
	// connection is evaluated against, over the probes; WorstProbe is
	// that probe.
	WorstRules int
	WorstProbe string
	MeanRules  float64 // over every outcome of every probe
	Probes     int     // probes traced
	Addresses  int     // service addresses there are to probe
}

// maxProbeAddresses bounds the addresses inspect traces per mode; past it
// a deterministic sample is taken (every k-th address in name order, and
// the last ones, which come last in iptables' linear scan).
const maxProbeAddresses = 300

// Inspect compiles the snapshot for opts (and for the other proxy modes,
// for the totals) and describes it.
func Inspect(snap *compiler.Snapshot, opts compiler.Options) (*Inspection, error) {
	ins := &Inspection{Node: opts.NodeName, Mode: opts.Mode, Family: opts.Family}
	prog, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
	if err != nil {
		return nil, err
	}
	rs, err := ProgramRuleset("", prog)
	if err != nil {
		return nil, err
	}
	objects, items := map[string][]string{}, map[string]int{}
	for _, o := range rs.Objects {
		if o.Owner != "" {
			objects[o.Owner] = append(objects[o.Owner], o.Title())
		}
		for _, it := range o.Items {
			items[it.Owner]++
		}
	}
	for _, sp := range prog.Model.ServicePorts {
		pi := PortInspection{
			Name: sp.NameString, Origin: sp.Pos.String(), Type: serviceType(sp),
			Objects: objects[sp.NameString], Rules: items[sp.NameString],
		}
		for _, f := range frontends(sp, &opts) {
			a := f.what + " " + f.dst.String() + "/" + f.proto
			if f.what == "load-balancer IP" && len(sp.SourceRanges) > 0 {
				var rs []string
				for _, r := range sp.SourceRanges {
					rs = append(rs, r.String())
				}
				a += " (from " + strings.Join(rs, ", ") + ")"
			}
			pi.Addresses = append(pi.Addresses, a)
		}
		if sp.HealthCheckNodePort != 0 {
			pi.Addresses = append(pi.Addresses, "health check node port "+strconv.Itoa(sp.HealthCheckNodePort)+"/tcp")
		}
		pi.Endpoints = inspectEndpoints(sp, &opts)
		ins.Ports = append(ins.Ports, pi)
	}
	for _, m := range []compiler.Mode{compiler.ModeIPTables, compiler.ModeNFTables, compiler.ModeIPVS} {
		mo := opts
		mo.Mode = m
		t, err := modeTotals(snap, mo)
		if err != nil {
			return nil, fmt.Errorf("--proxy-mode %s: %w", m, err)
		}
		ins.Totals = append(ins.Totals, t)
	}
	return ins, nil
}

func serviceType(sp *compiler.ServicePort) string {
	parts := []string{string(sp.Type)}
	if sp.Type == "" {
		parts[0] = "ClusterIP"
	}
	if sp.ExternalPolicyLocal {
		parts = append(parts, "externalTrafficPolicy Local")
	}
	if sp.InternalPolicyLocal {
		parts = append(parts, "internalTrafficPolicy Local")
	}
	if sp.SessionAffinity {
		parts = append(parts, "sessionAffinity ClientIP "+strconv.Itoa(sp.StickyMaxAgeSeconds)+"s")
	}
	return strings.Join(parts, ", ")
}

// inspectEndpoints applies kube-proxy's endpoint selection and says, for
// each endpoint, what traffic uses it or why none does.
func inspectEndpoints(sp *compiler.ServicePort, opts *compiler.Options) []EndpointInspection {
	cat := compiler.CategorizeEndpoints(sp, opts.NodeName, opts.NodeZone)
	in := func(list []*compiler.Endpoint, ep *compiler.Endpoint) bool {
		for _, x := range list {
			if x == ep {
				return true
			}
		}
		return false
	}
	internal, external := cat.Cluster, cat.Cluster
	if sp.InternalPolicyLocal {
		internal = cat.Local
	}
	if sp.ExternalPolicyLocal {
		external = cat.Local
	}
	var out []EndpointInspection
	for _, ep := range sp.Endpoints {
		ei := EndpointInspection{Endpoint: ep.String, Node: ep.NodeName, Zone: ep.Zone, State: endpointState(ep)}
		var used []string
		if in(internal, ep) {
			used = append(used, "cluster IP")
		}
		if sp.ExternallyAccessible() {
			switch {
			case in(external, ep):
				used = append(used, "external")
			case sp.ExternalPolicyLocal && in(cat.Cluster, ep):
				used = append(used, "external from pods and the node")
			}
		}
		ei.UsedFor = strings.Join(used, ", ")
		switch {
		case len(used) > 0 && sp.ExternalPolicyLocal && !ep.IsLocal:
			ei.WhyNot = "not local: no external clients (externalTrafficPolicy Local)"
		case len(used) > 0 && sp.InternalPolicyLocal && !ep.IsLocal:
			ei.WhyNot = "not local: no cluster-IP traffic (internalTrafficPolicy Local)"
		case len(used) > 0:
		case !ep.Ready && ep.Serving && ep.Terminating:
			ei.WhyNot = "terminating: used only when no endpoint is ready"
		case !ep.Ready:
			ei.WhyNot = "not ready"
		case cat.Topology == compiler.TopologyPreferSameZone && !hasHint(ep.ZoneHints(), opts.NodeZone):
			ei.WhyNot = "other zone: topology hints name " + strings.Join(ep.ZoneHints(), ",")
		case cat.Topology == compiler.TopologyPreferSameNode && !hasHint(ep.NodeHints(), opts.NodeName):
			ei.WhyNot = "other node: topology hints name " + strings.Join(ep.NodeHints(), ",")
		case !ep.IsLocal && (sp.InternalPolicyLocal || sp.ExternalPolicyLocal):
			ei.WhyNot = "not local (traffic policy Local)"
		default:
			ei.WhyNot = "not used"
		}
		out = append(out, ei)
	}
	return out
}

func hasHint(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func endpointState(ep *compiler.Endpoint) string {
	var s []string
	if ep.Ready {
		s = append(s, "ready")
	} else {
		s = append(s, "not ready")
	}
	if ep.Serving && !ep.Ready {
		s = append(s, "serving")
	}
	if ep.Terminating {
		s = append(s, "terminating")
	}
	return strings.Join(s, ", ")
}

// modeTotals compiles the snapshot in one mode, counts and renders the
// program, and traces probes for the first-packet cost.
func modeTotals(snap *compiler.Snapshot, opts compiler.Options) (ModeTotals, error) {
	t := ModeTotals{Mode: opts.Mode}
	prog, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
	if err != nil {
		return t, err
	}
	cw := &countWriter{}
	switch {
	case prog.IPTables != nil:
		t.Rules = countRules(prog.IPTables)
		err = render.IPTablesRestore(cw, prog.IPTables)
	case prog.NFT != nil:
		for _, c := range prog.NFT.Chains {
			t.Rules += len(c.Rules)
		}
		for _, s := range append(append([]*ir.NFTSet(nil), prog.NFT.Sets...), prog.NFT.Maps...) {
			t.Elements += len(s.Elements)
		}
		err = render.NFT(cw, prog.NFT)
	case prog.IPVS != nil:
		t.Rules = countRules(prog.IPVS.IPTables)
		for _, v := range prog.IPVS.VirtualServers {
			t.Servers += 1 + len(v.RealServers)
		}
		for _, s := range prog.IPVS.Sets {
			t.Elements += len(s.Entries)
		}
		err = render.IPVSState(cw, prog.IPVS)
	}
	if err != nil {
		return t, err
	}
	t.Bytes = cw.n
	full, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: true})
	if err != nil {
		return t, err
	}
	ex, err := NewExplainer(full, "")
	if err != nil {
		return t, err
	}
	var fronts []frontend
	for _, sp := range prog.Model.ServicePorts {
		fronts = append(fronts, frontends(sp, &opts)...)
	}
	t.Addresses = len(fronts)
	sources := probeSources(&opts, prog.Model)
	total, outcomes := 0, 0
	for _, f := range sampleFrontends(fronts) {
		for _, src := range sources {
			p := Probe{Src: src.addr, Dst: f.dst.Addr(), DstPort: f.dst.Port(), Proto: f.proto}
			t.Probes++
			for _, o := range ex.Explain(p).Result.Outcomes {
				total += o.Evaluated
				outcomes++
				if o.Evaluated > t.WorstRules {
					t.WorstRules = o.Evaluated
					t.WorstProbe = "from " + src.what + " to " + f.what + " " + f.dst.String() + "/" + f.proto
				}
			}
		}
	}
	if outcomes > 0 {
		t.MeanRules = float64(total) / float64(outcomes)
	}
	return t, nil
}

// sampleFrontends keeps every address when there are few, else every
// k-th and the last ones.
func sampleFrontends(fronts []frontend) []frontend {
	if len(fronts) <= maxProbeAddresses {
		return fronts
	}
	const tail = 50
	k := (len(fronts) - tail) / (maxProbeAddresses - tail)
	var out []frontend
	for i := 0; i < len(fronts)-tail; i += k {
		out = append(out, fronts[i])
	}
	return append(out, fronts[len(fronts)-tail:]...)
}

func countRules(p *ir.IPTables) int {
	n := 0
	for _, t := range p.Tables {
		n += len(t.Rules)
	}
	return n
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

// WriteText writes the inspection: per service port a description and an
// endpoint table, then the totals per mode.
func (ins *Inspection) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "node %s, %s mode, %s: %d service ports\n", ins.Node, ins.Mode, ins.Family, len(ins.Ports))
	objectWord := map[compiler.Mode]string{compiler.ModeIPTables: "chains", compiler.ModeNFTables: "chains, sets, maps", compiler.ModeIPVS: "virtual servers"}[ins.Mode]
	for _, p := range ins.Ports {
		fmt.Fprintf(bw, "\n%s (%s)\n", p.Name, p.Origin)
		objs := shortTitles(p.Objects)
		if ins.Mode == compiler.ModeIPVS {
			objs = filterPrefix(p.Objects, "virtual server ")
		}
		rows := [][]string{
			{"type", p.Type},
			{"addresses", strings.Join(p.Addresses, "; ")},
			{objectWord, strings.Join(objs, " ")},
			{"rules", strconv.Itoa(p.Rules)},
		}
		if err := render.Table(bw, []string{"service port", p.Name}, rows); err != nil {
			return err
		}
		if len(p.Endpoints) == 0 {
			bw.WriteString("no endpoints\n")
			continue
		}
		var eps [][]string
		for _, e := range p.Endpoints {
			used := e.UsedFor
			if used == "" {
				used = "-"
			}
			eps = append(eps, []string{e.Endpoint, dash(e.Node), dash(e.Zone), e.State, used, e.WhyNot})
		}
		if err := render.Table(bw, []string{"endpoint", "node", "zone", "state", "used for", "why not / note"}, eps); err != nil {
			return err
		}
	}
	fmt.Fprintf(bw, "\nTotals per proxy mode (node %s, %s):\n", ins.Node, ins.Family)
	var rows [][]string
	for _, t := range ins.Totals {
		probes := strconv.Itoa(t.Probes)
		if t.Addresses > maxProbeAddresses {
			probes += " (sampled)"
		}
		rows = append(rows, []string{
			string(t.Mode), strconv.Itoa(t.Rules), strconv.Itoa(t.Elements), strconv.Itoa(t.Servers),
			strconv.Itoa(t.Bytes), strconv.Itoa(t.WorstRules), strconv.FormatFloat(t.MeanRules, 'f', 1, 64), probes,
		})
	}
	if err := render.Table(bw, []string{"mode", "rules", "set elements", "virtual+real servers", "bytes", "first packet: worst rules", "mean", "probes"}, rows); err != nil {
		return err
	}
	for _, t := range ins.Totals {
		if t.WorstProbe != "" {
			fmt.Fprintf(bw, "%s worst case: %s\n", t.Mode, t.WorstProbe)
		}
	}
	bw.WriteString("(first packet: rules evaluated, matched or not, on the way through the node; a map or set lookup counts as its one rule)\n")
	return bw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func filterPrefix(l []string, p string) []string {
	var out []string
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			out = append(out, strings.TrimPrefix(s, p))
		}
	}
	sort.Strings(out)
	return out
}

// shortTitles drops the table from object titles ("nat chain X" -> "X")
// and sorts them.
func shortTitles(l []string) []string {
	var out []string
	for _, s := range l {
		f := strings.Fields(s)
		out = append(out, f[len(f)-1])
	}
	sort.Strings(out)
	return out
}
