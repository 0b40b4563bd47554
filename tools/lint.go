package tools

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

// Severity of a lint finding. Only errors make lint fail.
type Severity string

// The severities.
const (
	SeverityError   Severity = "error"   // traffic certainly does not go where the author meant
	SeverityWarning Severity = "warning" // probably a mistake, or a deprecated feature
	SeverityInfo    Severity = "info"    // kube-proxy ignores part of an object, by design
)

// Check is one lint check. Its ID never changes meaning; docs/lint.md
// has a section per ID with a bad and a good example.
type Check struct {
	ID       string
	Name     string
	Severity Severity
	Summary  string
}

// Checks lists every lint check, in ID order.
var Checks = []Check{
	{"KPC001", "slice-without-service", SeverityWarning, "an EndpointSlice names a Service the input does not have"},
	{"KPC002", "slice-port-unmatched", SeverityError, "an EndpointSlice port matches no port of its Service by name and protocol"},
	{"KPC003", "selector-without-endpoints", SeverityWarning, "a Service with a selector has no EndpointSlice"},
	{"KPC004", "no-usable-endpoints", SeverityWarning, "a service port has endpoints, but none ready or serving while terminating"},
	{"KPC005", "etp-local-no-local-endpoint", SeverityWarning, "externalTrafficPolicy Local, and no endpoint on this node"},
	{"KPC006", "itp-local-no-local-endpoint", SeverityWarning, "internalTrafficPolicy Local, and no endpoint on this node"},
	{"KPC007", "external-ips", SeverityWarning, "spec.externalIPs is deprecated since Kubernetes v1.36"},
	{"KPC008", "source-range-allow-all", SeverityWarning, "loadBalancerSourceRanges holds 0.0.0.0/0 or ::/0, so kube-proxy ignores every range"},
	{"KPC009", "nodeport-collision", SeverityError, "an external or load-balancer IP that is a node address shadows a node port"},
	{"KPC010", "clusterip-collision", SeverityError, "an external or load-balancer IP is another Service's cluster IP"},
	{"KPC011", "lb-ingress-ignored", SeverityInfo, "a load-balancer ingress with ipMode Proxy, or without an IP, gets no rules"},
	{"KPC012", "service-ignored", SeverityInfo, "a Service labelled service.kubernetes.io/service-proxy-name is left to another proxy"},
	{"KPC013", "slice-ignored", SeverityWarning, "kube-proxy ignores an EndpointSlice (FQDN, headless label, no service-name label)"},
	{"KPC014", "slice-port-ignored", SeverityWarning, "an EndpointSlice port without a port number is ignored"},
	{"KPC015", "extra-addresses", SeverityInfo, "an endpoint has several addresses; kube-proxy uses the first"},
	{"KPC016", "duplicate-endpoint", SeverityInfo, "one address and port is an endpoint in two EndpointSlices of a Service"},
	{"KPC017", "iptables-scale", SeverityWarning, "thousands of service ports in iptables mode; nftables mode scales better"},
	{"KPC018", "frontend-collision", SeverityError, "two Services claim one external or load-balancer IP, port and protocol"},
}

// IPTablesScaleThreshold is the number of service ports from which lint
// suggests nftables mode. Vendors' guidance puts iptables mode's limit
// between 1,000 and 3,000 Services; the first packet of every connection
// scans KUBE-SERVICES linearly, and each full resync rewrites every rule.
const IPTablesScaleThreshold = 1000

func checkByID(id string) Check {
	for _, c := range Checks {
		if c.ID == id {
			return c
		}
	}
	panic("unknown lint check " + id)
}

// Finding is one lint finding.
type Finding struct {
	Check
	Pos     compiler.Pos
	Object  string // "Service ns/name"
	Message string
}

func (f Finding) String() string {
	return f.Pos.String() + ": " + string(f.Severity) + " " + f.ID + " (" + f.Name + "): " + f.Object + ": " + f.Message
}

type linter struct {
	snap     *compiler.Snapshot
	opts     compiler.Options
	findings []Finding
}

func (l *linter) report(id string, pos compiler.Pos, object, format string, args ...any) {
	l.findings = append(l.findings, Finding{Check: checkByID(id), Pos: pos, Object: object, Message: fmt.Sprintf(format, args...)})
}

// Lint checks a snapshot for one node. Findings are sorted by position,
// then ID.
func Lint(snap *compiler.Snapshot, opts compiler.Options) []Finding {
	l := &linter{snap: snap, opts: opts}
	services := map[string]*compiler.Service{}
	for _, s := range snap.Services {
		services[s.Obj.Namespace+"/"+s.Obj.Name] = s
	}
	l.slices(services)
	l.servicesWithoutSlices()
	l.model()
	l.serviceFields()
	l.collisions()
	sort.SliceStable(l.findings, func(i, j int) bool {
		a, b := l.findings[i], l.findings[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.ID < b.ID
	})
	return l.findings
}

func sliceObject(s *compiler.Slice) string {
	if s.Mirrored {
		return "Endpoints " + s.Obj.Namespace + "/" + s.Obj.Labels[compiler.LabelServiceName]
	}
	return "EndpointSlice " + s.Obj.Namespace + "/" + s.Obj.Name
}

// slices checks every EndpointSlice against its Service.
func (l *linter) slices(services map[string]*compiler.Service) {
	seen := map[string]string{} // service port key + endpoint -> slice
	for _, s := range l.snap.Slices {
		es, obj := s.Obj, sliceObject(s)
		switch {
		case es.AddressType == discovery.AddressTypeFQDN:
			l.report("KPC013", s.Pos, obj, "addressType FQDN: kube-proxy only reads IPv4 and IPv6 slices")
			continue
		case compiler.SliceSkipReason(es) != "":
			l.report("KPC013", s.Pos, obj, "kube-proxy ignores it: %s", compiler.SliceSkipReason(es))
			continue
		}
		svcName := es.Labels[compiler.LabelServiceName]
		svc := services[es.Namespace+"/"+svcName]
		switch {
		case svc == nil && s.Mirrored:
			l.report("KPC001", s.Pos, obj, "the input has no Service %s/%s (an Endpoints object belongs to the Service of its name): its endpoints serve nothing", es.Namespace, svcName)
		case svc == nil:
			l.report("KPC001", s.Pos, obj, "its %s label names Service %s/%s, which the input does not have: its endpoints serve nothing", compiler.LabelServiceName, es.Namespace, svcName)
		}
		for i, p := range es.Ports {
			name, proto := "", v1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if p.Port == nil || *p.Port == 0 {
				l.report("KPC014", s.Pos, obj, "ports[%d] (name %q) has no port number: kube-proxy ignores it", i, name)
				continue
			}
			if svc != nil && !servicePortMatches(svc.Obj, name, proto) {
				l.report("KPC002", s.Pos, obj, "ports[%d] (name %q, %s) matches no port of Service %s/%s (its ports: %s): no traffic reaches these endpoints on port %d",
					i, name, proto, es.Namespace, svcName, servicePortList(svc.Obj), *p.Port)
			}
			for j, ep := range es.Endpoints {
				if len(ep.Addresses) == 0 {
					continue
				}
				key := es.Namespace + "/" + svcName + ":" + name + "/" + string(proto) + " " + ep.Addresses[0] + ":" + strconv.Itoa(int(*p.Port))
				if first, ok := seen[key]; ok && first != obj {
					l.report("KPC016", s.Pos, obj, "endpoints[%d] %s port %d is also an endpoint in %s: kube-proxy keeps one (a ready copy over a terminating one)", j, ep.Addresses[0], *p.Port, first)
				} else if !ok {
					seen[key] = obj
				}
			}
		}
		for j, ep := range es.Endpoints {
			if len(ep.Addresses) > 1 {
				l.report("KPC015", s.Pos, obj, "endpoints[%d] has %d addresses: kube-proxy uses only %s", j, len(ep.Addresses), ep.Addresses[0])
			}
		}
	}
}

func servicePortMatches(svc *v1.Service, name string, proto v1.Protocol) bool {
	for _, p := range svc.Spec.Ports {
		pp := p.Protocol
		if pp == "" {
			pp = v1.ProtocolTCP
		}
		if p.Name == name && pp == proto {
			return true
		}
	}
	return false
}

func servicePortList(svc *v1.Service) string {
	var out []string
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		out = append(out, strconv.Quote(p.Name)+" "+string(proto))
	}
	return strings.Join(out, ", ")
}

// servicesWithoutSlices finds selector Services nothing gives endpoints.
func (l *linter) servicesWithoutSlices() {
	has := map[string]bool{}
	for _, s := range l.snap.Slices {
		has[s.Obj.Namespace+"/"+s.Obj.Labels[compiler.LabelServiceName]] = true
	}
	for _, s := range l.snap.Services {
		svc := s.Obj
		if compiler.SkipReason(svc) != "" || len(svc.Spec.Selector) == 0 || has[svc.Namespace+"/"+svc.Name] {
			continue
		}
		l.report("KPC003", s.Pos, "Service "+svc.Namespace+"/"+svc.Name, "has a selector but the input has no EndpointSlice for it: kube-proxy rejects its traffic")
	}
}

// model checks what the node makes of each service port.
func (l *linter) model() {
	m := compiler.BuildModel(l.snap, &l.opts)
	node := l.opts.NodeName
	for _, sp := range m.ServicePorts {
		obj := "Service " + sp.Namespace + "/" + sp.Name
		cat := compiler.CategorizeEndpoints(sp, node, l.opts.NodeZone)
		switch {
		case len(sp.Endpoints) > 0 && !cat.HasAny:
			l.report("KPC004", sp.Pos, obj, "port %s has %d endpoints, none ready or serving while terminating: kube-proxy rejects its traffic", portLabel(sp), len(sp.Endpoints))
		case !cat.HasAny:
		case sp.ExternalPolicyLocal && sp.ExternallyAccessible() && len(cat.Local) == 0:
			msg := "port %s: externalTrafficPolicy Local and no endpoint on node %s: this node drops external traffic to it"
			if sp.HealthCheckNodePort != 0 {
				msg += fmt.Sprintf(" (its health check node port %d reports the node unhealthy to the load balancer)", sp.HealthCheckNodePort)
			}
			l.report("KPC005", sp.Pos, obj, msg, portLabel(sp), node)
		}
		if cat.HasAny && sp.InternalPolicyLocal && len(cat.Local) == 0 {
			l.report("KPC006", sp.Pos, obj, "port %s: internalTrafficPolicy Local and no endpoint on node %s: pods on this node cannot reach it by its cluster IP", portLabel(sp), node)
		}
	}
	if l.opts.Mode == compiler.ModeIPTables && len(m.ServicePorts) >= IPTablesScaleThreshold {
		pos := compiler.Pos{}
		if len(l.snap.Services) > 0 {
			pos = compiler.Pos{File: l.snap.Services[0].Pos.File}
		}
		l.report("KPC017", pos, "input", "%d service ports with %d endpoints in iptables mode: the first packet of every connection scans KUBE-SERVICES linearly and every full resync rewrites all rules; kube-proxy's nftables mode (--proxy-mode nftables) dispatches through verdict maps and updates incrementally (compare them with kubeproxyc inspect)",
			len(m.ServicePorts), m.TotalEndpoints)
	}
}

func portLabel(sp *compiler.ServicePort) string {
	if sp.PortName == "" {
		return strconv.Itoa(sp.Port) + "/" + sp.ProtoLower
	}
	return sp.PortName + " (" + strconv.Itoa(sp.Port) + "/" + sp.ProtoLower + ")"
}

// serviceFields checks fields kube-proxy ignores or that are deprecated.
func (l *linter) serviceFields() {
	for _, s := range l.snap.Services {
		svc := s.Obj
		obj := "Service " + svc.Namespace + "/" + svc.Name
		if _, ok := svc.Labels[compiler.LabelServiceProxyName]; ok {
			l.report("KPC012", s.Pos, obj, "labelled %s=%s: kube-proxy leaves it to that proxy and programs nothing", compiler.LabelServiceProxyName, svc.Labels[compiler.LabelServiceProxyName])
			continue
		}
		if compiler.SkipReason(svc) != "" {
			continue
		}
		if len(svc.Spec.ExternalIPs) > 0 {
			msg := "spec.externalIPs %s: deprecated since Kubernetes v1.36 (and a known way to intercept other traffic); use a LoadBalancer Service"
			if !l.opts.AllowServiceExternalIPs {
				msg += "; ignored here: AllowServiceExternalIPs=false"
			}
			l.report("KPC007", s.Pos, obj, msg, strings.Join(svc.Spec.ExternalIPs, ", "))
		}
		for i, r := range svc.Spec.LoadBalancerSourceRanges {
			p, ok := compiler.ParseCIDRSloppy(strings.TrimSpace(r))
			if !ok || p.Bits() != 0 {
				continue
			}
			msg := "spec.loadBalancerSourceRanges[%d] %s allows every source"
			if len(svc.Spec.LoadBalancerSourceRanges) > 1 {
				msg += ", so kube-proxy ignores the other ranges too"
			}
			l.report("KPC008", s.Pos, obj, msg, i, r)
		}
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			switch {
			case ing.IP == "":
				l.report("KPC011", s.Pos, obj, "status.loadBalancer.ingress[%d] has no ip (hostname %q): kube-proxy programs nothing for it", i, ing.Hostname)
			case ing.IPMode != nil && *ing.IPMode == v1.LoadBalancerIPModeProxy:
				l.report("KPC011", s.Pos, obj, "status.loadBalancer.ingress[%d] %s has ipMode Proxy: kube-proxy programs nothing for it (traffic must come through the load balancer)", i, ing.IP)
			}
		}
	}
}

// collisions finds addresses two Services claim. The API server never
// gives two Services one cluster IP or one node port (the loader rejects
// such input), but it lets externalIPs and load-balancer ingress IPs be
// anything: another Service's cluster IP, an address of a node (where
// they meet the node ports), or another Service's external IP.
func (l *linter) collisions() {
	type claim struct {
		svc string
		pos compiler.Pos
	}
	clusterIPs := map[string]string{}    // ip -> Service
	clusterPorts := map[string]bool{}    // ip port/proto of cluster IPs
	nodePorts := map[string]string{}     // port/proto -> Service
	frontendClaims := map[string]claim{} // ip:port/proto -> first Service
	local := map[string]bool{}
	for _, a := range l.opts.LocalAddresses() {
		local[a.String()] = true
	}
	type frontendAddr struct {
		svc, what, ip string
		pos           compiler.Pos
		ports         []v1.ServicePort
	}
	var fronts []frontendAddr
	for _, s := range l.snap.Services {
		svc := s.Obj
		if compiler.SkipReason(svc) != "" {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		for _, ip := range svc.Spec.ClusterIPs {
			if a, ok := compiler.ParseIPSloppy(ip); ok {
				clusterIPs[a.String()] = name
				for _, p := range svc.Spec.Ports {
					clusterPorts[a.String()+" "+portProto(p.Port, p.Protocol)] = true
				}
			}
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				nodePorts[portProto(p.NodePort, p.Protocol)] = name
			}
		}
		for _, ip := range svc.Spec.ExternalIPs {
			if a, ok := compiler.ParseIPSloppy(ip); ok {
				fronts = append(fronts, frontendAddr{name, "external IP", a.String(), s.Pos, svc.Spec.Ports})
			}
		}
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IPMode != nil && *ing.IPMode != v1.LoadBalancerIPModeVIP {
				continue
			}
			if a, ok := compiler.ParseIPSloppy(ing.IP); ok {
				fronts = append(fronts, frontendAddr{name, "load-balancer IP", a.String(), s.Pos, svc.Spec.Ports})
			}
		}
	}
	for _, f := range fronts {
		obj := "Service " + f.svc
		if owner, ok := clusterIPs[f.ip]; ok && owner != f.svc {
			shadowed := ""
			for _, p := range f.ports {
				if clusterPorts[f.ip+" "+portProto(p.Port, p.Protocol)] {
					shadowed = portProto(p.Port, p.Protocol)
				}
			}
			if shadowed != "" {
				l.report("KPC010", f.pos, obj, "%s %s is Service %s's cluster IP, and both have port %s: which Service gets that traffic depends on rule order", f.what, f.ip, owner, shadowed)
			} else {
				l.report("KPC010", f.pos, obj, "%s %s is Service %s's cluster IP", f.what, f.ip, owner)
			}
		}
		for _, p := range f.ports {
			pp := portProto(p.Port, p.Protocol)
			if owner, ok := nodePorts[pp]; ok && local[f.ip] {
				l.report("KPC009", f.pos, obj, "%s %s is an address of node %s, and port %s is Service %s's node port: on that address the node port is shadowed", f.what, f.ip, l.opts.NodeName, pp, owner)
			}
			key := f.ip + ":" + pp
			if first, ok := frontendClaims[key]; ok && first.svc != f.svc {
				l.report("KPC018", f.pos, obj, "%s %s port %s is also claimed by Service %s: the first rule wins", f.what, f.ip, pp, first.svc)
			} else if !ok {
				frontendClaims[key] = claim{f.svc, f.pos}
			}
		}
	}
}

func portProto(port int32, proto v1.Protocol) string {
	if proto == "" {
		proto = v1.ProtocolTCP
	}
	return strconv.Itoa(int(port)) + "/" + string(proto)
}

// LintSummary counts findings by severity.
func LintSummary(fs []Finding) (errors, warnings, infos int) {
	for _, f := range fs {
		switch f.Severity {
		case SeverityError:
			errors++
		case SeverityWarning:
			warnings++
		default:
			infos++
		}
	}
	return errors, warnings, infos
}

// WriteLintText writes findings one per line, then a count.
func WriteLintText(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		bw.WriteString(f.String())
		bw.WriteByte('\n')
	}
	e, wn, i := LintSummary(fs)
	fmt.Fprintf(bw, "%d findings: %d errors, %d warnings, %d info\n", len(fs), e, wn, i)
	return bw.Flush()
}

// WriteLintJSON writes findings as a JSON array.
func WriteLintJSON(w io.Writer, fs []Finding) error {
	type jsonFinding struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Severity Severity `json:"severity"`
		File     string   `json:"file"`
		Line     int      `json:"line"`
		Object   string   `json:"object"`
		Message  string   `json:"message"`
	}
	out := []jsonFinding{}
	for _, f := range fs {
		out = append(out, jsonFinding{f.ID, f.Name, f.Severity, f.Pos.File, f.Pos.Line, f.Object, f.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
