package tools

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// ChainGraph is a directed graph of chains (maps, virtual servers),
// endpoints and verdicts, written as Graphviz DOT.
type ChainGraph struct {
	title string
	nodes map[string]graphNode
	order []string
	edges []graphEdge
}

type graphNode struct {
	label, shape, style string
	cluster             string // the service port whose box holds the node
}

type graphEdge struct {
	from, to, label string
}

func newGraph(title string) *ChainGraph {
	return &ChainGraph{title: title, nodes: map[string]graphNode{}}
}

func (g *ChainGraph) node(id, label, shape, style string) string {
	if _, ok := g.nodes[id]; !ok {
		g.nodes[id] = graphNode{label: label, shape: shape, style: style}
		g.order = append(g.order, id)
	}
	return id
}

func (g *ChainGraph) edge(from, to, label string) {
	g.edges = append(g.edges, graphEdge{from, to, label})
}

// Node styles: entry points shared with other Services, the Service's
// own chains, endpoints, verdicts, the masquerade mark.
func (g *ChainGraph) shared(id, label string) string {
	return g.node(id, label, "box", "filled,rounded")
}
func (g *ChainGraph) own(id, label, port string) string {
	g.node(id, label, "box", "rounded")
	if n := g.nodes[id]; n.cluster == "" && port != "" {
		n.cluster = port
		g.nodes[id] = n
	}
	return id
}
func (g *ChainGraph) endpoint(addr string) string { return g.node("ep "+addr, addr, "ellipse", "bold") }
func (g *ChainGraph) verdict(v string) string     { return g.node("verdict "+v, v, "octagon", "filled") }
func (g *ChainGraph) masq(id string) string       { return g.node(id, "masquerade", "note", "dashed") }

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// WriteDOT writes the graph, nodes and edges in the order they were met.
func (g *ChainGraph) WriteDOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph %s {\n", dotQuote(g.title))
	fmt.Fprintf(bw, "  label=%s;\n  labelloc=t;\n  rankdir=LR;\n", dotQuote(g.title))
	bw.WriteString("  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	var clusters []string
	byCluster := map[string][]string{}
	for _, id := range g.order {
		c := g.nodes[id].cluster
		if _, ok := byCluster[c]; !ok && c != "" {
			clusters = append(clusters, c)
		}
		byCluster[c] = append(byCluster[c], id)
	}
	writeNode := func(indent, id string) {
		n := g.nodes[id]
		fill := ""
		if strings.Contains(n.style, "filled") {
			fill = ", fillcolor=\"#eeeeee\""
			if n.shape == "octagon" {
				fill = ", fillcolor=\"#f4cccc\""
			}
		}
		fmt.Fprintf(bw, "%s%s [label=%s, shape=%s, style=%s%s];\n", indent, dotQuote(id), dotQuote(n.label), n.shape, dotQuote(n.style), fill)
	}
	for _, id := range byCluster[""] {
		writeNode("  ", id)
	}
	for i, c := range clusters {
		fmt.Fprintf(bw, "  subgraph cluster_%d {\n    label=%s;\n    style=dashed;\n", i, dotQuote("service port "+c))
		for _, id := range byCluster[c] {
			writeNode("    ", id)
		}
		bw.WriteString("  }\n")
	}
	for _, e := range g.edges {
		fmt.Fprintf(bw, "  %s -> %s", dotQuote(e.from), dotQuote(e.to))
		if e.label != "" {
			fmt.Fprintf(bw, " [label=%s]", dotQuote(e.label))
		}
		bw.WriteString(";\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// ServiceGraph builds the chain graph of one Service ("namespace/name") in the
// program's proxy mode: how its traffic enters (shared chains, maps), the
// Service's own chains, and where it ends (endpoints with their share of
// new connections, REJECT or DROP, the masquerade mark).
func ServiceGraph(prog *compiler.Program, service string) (*ChainGraph, error) {
	var ports []string
	for _, sp := range prog.Model.ServicePorts {
		if sp.Namespace+"/"+sp.Name == service {
			ports = append(ports, sp.NameString)
		}
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("--service %s: not in the input, or it has no port of the %s family that kube-proxy programs", service, prog.Options.Family)
	}
	title := fmt.Sprintf("Service %s on node %s (%s mode, %s)", service, prog.Options.NodeName, prog.Options.Mode, prog.Options.Family)
	owned := func(sp string) bool {
		n, _, _ := strings.Cut(sp, ":")
		return n == service
	}
	switch {
	case prog.IPTables != nil:
		return iptablesGraph(title, prog.IPTables, owned)
	case prog.NFT != nil:
		return nftGraph(title, prog.NFT, owned), nil
	case prog.IPVS != nil:
		return ipvsGraph(title, prog.IPVS, owned)
	}
	return nil, fmt.Errorf("graph: --proxy-mode %s is not supported", prog.Options.Mode)
}

// sharedIPTablesChains are the chains every Service's rules hang from.
var sharedIPTablesChains = map[string]bool{
	"KUBE-SERVICES": true, "KUBE-NODEPORTS": true, "KUBE-EXTERNAL-SERVICES": true,
	"KUBE-PROXY-FIREWALL": true, "KUBE-MARK-MASQ": true, "KUBE-FORWARD": true,
}

func iptablesGraph(title string, p *ir.IPTables, owned func(string) bool) (*ChainGraph, error) {
	g := newGraph(title)
	for _, t := range p.Tables {
		specs, err := t.Parse()
		if err != nil {
			return nil, err
		}
		// The share of new connections each statistic rule takes: the
		// probabilities of the rules before it multiply.
		remaining := map[string]float64{}
		for i, s := range specs {
			o := t.Rules[i].Origin
			if o == 0 || int(o) > len(p.Origins) || !owned(p.Origins[o-1].ServicePort) {
				continue
			}
			port := p.Origins[o-1].ServicePort
			chainID := t.Name + " " + s.Chain
			var from string
			if sharedIPTablesChains[s.Chain] {
				from = g.shared(chainID, t.Name+" "+s.Chain)
			} else {
				from = g.own(chainID, s.Chain, port)
			}
			label := matchSummary(s)
			if _, ok := remaining[s.Chain]; !ok {
				remaining[s.Chain] = 1
			}
			if strings.HasPrefix(s.Target.Chain, "KUBE-SEP-") && !hasRecentCheck(s) {
				share := remaining[s.Chain]
				for _, m := range s.Matches {
					if m.Kind == ir.MatchStatistic {
						p := float64(m.Prob) / ir.ProbabilityOne
						share *= p
						remaining[s.Chain] *= 1 - p
					}
				}
				label = joinLabel(ir.FormatProbabilityPercent(share)+" of new connections", label)
			}
			tg := &s.Target
			switch tg.Kind {
			case ir.TargetJump, ir.TargetGoto:
				var to string
				switch {
				case tg.Chain == "KUBE-MARK-MASQ":
					to = g.masq(t.Name + " KUBE-MARK-MASQ")
				case sharedIPTablesChains[tg.Chain]:
					to = g.shared(t.Name+" "+tg.Chain, t.Name+" "+tg.Chain)
				default:
					to = g.own(t.Name+" "+tg.Chain, tg.Chain, port)
				}
				g.edge(from, to, label)
			case ir.TargetDNAT:
				g.edge(from, g.endpoint(tg.To), joinLabel("DNAT", label))
			case ir.TargetDrop, ir.TargetReject:
				v := "DROP"
				if tg.Kind == ir.TargetReject {
					v = "REJECT"
				}
				g.edge(from, g.verdict(v), joinLabel(label, s.Comment()))
			case ir.TargetNone:
				if c := s.Comment(); strings.Contains(c, "will be dropped") {
					g.edge(from, g.shared("filter KUBE-PROXY-FIREWALL", "filter KUBE-PROXY-FIREWALL"), "other sources (not rewritten)")
				}
			case ir.TargetAccept:
				g.edge(from, g.verdict("ACCEPT"), label)
			}
		}
	}
	return g, nil
}

func hasRecentCheck(s *ir.RuleSpec) bool {
	for _, m := range s.Matches {
		if m.Kind == ir.MatchRecent && m.Field == "rcheck" {
			return true
		}
	}
	return false
}

func joinLabel(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}

// matchSummary says in a few words what a rule matches.
func matchSummary(s *ir.RuleSpec) string {
	var parts []string
	var dport, proto string
	for _, m := range s.Matches {
		not := ""
		if m.Not {
			not = "not "
		}
		switch m.Kind {
		case ir.MatchSource:
			parts = append(parts, not+"from "+prefixText(m.Prefix))
		case ir.MatchDest:
			parts = append(parts, not+"to "+prefixText(m.Prefix))
		case ir.MatchInInterface:
			parts = append(parts, not+"in "+m.Value)
		case ir.MatchProtocol:
			proto = m.Value
		case ir.MatchDestPort:
			dport = strconv.Itoa(int(m.Lo))
		case ir.MatchAddrType:
			what := "from"
			if m.Field == "dst" {
				what = "to"
			}
			parts = append(parts, not+what+" a node address")
		case ir.MatchRecent:
			switch m.Field {
			case "rcheck":
				parts = append(parts, "ClientIP affinity ("+strconv.Itoa(m.Seconds)+"s)")
			case "set":
				parts = append(parts, "records ClientIP affinity")
			}
		case ir.MatchConntrack:
			parts = append(parts, not+"ctstate "+m.Value)
		}
	}
	if dport != "" {
		parts = append(parts, "port "+dport+"/"+proto)
	}
	return strings.Join(parts, ", ")
}

// prefixText prints a host prefix as its address.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func nftGraph(title string, t *ir.NFT, owned func(string) bool) *ChainGraph {
	g := newGraph(title)
	origin := func(i int32) string {
		if i > 0 && int(i) <= len(t.Origins) {
			return t.Origins[i-1].ServicePort
		}
		return ""
	}
	chainOwned := func(name string) bool {
		if o := nftNameOwner(name); o != "" {
			return owned(o)
		}
		return false
	}
	// Entry: elements of the dispatch maps.
	for _, m := range t.Maps {
		for i := range m.Elements {
			e := &m.Elements[i]
			o := origin(e.Origin)
			if o == "" {
				o = ownerFromComment(e.Comment)
			}
			if o == "" || !owned(o) {
				continue
			}
			from := g.shared("map "+m.Name, "map "+m.Name)
			f := strings.Fields(e.Value)
			switch {
			case len(f) == 2:
				g.edge(from, g.own("chain "+f[1], f[1], nftNameOwner(f[1])), e.Key)
			case len(f) == 1 && f[0] == "drop":
				g.edge(from, g.verdict("DROP"), e.Key)
			}
			if len(f) == 2 && f[1] == "reject-chain" {
				g.edge(g.shared("chain reject-chain", "reject-chain"), g.verdict("REJECT"), "")
			}
		}
	}
	chains := append([]*ir.NFTChain(nil), t.Chains...)
	sort.Slice(chains, func(i, j int) bool { return chains[i].Name < chains[j].Name })
	for _, c := range chains {
		if !chainOwned(c.Name) {
			continue
		}
		from := g.own("chain "+c.Name, c.Name, nftNameOwner(c.Name))
		for _, r := range c.Rules {
			nftRuleEdges(g, from, r.Text, r.Comment)
		}
	}
	return g
}

// nftRuleEdges draws the edges of one kube-proxy nftables rule.
func nftRuleEdges(g *ChainGraph, from, text, comment string) {
	toks, err := ir.Tokenize(text)
	if err != nil {
		return
	}
	cond := comment
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "goto", "jump":
			if i+1 < len(toks) {
				g.edge(from, g.own("chain "+toks[i+1], toks[i+1], nftNameOwner(toks[i+1])), joinLabel(nftCondition(toks[:i]), cond))
			}
			return
		case "drop":
			g.edge(from, g.verdict("DROP"), joinLabel(nftCondition(toks[:i]), cond))
			return
		case "mark":
			if i+2 < len(toks) && toks[i+1] == "set" {
				g.edge(from, g.masq("masquerade mark"), joinLabel(nftCondition(toks[:i]), cond))
				return
			}
		case "vmap", "map":
			// numgen random mod N vmap { i : goto X , ... } and
			// dnat ... to numgen random mod N map { i : ADDR . PORT , ... }
			n := 0
			for j := i - 1; j >= 0; j-- {
				if toks[j] == "mod" && j+1 < len(toks) {
					n, _ = strconv.Atoi(toks[j+1])
					break
				}
			}
			share := ""
			if n > 0 {
				share = ir.FormatProbabilityPercent(1/float64(n)) + " of new connections"
			}
			for j := i + 2; j < len(toks); j++ {
				if toks[j] != ":" || j+1 >= len(toks) {
					continue
				}
				switch v := toks[j+1]; {
				case v == "goto" || v == "jump":
					g.edge(from, g.own("chain "+toks[j+2], toks[j+2], nftNameOwner(toks[j+2])), share)
				case toks[i] == "map" && j+3 < len(toks) && toks[j+2] == ".":
					g.edge(from, g.endpoint(ipvsAddrPort(v, portOf(toks[j+3]))), joinLabel(share, "DNAT"))
				}
			}
			return
		case "dnat":
			if i+2 < len(toks) && toks[i+1] == "to" {
				g.edge(from, g.endpoint(toks[i+2]), "DNAT")
				return
			}
		case "update":
			if i+1 < len(toks) {
				g.edge(from, g.node("set "+toks[i+1][1:], "affinity set "+toks[i+1][1:], "cylinder", "dashed"), "records the client")
			}
		}
	}
}

func portOf(s string) uint16 {
	n, _ := strconv.Atoi(s)
	return uint16(n)
}

// nftCondition shortens a rule's match statements for an edge label.
func nftCondition(toks []string) string {
	s := strings.Join(toks, " ")
	if strings.HasPrefix(s, "ip saddr @affinity-") {
		return "ClientIP affinity"
	}
	return s
}

func ipvsGraph(title string, p *ir.IPVS, owned func(string) bool) (*ChainGraph, error) {
	g := newGraph(title)
	for _, v := range p.VirtualServers {
		if v.Origin == 0 || int(v.Origin) > len(p.Origins) || !owned(p.Origins[v.Origin-1].ServicePort) {
			continue
		}
		name := v.Protocol + " " + ipvsAddrPort(v.Address.String(), v.Port)
		label := "virtual server " + name + "\nscheduler " + v.Scheduler
		if v.Persistent {
			label += ", persistent " + strconv.Itoa(int(v.Timeout)) + "s"
		}
		from := g.own("vs "+name, label, p.Origins[v.Origin-1].ServicePort)
		total := 0
		for _, r := range v.RealServers {
			total += max(r.Weight, 0)
		}
		if len(v.RealServers) == 0 {
			g.edge(from, g.verdict("REJECT"), "no real servers")
		}
		for _, r := range v.RealServers {
			share := ""
			if total > 0 {
				share = ir.FormatProbabilityPercent(float64(r.Weight)/float64(total)) + " (weight " + strconv.Itoa(r.Weight) + ")"
			}
			g.edge(from, g.endpoint(ipvsAddrPort(r.Address.String(), r.Port)), share)
		}
	}
	return g, nil
}
