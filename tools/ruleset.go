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
