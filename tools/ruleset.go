package tools

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// A Ruleset is a program in the form diff compares: objects (iptables
// chains, nftables chains, sets and maps, IPVS virtual servers, ipsets)
// holding items (rules, elements, real servers) in a canonical spelling,
// each item attributed to the service port it belongs to.
type Ruleset struct {
	// Mode is the proxy mode whose objects these are: iptables, nftables
	// or ipvs.
	Mode string
	// Name describes where the ruleset came from, for report headers.
	Name string
	// Objects in ascending key order.
	Objects []*Object
	// Origins maps a service port to where its Service was read
	// ("file:line"); only compiled rulesets know it.
	Origins map[string]string
}

// Object is one named container of items.
type Object struct {
	Kind  string // "chain", "set", "map", "virtual server", "ipset", "addresses"
	Table string // "filter", "nat", "ip kube-proxy", "ipvs", ...
	Name  string
	// Header is what the object's declaration says besides its name (a
	// base chain's hook, a set's type), compared as a whole.
	Header string
	// Ordered is set when the order of items matters (rules of a chain).
	Ordered bool
	// Owner is the service port the object belongs to; "" for objects
	// shared by the whole node.
	Owner string
	Items []Item
}

// Item is one rule, element or real server.
type Item struct {
	// Text is the canonical spelling, compared for equality.
	Text string
	// Owner is the service port the item belongs to, "" for node-wide.
	Owner string
}

// key orders and identifies objects across two rulesets.
func (o *Object) key() string { return o.Kind + "\x00" + o.Table + "\x00" + o.Name }

// Display returns how an item of the object is shown in a report.
func (o *Object) Display(it Item) string {
	switch o.Kind {
	case "chain":
		if o.Table == "filter" || o.Table == "nat" || o.Table == "mangle" || o.Table == "raw" {
			return "-A " + o.Name + " " + it.Text
		}
	}
	return it.Text
}

// Title names the object in a report: "nat chain KUBE-SVC-X".
func (o *Object) Title() string {
	switch o.Kind {
	case "virtual server", "ipset":
		return o.Kind + " " + o.Name
	case "addresses":
		return "addresses on " + o.Name
	}
	return o.Table + " " + o.Kind + " " + o.Name
}

func sortObjects(objs []*Object) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].key() < objs[j].key() })
}

// iptables chains that belong to kube-proxy: its own KUBE- chains (but not
// the canaries it and kubelet create to detect flushes), and the built-in
// chains it jumps from.
var builtinChains = map[string]bool{"PREROUTING": true, "INPUT": true, "FORWARD": true, "OUTPUT": true, "POSTROUTING": true}

func kubeProxyChain(name string) bool {
	return strings.HasPrefix(name, "KUBE-") && name != "KUBE-PROXY-CANARY" && name != "KUBE-KUBELET-CANARY"
}

// perServicePrefixes are the chains kube-proxy makes for one service port
// (iptables mode; the IPVS mode has none).
var perServicePrefixes = []string{"KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-"}

func perServiceChain(name string) bool {
	for _, p := range perServicePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// IPTablesRuleset converts an iptables program. Only kube-proxy's part of
// the program is kept: the tables filter and nat, kube-proxy's chains, and
// the rules of the built-in chains that jump to them, so that a node's
// whole iptables-save dump compares with a compiled payload. Rules are
// attributed to service ports by their origin when the program has
// origins, else by what kube-proxy writes in their comments and by the
// chains they jump to.
func IPTablesRuleset(name, mode string, p *ir.IPTables) (*Ruleset, error) {
	rs := &Ruleset{Mode: mode, Name: name, Origins: map[string]string{}}
	for _, o := range p.Origins {
		if o.File != "" {
			rs.Origins[o.ServicePort] = o.File + ":" + strconv.Itoa(o.Line)
		}
	}
	for _, t := range p.Tables {
		if t.Name != "filter" && t.Name != "nat" {
			continue
		}
		specs, err := t.Parse()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		objs := map[string]*Object{}
		var order []*Object
		for _, c := range t.Chains {
			if !builtinChains[c.Name] && !kubeProxyChain(c.Name) {
				continue
			}
			o := &Object{Kind: "chain", Table: t.Name, Name: c.Name, Ordered: true}
			objs[c.Name] = o
			order = append(order, o)
		}
		owners := make([]string, len(specs))
		for i, s := range specs {
			if r := t.Rules[i]; r.Origin > 0 && int(r.Origin) <= len(p.Origins) {
				owners[i] = p.Origins[r.Origin-1].ServicePort
			} else {
				owners[i] = ownerFromComment(s.Comment())
			}
		}
		chainOwner := inferChainOwners(specs, owners)
		for i, s := range specs {
			o := objs[s.Chain]
			if o == nil {
				continue
			}
			if builtinChains[s.Chain] && !(s.Target.Kind == ir.TargetJump && kubeProxyChain(s.Target.Chain)) {
				continue
			}
			owner := owners[i]
			if owner == "" {
				owner = chainOwner[s.Chain]
			}
			if owner == "" && (s.Target.Kind == ir.TargetJump || s.Target.Kind == ir.TargetGoto) {
				owner = chainOwner[s.Target.Chain]
			}
			o.Items = append(o.Items, Item{Text: s.Canonical(), Owner: owner})
		}
		for _, o := range order {
			o.Owner = chainOwner[o.Name]
			rs.Objects = append(rs.Objects, o)
		}
	}
	sortObjects(rs.Objects)
	return rs, nil
}

// inferChainOwners attributes kube-proxy's per-service chains to a service
// port: the owner of their own attributed rules, else the owner of a rule
// that jumps to them (KUBE-SEP chains lose their comments in large
// clusters, but their KUBE-SVC chain still jumps to them).
func inferChainOwners(specs []*ir.RuleSpec, owners []string) map[string]string {
	out := map[string]string{}
	for i, s := range specs {
		if perServiceChain(s.Chain) && owners[i] != "" && out[s.Chain] == "" {
			out[s.Chain] = owners[i]
		}
	}
	for changed := true; changed; {
		changed = false
		for i, s := range specs {
			if s.Target.Kind != ir.TargetJump && s.Target.Kind != ir.TargetGoto {
				continue
			}
			to := s.Target.Chain
			if !perServiceChain(to) || out[to] != "" {
				continue
			}
			owner := owners[i]
			if owner == "" {
				owner = out[s.Chain]
			}
			if owner != "" {
				out[to] = owner
				changed = true
			}
		}
	}
	return out
}

// ownerFromComment finds the service port name kube-proxy puts in a rule
// comment ("ns/name:port cluster IP", "masquerade traffic for ns/name
// external destinations", ...): the first word shaped like
// namespace/name[:port].
func ownerFromComment(c string) string {
	for _, w := range strings.Fields(c) {
		if isServicePortName(w) {
			return w
		}
	}
	return ""
}

func isServicePortName(w string) bool {
	ns, rest, ok := strings.Cut(w, "/")
	if !ok || !isLabel(ns) {
		return false
	}
	name, port, hasPort := strings.Cut(rest, ":")
	if !isLabel(name) {
		return false
	}
	return !hasPort || isLabel(port)
}

// isLabel accepts what namespaces, Service names and port names are made
// of: lower-case letters, digits and inner dashes.
func isLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// NFTRuleset converts an nftables table. Chains keep their rules in
// order; sets and maps are unordered. Rules and elements are attributed
// to service ports by their origin, else by the chain names kube-proxy
// derives from them (service-HASH-ns/name/proto/port, ...), else by their
// comment or the chain their verdict goes to.
func NFTRuleset(name string, t *ir.NFT) *Ruleset {
	rs := &Ruleset{Mode: "nftables", Name: name, Origins: map[string]string{}}
	origin := func(i int32) string {
		if i > 0 && int(i) <= len(t.Origins) {
			return t.Origins[i-1].ServicePort
		}
		return ""
	}
	for _, o := range t.Origins {
		if o.File != "" {
			rs.Origins[o.ServicePort] = o.File + ":" + strconv.Itoa(o.Line)
		}
	}
	table := t.Family + " " + t.Name
	for _, c := range t.Chains {
		o := &Object{Kind: "chain", Table: table, Name: c.Name, Ordered: true, Owner: nftNameOwner(c.Name)}
		if c.Hook != "" {
			o.Header = "type " + c.Type + " hook " + c.Hook + " priority " + strconv.Itoa(c.Priority)
		}
		if c.Comment != "" {
			o.Header = strings.TrimSpace(o.Header + " comment " + ir.QuoteArg(c.Comment, true))
		}
		for _, r := range c.Rules {
			text := ir.CanonicalNFTRule(r.Text)
			if r.Comment != "" {
				text += " comment " + ir.QuoteArg(r.Comment, true)
			}
			owner := origin(r.Origin)
			if owner == "" {
				owner = o.Owner
			}
			if owner == "" {
				owner = ownerFromComment(r.Comment)
			}
			o.Items = append(o.Items, Item{Text: text, Owner: owner})
		}
		rs.Objects = append(rs.Objects, o)
	}
	for _, list := range []struct {
		kind string
		sets []*ir.NFTSet
	}{{"set", t.Sets}, {"map", t.Maps}} {
		for _, s := range list.sets {
			o := &Object{Kind: list.kind, Table: table, Name: s.Name, Owner: nftNameOwner(s.Name), Header: nftSetHeader(s)}
			for i := range s.Elements {
				e := &s.Elements[i]
				owner := origin(e.Origin)
				if owner == "" {
					owner = ownerFromComment(e.Comment)
				}
				if owner == "" {
					if f := strings.Fields(e.Value); len(f) == 2 {
						owner = nftNameOwner(f[1])
					}
				}
				if owner == "" {
					owner = o.Owner
				}
				o.Items = append(o.Items, Item{Text: ir.CanonicalNFTElement(e), Owner: owner})
			}
			rs.Objects = append(rs.Objects, o)
		}
	}
	sortObjects(rs.Objects)
	return rs
}

func nftSetHeader(s *ir.NFTSet) string {
	h := "type " + s.Type
	if len(s.Flags) > 0 {
		h += " flags " + strings.Join(s.Flags, ",")
	}
	if s.Timeout > 0 {
		h += " timeout " + strconv.Itoa(s.Timeout) + "s"
	}
	if s.Comment != "" {
		h += " comment " + ir.QuoteArg(s.Comment, true)
	}
	return h
}

// nftNameOwner reads the service port out of a chain or set name kube-proxy's
// nftables mode made for it: PREFIX-HASH-ns/name/proto/port (with
// "__ip/port" after it for endpoints). Names truncated with "..." lose it.
func nftNameOwner(name string) string {
	for _, p := range []string{"service-", "local-", "external-", "firewall-", "endpoint-", "affinity-"} {
		rest, ok := strings.CutPrefix(name, p)
		if !ok {
			continue
		}
		_, rest, ok = strings.Cut(rest, "-")
		if !ok {
			return ""
		}
		rest, _, _ = strings.Cut(rest, "__")
		f := strings.Split(rest, "/")
		if len(f) != 4 || !isLabel(f[0]) || !isLabel(f[1]) {
			return ""
		}
		if f[3] == "" {
			return f[0] + "/" + f[1]
		}
		if !isLabel(f[3]) {
			return ""
		}
		return f[0] + "/" + f[1] + ":" + f[3]
	}
	return ""
}

// IPVSRuleset converts IPVS mode's state: virtual servers with their real
// servers, ipsets with their entries, the addresses on the dummy
// interface, and the iptables payload.
func IPVSRuleset(name string, p *ir.IPVS) (*Ruleset, error) {
	rs, err := IPTablesRuleset(name, "ipvs", p.IPTables)
	if err != nil {
		return nil, err
	}
	for _, o := range p.Origins {
		if o.File != "" {
			rs.Origins[o.ServicePort] = o.File + ":" + strconv.Itoa(o.Line)
		}
	}
	// Who owns an address, an address:port and a bare node port.
	byAddr, byAddrPort, byPort := map[string]string{}, map[string]string{}, map[string]string{}
	for _, v := range p.VirtualServers {
		owner := ""
		if v.Origin > 0 && int(v.Origin) <= len(p.Origins) {
			owner = p.Origins[v.Origin-1].ServicePort
		}
		proto := strings.ToLower(v.Protocol)
		byAddr[v.Address.String()] = owner
		byAddrPort[v.Address.String()+","+proto+":"+strconv.Itoa(int(v.Port))] = owner
		byPort[strconv.Itoa(int(v.Port))] = owner
		o := &Object{Kind: "virtual server", Table: "ipvs", Name: v.Protocol + " " + ipvsAddrPort(v.Address.String(), v.Port), Owner: owner}
		o.Header = "scheduler " + v.Scheduler
		if v.Persistent {
			o.Header += " persistent " + strconv.Itoa(int(v.Timeout))
		}
		if v.MHPort {
			o.Header += " flag mh-port"
		}
		for _, r := range v.RealServers {
			byAddrPort[r.Address.String()+","+proto+":"+strconv.Itoa(int(r.Port))] = owner
			o.Items = append(o.Items, Item{Text: "real server " + ipvsAddrPort(r.Address.String(), r.Port) + " weight " + strconv.Itoa(r.Weight), Owner: owner})
		}
		rs.Objects = append(rs.Objects, o)
	}
	for _, s := range p.Sets {
		o := &Object{Kind: "ipset", Table: "ipset", Name: s.Name, Header: s.Type}
		for _, e := range s.Entries {
			f := strings.Split(e, ",")
			owner := byAddr[e]
			if len(f) >= 2 {
				owner = byAddrPort[f[0]+","+f[1]]
			} else if owner == "" {
				owner = byPort[e]
			}
			o.Items = append(o.Items, Item{Text: e, Owner: owner})
		}
		rs.Objects = append(rs.Objects, o)
	}
	addrs := &Object{Kind: "addresses", Table: "ipvs", Name: p.Device}
	for _, a := range p.Addresses {
		addrs.Items = append(addrs.Items, Item{Text: a.String(), Owner: byAddr[a.String()]})
	}
	rs.Objects = append(rs.Objects, addrs)
	sortObjects(rs.Objects)
	return rs, nil
}

func ipvsAddrPort(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return addr + ":" + strconv.Itoa(int(port))
}
