package tools

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// Probe is the packet explain traces: the first packet of a connection.
type Probe struct {
	Src     netip.Addr
	SrcPort uint16 // 0: any
	Dst     netip.Addr
	DstPort uint16
	Proto   string // tcp, udp or sctp
}

// ParseProbe reads explain's --from IP[:PORT] and --to IP:PORT/PROTO
// (IPv6 addresses with a port in brackets: [fd00::1]:80/tcp).
func ParseProbe(from, to string) (Probe, error) {
	var p Probe
	if ap, err := netip.ParseAddrPort(from); err == nil {
		p.Src, p.SrcPort = ap.Addr().Unmap(), ap.Port()
	} else if a, err := netip.ParseAddr(strings.Trim(from, "[]")); err == nil {
		p.Src = a.Unmap()
	} else {
		return p, fmt.Errorf("--from %q: want IP or IP:PORT", from)
	}
	hostPort, proto, ok := strings.Cut(to, "/")
	if !ok {
		return p, fmt.Errorf("--to %q: want IP:PORT/PROTO, e.g. 10.96.0.10:80/tcp", to)
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return p, fmt.Errorf("--to %q: protocol must be tcp, udp or sctp", to)
	}
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil || ap.Port() == 0 {
		return p, fmt.Errorf("--to %q: want IP:PORT/PROTO, e.g. 10.96.0.10:80/tcp", to)
	}
	p.Dst, p.DstPort, p.Proto = ap.Addr().Unmap(), ap.Port(), proto
	if p.Src.Is4() != p.Dst.Is4() {
		return p, fmt.Errorf("--from %s and --to %s are of different IP families", from, to)
	}
	return p, nil
}

func (p Probe) packet() ir.Packet {
	return ir.Packet{Src: p.Src, SrcPort: p.SrcPort, Dst: p.Dst, DstPort: p.DstPort, Proto: p.Proto}
}

// Explainer traces probes through one ruleset on one node.
type Explainer struct {
	opts  compiler.Options
	model *compiler.Model // nil when only a dump is known
	// Ruleset says what is traced, for the report header.
	Ruleset string
	tracer  tracer
	// markChain is the chain that sets the masquerade mark (iptables).
	markChain string
}

// tracer is what ir's tracers have in common.
type tracer interface {
	Trace(ir.Packet, ir.NodeContext) *ir.TraceResult
}

// NewExplainer prepares a compiled program for tracing. An iptables
// program must be compiled with CompileOptions.Standalone, so that it
// holds the built-in chains and kube-proxy's jumps from them.
func NewExplainer(prog *compiler.Program, name string) (*Explainer, error) {
	e := &Explainer{opts: prog.Options, model: prog.Model, markChain: "KUBE-MARK-MASQ"}
	var p *ir.IPTables
	switch {
	case prog.IPTables != nil:
		p = prog.IPTables
		e.Ruleset = fmt.Sprintf("the iptables rules compiled from %s", name)
	case prog.IPVS != nil:
		tr, err := ir.NewIPVSTracer(prog.IPVS)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e.tracer = tr
		e.Ruleset = fmt.Sprintf("the IPVS virtual servers, ipsets and iptables rules compiled from %s", name)
		return e, nil
	case prog.NFT != nil:
		tr, err := ir.NewNFTTracer(prog.NFT)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e.tracer = tr
		e.Ruleset = fmt.Sprintf("the nftables table %s %s compiled from %s", prog.NFT.Family, prog.NFT.Name, name)
		return e, nil
	default:
		return nil, fmt.Errorf("explain: --proxy-mode %s is not supported yet", prog.Options.Mode)
	}
	tr, err := ir.NewIPTablesTracer(p, func(t *ir.Table, i int) string {
		if o := t.Rules[i].Origin; o > 0 && int(o) <= len(p.Origins) {
			return p.Origins[o-1].String()
		}
		return ""
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e.tracer = tr
	return e, nil
}

// NewDumpExplainer prepares an iptables dump (iptables-save output, or a
// kube-proxy payload) for tracing. model, if not nil, is the snapshot the
// dump is compared with, to name the objects rules come from. A dump
// without the built-in chains (a kube-proxy payload) gets kube-proxy's
// jumps from them, as kube-proxy installs them.
func NewDumpExplainer(opts compiler.Options, model *compiler.Model, name string, data []byte) (*Explainer, error) {
	p, err := ir.ParseIPTablesSave(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e := &Explainer{opts: opts, model: model, markChain: "KUBE-MARK-MASQ", Ruleset: "the iptables rules in " + name}
	if addKubeProxyJumps(p, &opts) {
		e.Ruleset += " (with kube-proxy's jumps from the built-in chains added)"
	}
	origins := map[string]string{}
	if model != nil {
		for _, sp := range model.ServicePorts {
			origins[sp.NameString] = sp.NameString + " (" + sp.Pos.String() + ")"
		}
	}
	tr, err := ir.NewIPTablesTracer(p, func(t *ir.Table, i int) string {
		spec, err := ir.ParseRule(t.Rules[i].Chain, t.Args(i))
		if err != nil {
			return ""
		}
		owner := ownerFromComment(spec.Comment())
		if o, ok := origins[owner]; ok {
			return o
		}
		return owner
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e.tracer = tr
	return e, nil
}

// addKubeProxyJumps adds the built-in chains and kube-proxy's jump rules
// to the tables of p that lack them. It reports whether it added any.
func addKubeProxyJumps(p *ir.IPTables, opts *compiler.Options) bool {
	jumps := compiler.LowerIPTables(&compiler.Model{Family: opts.Family}, opts, true)
	added := false
	for _, jt := range jumps.Tables {
		t := p.Table(jt.Name)
		if t == nil {
			continue
		}
		has := map[string]bool{}
		for _, c := range t.Chains {
			has[c.Name] = true
		}
		for _, c := range jt.Chains {
			if c.Policy == "-" || has[c.Name] {
				continue
			}
			t.AddBuiltinChain(c.Name, c.Policy)
			for i, r := range jt.Rules {
				if r.Chain == c.Name {
					t.AddRule(0, r.Chain, jt.Args(i))
				}
			}
			added = true
		}
	}
	return added
}

// Explanation is the trace of one probe, with what explain says about it.
type Explanation struct {
	Probe   Probe
	Node    string
	Mode    string
	Family  string
	Ruleset string
	// Source says what the source address is to this node.
	Source string
	Result *ir.TraceResult
	model  *compiler.Model
	mark   string
}

// Explain traces a probe.
func (e *Explainer) Explain(p Probe) *Explanation {
	node := ir.NodeContext{LocalAddrs: e.opts.LocalAddresses(), InInterface: "eth0"}
	x := &Explanation{
		Probe: p, Node: e.opts.NodeName, Mode: string(e.opts.Mode), Family: string(e.opts.Family),
		Ruleset: e.Ruleset, model: e.model, mark: e.markChain,
	}
	switch pod := e.localPod(p.Src); {
	case p.Src.IsLoopback() || contains(e.opts.LocalAddresses(), p.Src):
		node.FromNode = true
		node.InInterface = ""
		x.Source = "this node (" + p.Src.String() + " is one of its addresses): the packet takes the OUTPUT path"
	case pod != "":
		x.Source = "a pod on this node (" + pod + "): the packet takes the PREROUTING path"
		switch e.opts.DetectLocalMode {
		case compiler.LocalModeBridgeInterface:
			node.InInterface = e.opts.BridgeInterface
		case compiler.LocalModeInterfaceNamePrefix:
			node.InInterface = e.opts.InterfaceNamePrefix + "0"
		}
		if node.InInterface != "eth0" {
			x.Source += ", arriving on " + node.InInterface
		}
	case e.inClusterCIDR(p.Src) != "":
		x.Source = "a pod elsewhere in the cluster (in --cluster-cidr " + e.inClusterCIDR(p.Src) + "): the packet takes the PREROUTING path, arriving on eth0"
	default:
		x.Source = "another host (not an address of this node, nor a pod on it): the packet takes the PREROUTING path, arriving on eth0"
	}
	x.Result = e.tracer.Trace(p.packet(), node)
	return x
}

// localPod names the endpoint or pod CIDR that makes src a pod on this
// node, or returns "".
func (e *Explainer) localPod(src netip.Addr) string {
	if e.model != nil {
		for _, sp := range e.model.ServicePorts {
			for _, ep := range sp.Endpoints {
				if ep.IP == src && ep.IsLocal {
					return "endpoint of " + sp.NameString + " in EndpointSlice " + ep.SliceName()
				}
			}
		}
	}
	for _, c := range e.opts.PodCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(src) {
			return "in the node's pod CIDR " + p.String()
		}
	}
	return ""
}

// inClusterCIDR returns the --cluster-cidr that holds src, or "".
func (e *Explainer) inClusterCIDR(src netip.Addr) string {
	for _, c := range e.opts.ClusterCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(src) {
			return p.String()
		}
	}
	return ""
}

func contains(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// WriteText writes the explanation: the path every outcome shares, then
// each outcome's own steps, then a verdict table.
func (x *Explanation) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	res := x.Result
	fmt.Fprintf(bw, "packet:  %s\n", res.Packet)
	fmt.Fprintf(bw, "node:    %s (%s mode, %s)\n", x.Node, x.Mode, x.Family)
	fmt.Fprintf(bw, "rules:   %s\n", x.Ruleset)
	fmt.Fprintf(bw, "source:  %s\n", x.Source)
	pre, suf := commonSteps(res.Outcomes)
	if pre > 0 {
		bw.WriteString("\nEvery outcome first takes these steps:\n")
		writeSteps(bw, res.Outcomes[0].Steps[:pre])
	}
	for i, o := range res.Outcomes {
		fmt.Fprintf(bw, "\nOutcome %d of %d, probability %s: %s\n", i+1, len(res.Outcomes), ir.FormatProbabilityPercent(o.Probability), x.verdictText(o))
		writeSteps(bw, o.Steps[pre:len(o.Steps)-suf])
	}
	if suf > 0 {
		bw.WriteString("\nThen every outcome takes these steps:\n")
		s := res.Outcomes[0].Steps
		writeSteps(bw, s[len(s)-suf:])
	}
	bw.WriteString("\nVerdict:\n")
	var rows [][]string
	for _, o := range res.Outcomes {
		rows = append(rows, []string{
			ir.FormatProbabilityPercent(o.Probability),
			x.verdictWord(o),
			o.Dst.String(),
			x.masqText(o),
			x.affinityText(o),
			x.why(o),
		})
	}
	if err := render.Table(bw, []string{"probability", "verdict", "destination", "masquerade", "affinity", "why"}, rows); err != nil {
		return err
	}
	if len(res.Notes) > 0 {
		bw.WriteString("\nNotes:\n")
		for _, n := range res.Notes {
			fmt.Fprintf(bw, "  - %s\n", n)
		}
	}
	return bw.Flush()
}

// commonSteps returns the lengths of the step prefix and suffix that all
// outcomes share (with more than one outcome; they do not overlap).
func commonSteps(outs []ir.Outcome) (pre, suf int) {
	if len(outs) < 2 {
		return 0, 0
	}
	first := outs[0].Steps
	pre, suf = len(first), len(first)
	for _, o := range outs[1:] {
		i := 0
		for i < pre && i < len(o.Steps) && o.Steps[i] == first[i] {
			i++
		}
		pre = i
	}
	for _, o := range outs {
		suf = min(suf, len(o.Steps)-pre)
	}
	for _, o := range outs[1:] {
		i := 0
		for i < suf && o.Steps[len(o.Steps)-1-i] == first[len(first)-1-i] {
			i++
		}
		suf = i
	}
	return pre, suf
}

func writeSteps(bw *bufio.Writer, steps []ir.Step) {
	for _, s := range steps {
		where := s.Table + " " + s.Chain
		switch s.Kind {
		case ir.StepRule:
			where += " rule " + strconv.Itoa(s.Rule)
		case ir.StepPolicy:
			where += " policy"
		case ir.StepElement:
			where += " element"
		}
		fmt.Fprintf(bw, "  %s:\n      %s\n", where, s.Text)
		if s.Origin != "" {
			fmt.Fprintf(bw, "      from %s\n", s.Origin)
		}
	}
}

func (x *Explanation) verdictWord(o ir.Outcome) string {
	switch {
	case o.Verdict != ir.VerdictAccept:
		return o.Verdict.String()
	case o.DNAT:
		return "DNAT"
	}
	return "ACCEPT"
}

func (x *Explanation) verdictText(o ir.Outcome) string {
	switch x.verdictWord(o) {
	case "DNAT":
		return "DNAT to " + o.Dst.String() + ", masquerade " + x.masqText(o)
	case "ACCEPT":
		return "not rewritten: goes on to " + o.Dst.String()
	}
	return x.verdictWord(o) + ": " + x.why(o)
}

func (x *Explanation) masqText(o ir.Outcome) string {
	if !o.Masquerade {
		return "no"
	}
	for i, s := range o.Steps {
		switch {
		case s.Chain == x.mark && i > 0:
			p := o.Steps[i-1]
			return "yes (" + p.Chain + " rule " + strconv.Itoa(p.Rule) + ")"
		case s.Kind == ir.StepRule && (strings.Contains(s.Text, "mark set mark or") || strings.Contains(s.Text, "@hairpin-connections")):
			return "yes (" + s.Chain + " rule " + strconv.Itoa(s.Rule) + ")"
		}
	}
	for i := len(o.Steps) - 1; i >= 0; i-- {
		if s := o.Steps[i]; s.Kind == ir.StepRule && strings.Contains(s.Text, "MASQUERADE") && !strings.Contains(s.Text, "requiring SNAT") {
			return "yes (" + s.Chain + " rule " + strconv.Itoa(s.Rule) + ")"
		}
	}
	return "yes"
}

func (x *Explanation) affinityText(o ir.Outcome) string {
	if o.Affinity == "" {
		return ""
	}
	if o.AffinitySeconds > 0 {
		return "ClientIP, " + strconv.Itoa(o.AffinitySeconds) + "s"
	}
	return "ClientIP"
}

// why says why an outcome happens, in terms of the objects.
func (x *Explanation) why(o ir.Outcome) string {
	switch {
	case o.Verdict != ir.VerdictAccept:
		return dropWhy(o)
	case o.DNAT:
		return x.endpointText(o.Dst, servicePortOf(o))
	}
	for _, s := range o.Steps {
		if s.Origin != "" {
			return "matched rules of " + s.Origin + " but was not rewritten"
		}
	}
	return "no kube-proxy rule matches this destination"
}

// servicePortOf returns the service port whose rules the outcome passed
// ("ns/name:port" from the first step with an origin), or "".
func servicePortOf(o ir.Outcome) string {
	for _, s := range o.Steps {
		if s.Origin != "" {
			name, _, _ := strings.Cut(s.Origin, " (")
			return name
		}
	}
	return ""
}

// dropWhy explains a DROP or REJECT from the step that decided it, for
// the chains and maps whose rules carry no telling comment, and else from
// the comment.
func dropWhy(o ir.Outcome) string {
	if len(o.Steps) > 0 {
		last := o.Steps[len(o.Steps)-1]
		switch {
		case last.Chain == "KUBE-SOURCE-RANGES-FIREWALL" || strings.HasPrefix(last.Chain, "firewall-") && last.Chain != "firewall-check":
			return "the source is outside the Service's loadBalancerSourceRanges (" + last.Chain + ")"
		case last.Chain == "KUBE-IPVS-FILTER":
			return "the address is a Service's, but no Service port listens on this port (KUBE-IPVS-FILTER)"
		}
		for i := len(o.Steps) - 1; i >= 0; i-- {
			st := o.Steps[i]
			if st.Kind != ir.StepElement || !strings.HasPrefix(st.Chain, "no-endpoint-") {
				continue
			}
			svc := ownerFromComment(o.Reason)
			if svc == "" {
				svc = "the Service"
			}
			if o.Verdict == ir.VerdictReject {
				return dropReason(svc + " has no endpoints")
			}
			return dropReason(svc + " has no local endpoints")
		}
	}
	return dropReason(o.Reason)
}

// dropReason explains the comments kube-proxy puts on DROP and REJECT rules.
func dropReason(comment string) string {
	switch {
	case strings.HasSuffix(comment, " has no endpoints"):
		return comment + " (no ready or serving-terminating endpoint anywhere)"
	case strings.HasSuffix(comment, " has no local endpoints"):
		return comment + " (traffic policy Local, and no endpoint on this node)"
	case strings.Contains(comment, " traffic not accepted by KUBE-FW-"):
		return comment + " (the source is outside loadBalancerSourceRanges)"
	case comment == "block incoming localnet connections":
		return comment + " (connections to 127.0.0.0/8 from outside the node)"
	case comment == "":
		return "dropped by a rule without a comment"
	}
	return comment
}

// endpointText describes the endpoint a packet is sent to, as an endpoint
// of the service port named (or of any, when that one does not have it).
func (x *Explanation) endpointText(dst netip.AddrPort, servicePort string) string {
	if x.model == nil {
		return "endpoint " + dst.String()
	}
	sps := x.model.ServicePorts
	for _, sp := range sps {
		if sp.NameString == servicePort {
			sps = append([]*compiler.ServicePort{sp}, sps...)
			break
		}
	}
	for _, sp := range sps {
		for _, ep := range sp.Endpoints {
			if ep.IP != dst.Addr() || ep.Port != int(dst.Port()) {
				continue
			}
			var b strings.Builder
			b.WriteString("endpoint of " + sp.NameString)
			if ep.NodeName != "" {
				b.WriteString(" on " + ep.NodeName)
			}
			switch {
			case ep.Ready:
				b.WriteString(", ready")
			case ep.Serving && ep.Terminating:
				b.WriteString(", serving while terminating")
			}
			if ep.Source != nil {
				b.WriteString(", EndpointSlice " + ep.Source.Slice + " (" + ep.Source.Pos.String() + ")")
			}
			return b.String()
		}
	}
	return "endpoint " + dst.String() + ", which is no endpoint of the input's Services"
}

// WriteJSON writes the explanation as one JSON document.
func (x *Explanation) WriteJSON(w io.Writer) error {
	type jsonStep struct {
		Kind   string `json:"kind"`
		Table  string `json:"table"`
		Chain  string `json:"chain"`
		Rule   int    `json:"rule"`
		Text   string `json:"text"`
		Origin string `json:"origin,omitempty"`
	}
	type jsonOutcome struct {
		Probability     float64    `json:"probability"`
		Verdict         string     `json:"verdict"`
		Destination     string     `json:"destination"`
		Masquerade      bool       `json:"masquerade"`
		Affinity        string     `json:"affinity,omitempty"`
		AffinitySeconds int        `json:"affinitySeconds,omitempty"`
		Why             string     `json:"why"`
		Steps           []jsonStep `json:"steps"`
	}
	doc := struct {
		Packet   string        `json:"packet"`
		Node     string        `json:"node"`
		Mode     string        `json:"mode"`
		Family   string        `json:"family"`
		Rules    string        `json:"rules"`
		Source   string        `json:"source"`
		Outcomes []jsonOutcome `json:"outcomes"`
		Notes    []string      `json:"notes,omitempty"`
	}{Packet: x.Result.Packet.String(), Node: x.Node, Mode: x.Mode, Family: x.Family, Rules: x.Ruleset, Source: x.Source, Notes: x.Result.Notes}
	for _, o := range x.Result.Outcomes {
		jo := jsonOutcome{
			Probability: o.Probability, Verdict: x.verdictWord(o), Destination: o.Dst.String(),
			Masquerade: o.Masquerade, Affinity: o.Affinity, AffinitySeconds: o.AffinitySeconds, Why: x.why(o),
			Steps: []jsonStep{},
		}
		for _, s := range o.Steps {
			kind := [...]string{ir.StepRule: "rule", ir.StepPolicy: "policy", ir.StepElement: "element"}[s.Kind]
			jo.Steps = append(jo.Steps, jsonStep{Kind: kind, Table: s.Table, Chain: s.Chain, Rule: s.Rule, Text: s.Text, Origin: s.Origin})
		}
		doc.Outcomes = append(doc.Outcomes, jo)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
