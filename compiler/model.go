package compiler

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Labels kube-proxy's informers filter on.
const (
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	LabelHeadless         = "service.kubernetes.io/headless"
	LabelServiceName      = "kubernetes.io/service-name"
)

// Model is the backend-neutral view of one node's services for one IP
// family: what kube-proxy's service and endpoints maps hold after a full
// sync.
type Model struct {
	Family Family
	// ServicePorts in ascending NameString order.
	ServicePorts []*ServicePort
	// TotalEndpoints counts the endpoints of every service port (any
	// condition), the number kube-proxy compares with its large-cluster
	// threshold.
	TotalEndpoints int
}

// ServicePort is one port of one Service, as one proxier sees it.
type ServicePort struct {
	Namespace, Name, PortName string
	// NameString is kube-proxy's ServicePortName string:
	// "namespace/name:portname", or "namespace/name" for an unnamed port.
	NameString string
	Protocol   v1.Protocol // TCP, UDP or SCTP
	ProtoLower string      // tcp, udp or sctp

	ClusterIP           netip.Addr
	Port                int
	NodePort            int
	ExternalIPs         []netip.Addr // of this family, after the AllowServiceExternalIPs gate
	LoadBalancerVIPs    []netip.Addr // ingress IPs of this family with ipMode VIP
	SourceRanges        []netip.Prefix
	SessionAffinity     bool
	StickyMaxAgeSeconds int
	ExternalPolicyLocal bool
	InternalPolicyLocal bool
	HealthCheckNodePort int
	// externallyAccessible is kube-proxy's BaseServicePortInfo view: a node
	// port, LB VIPs or external IPs of this family (before the gate).
	externallyAccessible bool

	Type     v1.ServiceType
	Selector bool // the Service has a selector
	Pos      Pos  // where the Service was read

	// Endpoints are all endpoints of this service port, in ascending
	// String order (kube-proxy's byEndpoint).
	Endpoints []*Endpoint
}

// ExternallyAccessible reports whether the port is reachable other than
// through its ClusterIP (kube-proxy's ServicePort.ExternallyAccessible).
func (sp *ServicePort) ExternallyAccessible() bool { return sp.externallyAccessible }

// UsesClusterEndpoints reports whether the port ever sends traffic to
// endpoints chosen by the Cluster traffic policy.
func (sp *ServicePort) UsesClusterEndpoints() bool {
	return !sp.InternalPolicyLocal || sp.externallyAccessible
}

// UsesLocalEndpoints reports whether the port ever sends traffic to
// endpoints chosen by the Local traffic policy.
func (sp *ServicePort) UsesLocalEndpoints() bool {
	return sp.InternalPolicyLocal || (sp.ExternalPolicyLocal && sp.externallyAccessible)
}

// Endpoint is one endpoint of one service port. A big cluster has a
// million of them, so the struct is kept small: what few endpoints have
// (topology hints) and what every endpoint of a slice shares (where it was
// read) sit behind pointers.
type Endpoint struct {
	IP   netip.Addr
	Port int
	// String is "ip:port" ("[ip]:port" for IPv6), kube-proxy's endpoint key.
	String   string
	NodeName string
	Zone     string
	Hints    *EndpointHints  // nil when the endpoint has none
	Source   *EndpointSource // the EndpointSlice it came from; nil when built by hand

	Ready       bool // ready (unset counts as true)
	Serving     bool // serving (unset counts as true)
	Terminating bool // terminating (unset counts as false)
	IsLocal     bool // on this node
}

// EndpointHints are an endpoint's topology hints.
type EndpointHints struct {
	Zones []string // hints.forZones names
	Nodes []string // hints.forNodes names
}

// EndpointSource is the EndpointSlice endpoints were read from.
type EndpointSource struct {
	Slice string // namespace/name
	Pos   Pos
}

// ZoneHints are the endpoint's hints.forZones names, or nil.
func (e *Endpoint) ZoneHints() []string {
	if e.Hints == nil {
		return nil
	}
	return e.Hints.Zones
}

// NodeHints are the endpoint's hints.forNodes names, or nil.
func (e *Endpoint) NodeHints() []string {
	if e.Hints == nil {
		return nil
	}
	return e.Hints.Nodes
}

// SliceName is the namespace/name of the endpoint's EndpointSlice, or "".
func (e *Endpoint) SliceName() string {
	if e.Source == nil {
		return ""
	}
	return e.Source.Slice
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// BuildModel applies kube-proxy's service and endpoint handling for
// opts.Family to a loaded snapshot.
func BuildModel(snap *Snapshot, opts *Options) *Model {
	m := &Model{Family: opts.Family}
	n := 0
	for _, s := range snap.Services {
		n += len(s.Obj.Spec.Ports)
	}
	// One allocation for all service ports and one arena for their names.
	b := spBuilder{slab: make([]ServicePort, 0, n)}
	m.ServicePorts = make([]*ServicePort, 0, n)
	for _, s := range snap.Services {
		m.ServicePorts = b.add(m.ServicePorts, s, opts)
	}
	slices.SortFunc(m.ServicePorts, func(a, b *ServicePort) int {
		if c := strings.Compare(a.NameString, b.NameString); c != 0 {
			return c
		}
		return strings.Compare(string(a.Protocol), string(b.Protocol))
	})
	eps := endpointsByServicePort(snap, opts)
	sps := m.ServicePorts
	for i, sp := range sps {
		if i > 0 && sameServicePort(sps[i-1], sp) {
			continue // shares the list of the one before, below
		}
		sp.Endpoints = eps[spKey{sp.Namespace, sp.Name, sp.PortName, sp.Protocol}]
	}
	// Ordering the lists is independent per port: on all CPUs for a big
	// model.
	n = 0
	for _, sp := range sps {
		n += len(sp.Endpoints)
	}
	runs := splitRuns(len(sps), n, procs(), func(i int) int { return len(sps[i].Endpoints) })
	inParallel(runs, func(_ int, r run) {
		for _, sp := range sps[r.from:r.to] {
			sp.Endpoints = dedupEndpoints(sp.Endpoints)
			if len(sp.Endpoints) == 0 {
				sp.Endpoints = nil
			}
		}
	})
	for i, sp := range sps {
		if i > 0 && sameServicePort(sps[i-1], sp) {
			sp.Endpoints = sps[i-1].Endpoints
		}
		m.TotalEndpoints += len(sp.Endpoints)
	}
	return m
}

// sameServicePort reports whether a and b are the same port of the same
// Service (which validation refuses, but a port must still not be ordered
// twice at once).
func sameServicePort(a, b *ServicePort) bool {
	return a.NameString == b.NameString && a.Protocol == b.Protocol
}

// dedupEndpoints sorts one service port's endpoints by String and keeps
// one per String, as kube-proxy's cache does when it adds the slices in
// name order: the first, unless a later copy is not terminating (the last
// such copy wins). Copies are ordered by the name of their slice (all
// slices of a service port share a namespace), then by input order. It
// works in place.
func dedupEndpoints(list []*Endpoint) []*Endpoint {
	slices.SortStableFunc(list, func(a, b *Endpoint) int {
		if c := strings.Compare(a.String, b.String); c != 0 {
			return c
		}
		return strings.Compare(a.SliceName(), b.SliceName())
	})
	out := list[:0]
	for i := 0; i < len(list); {
		pick, j := list[i], i+1
		for ; j < len(list) && list[j].String == pick.String; j++ {
			if !list[j].Terminating {
				pick = list[j]
			}
		}
		out = append(out, pick)
		i = j
	}
	return out
}

type spKey struct {
	ns, name, port string
	proto          v1.Protocol
}

// SkipReason says why kube-proxy ignores a Service, or "" when it does not.
func SkipReason(svc *v1.Service) string {
	if _, ok := svc.Labels[LabelServiceProxyName]; ok {
		return "it is labelled " + LabelServiceProxyName + " (served by another proxy)"
	}
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		return "it is of type ExternalName"
	}
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		return "it is headless (clusterIP: None)"
	}
	if svc.Spec.ClusterIP == "" {
		return "it has no clusterIP"
	}
	return ""
}

// clusterIPByFamily is kube-proxy's GetClusterIPByFamily.
func clusterIPByFamily(f Family, svc *v1.Service) string {
	if len(svc.Spec.IPFamilies) == 0 {
		ip := svc.Spec.ClusterIP
		if ip == "" || ip == v1.ClusterIPNone {
			return ""
		}
		if (f == IPv6) == strings.Contains(ip, ":") {
			return ip
		}
		return ""
	}
	for i, fam := range svc.Spec.IPFamilies {
		if string(fam) == string(f) && i < len(svc.Spec.ClusterIPs) {
			return svc.Spec.ClusterIPs[i]
		}
	}
	return ""
}

// spBuilder hands out service ports from one slab, with names from one
// arena.
type spBuilder struct {
	slab  []ServicePort
	names stringArena
}

// add appends the service ports of s to dst.
func (b *spBuilder) add(dst []*ServicePort, s *Service, opts *Options) []*ServicePort {
	svc := s.Obj
	if SkipReason(svc) != "" {
		return dst
	}
	cip, ok := ParseIPSloppy(clusterIPByFamily(opts.Family, svc))
	if !ok {
		return dst
	}
	spec := &svc.Spec
	accessible := spec.Type == v1.ServiceTypeLoadBalancer || spec.Type == v1.ServiceTypeNodePort ||
		(spec.Type == v1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	etpLocal := accessible && spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
	itpLocal := spec.InternalTrafficPolicy != nil && *spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal

	var extIPs []netip.Addr
	for _, s := range spec.ExternalIPs {
		if ip, ok := ParseIPSloppy(s); ok && opts.Family.Is(ip) {
			extIPs = append(extIPs, ip)
		}
	}
	var ranges []netip.Prefix
	zero := false
	for _, r := range spec.LoadBalancerSourceRanges {
		p, ok := ParseCIDRSloppy(strings.TrimSpace(r))
		if !ok || !opts.Family.Is(p.Addr()) {
			continue
		}
		if p.Bits() == 0 {
			zero = true
		}
		ranges = append(ranges, p.Masked())
	}
	if zero {
		ranges = nil
	}
	var vips []netip.Addr
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP == "" || (ing.IPMode != nil && *ing.IPMode != v1.LoadBalancerIPModeVIP) {
			continue
		}
		if ip, ok := ParseIPSloppy(ing.IP); ok && opts.Family.Is(ip) {
			vips = append(vips, ip)
		}
	}
	sticky := 0
	affinity := spec.SessionAffinity == v1.ServiceAffinityClientIP
	if affinity {
		sticky = int(v1.DefaultClientIPServiceAffinitySeconds)
		if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			sticky = int(*c.ClientIP.TimeoutSeconds)
		}
	}
	hc := 0
	if spec.Type == v1.ServiceTypeLoadBalancer && etpLocal {
		hc = int(spec.HealthCheckNodePort)
	}
	gatedExt := extIPs
	if !opts.AllowServiceExternalIPs {
		gatedExt = nil
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		name := b.names.servicePortName(svc.Namespace, svc.Name, p.Name)
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		b.slab = append(b.slab, ServicePort{
			Namespace:            svc.Namespace,
			Name:                 svc.Name,
			PortName:             p.Name,
			NameString:           name,
			Protocol:             proto,
			ProtoLower:           protoLower(proto),
			ClusterIP:            cip,
			Port:                 int(p.Port),
			NodePort:             int(p.NodePort),
			ExternalIPs:          gatedExt,
			LoadBalancerVIPs:     vips,
			SourceRanges:         ranges,
			SessionAffinity:      affinity,
			StickyMaxAgeSeconds:  sticky,
			ExternalPolicyLocal:  etpLocal,
			InternalPolicyLocal:  itpLocal,
			HealthCheckNodePort:  hc,
			externallyAccessible: p.NodePort != 0 || len(vips) > 0 || len(extIPs) > 0,
			Type:                 spec.Type,
			Selector:             len(spec.Selector) > 0,
			Pos:                  s.Pos,
		})
		dst = append(dst, &b.slab[len(b.slab)-1])
	}
	return dst
}

// protoLower is the lower-case protocol name, without an allocation for
// the three kube-proxy knows.
func protoLower(p v1.Protocol) string {
	switch p {
	case v1.ProtocolTCP:
		return "tcp"
	case v1.ProtocolUDP:
		return "udp"
	case v1.ProtocolSCTP:
		return "sctp"
	}
	return strings.ToLower(string(p))
}

// endpointsByServicePort is kube-proxy's EndpointSliceCache for one family:
// endpoints keyed by service port, in input order; dedupEndpoints orders
// them and drops copies, so that the result does not depend on input
// order. A big snapshot's slices are read on all CPUs, in runs of
// consecutive slices whose lists are joined in run order: the same lists
// as one pass.
func endpointsByServicePort(snap *Snapshot, opts *Options) map[spKey][]*Endpoint {
	want := discovery.AddressTypeIPv4
	if opts.Family == IPv6 {
		want = discovery.AddressTypeIPv6
	}
	taken := make([]*Slice, 0, len(snap.Slices))
	total := 0
	for _, s := range snap.Slices {
		if SliceSkipReason(s.Obj) == "" && s.Obj.AddressType == want {
			taken = append(taken, s)
			total += len(s.Obj.Endpoints)
		}
	}
	runs := splitRuns(len(taken), total, procs(), func(i int) int { return len(taken[i].Obj.Endpoints) })
	parts := make([]map[spKey][]*Endpoint, len(runs))
	inParallel(runs, func(k int, r run) {
		parts[k] = sliceEndpoints(taken[r.from:r.to], opts)
	})
	out := parts[0]
	for _, part := range parts[1:] {
		// Joining in run order keeps each list in input order; which key
		// is joined first does not matter.
		for key, list := range part {
			out[key] = append(out[key], list...)
		}
	}
	return out
}

// sliceEndpoints reads the endpoints of some slices, by service port, in
// input order. The endpoints, the lists' storage and the slices' sources
// each come from one allocation for all the slices.
func sliceEndpoints(slices []*Slice, opts *Options) map[spKey][]*Endpoint {
	n := 0
	for _, s := range slices {
		for _, port := range s.Obj.Ports {
			if usablePort(port) {
				n += len(s.Obj.Endpoints)
			}
		}
	}
	slab := make([]Endpoint, 0, n)
	ptrs := make([]*Endpoint, 0, n)
	sources := make([]EndpointSource, len(slices))
	out := make(map[spKey][]*Endpoint, len(slices))
	var arena stringArena
	for si, s := range slices {
		es := s.Obj
		src := &sources[si]
		*src = EndpointSource{Slice: arena.join(es.Namespace, "/", es.Name), Pos: s.Pos}
		svcName := es.Labels[LabelServiceName]
		for _, port := range es.Ports {
			if !usablePort(port) {
				continue
			}
			proto := v1.ProtocolTCP
			if port.Protocol != nil {
				proto = *port.Protocol
			}
			key := spKey{es.Namespace, svcName, *port.Name, proto}
			first := len(ptrs)
			for i := range es.Endpoints {
				slab = slab[:len(slab)+1]
				ep := &slab[len(slab)-1]
				if !newEndpoint(ep, &es.Endpoints[i], int(*port.Port), opts, &arena) {
					slab = slab[:len(slab)-1]
					continue
				}
				ep.Source = src
				ptrs = append(ptrs, ep)
			}
			// The slice and port's endpoints are consecutive in ptrs; a
			// service port's first slice uses them in place (capped, so
			// that a later slice's append copies instead of overwriting).
			if list := out[key]; list != nil {
				out[key] = append(list, ptrs[first:]...)
			} else if len(ptrs) > first {
				out[key] = ptrs[first:len(ptrs):len(ptrs)]
			}
		}
	}
	return out
}

// usablePort reports whether kube-proxy reads endpoints for an
// EndpointSlice port: it needs a name (possibly empty) and a port.
func usablePort(port discovery.EndpointPort) bool {
	return port.Name != nil && port.Port != nil && *port.Port != 0
}

// SliceSkipReason says why kube-proxy ignores an EndpointSlice, or "".
func SliceSkipReason(es *discovery.EndpointSlice) string {
	if _, ok := es.Labels[LabelHeadless]; ok {
		return "it is labelled " + LabelHeadless
	}
	if es.Labels[LabelServiceName] == "" {
		return "it has no " + LabelServiceName + " label"
	}
	if es.Namespace == "" {
		return "it has no namespace"
	}
	return ""
}

// newEndpoint fills ep from e; it reports false for an endpoint without a
// usable address.
func newEndpoint(ep *Endpoint, e *discovery.Endpoint, port int, opts *Options, arena *stringArena) bool {
	if len(e.Addresses) == 0 {
		return false
	}
	ip, ok := ParseIPSloppy(e.Addresses[0])
	if !ok {
		return false
	}
	*ep = Endpoint{
		IP:          ip,
		Port:        port,
		String:      arena.hostPort(ip, port),
		Ready:       e.Conditions.Ready == nil || *e.Conditions.Ready,
		Serving:     e.Conditions.Serving == nil || *e.Conditions.Serving,
		Terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
	}
	if e.NodeName != nil {
		ep.NodeName = *e.NodeName
		ep.IsLocal = opts.NodeName != "" && *e.NodeName == opts.NodeName
	}
	if e.Zone != nil {
		ep.Zone = *e.Zone
	}
	if e.Hints != nil && (len(e.Hints.ForZones) > 0 || len(e.Hints.ForNodes) > 0) {
		h := &EndpointHints{}
		for _, z := range e.Hints.ForZones {
			h.Zones = append(h.Zones, z.Name)
		}
		for _, n := range e.Hints.ForNodes {
			h.Nodes = append(h.Nodes, n.Name)
		}
		ep.Hints = h
	}
	return true
}

// JoinHostPort formats "ip:port", bracketing IPv6 addresses.
func JoinHostPort(ip netip.Addr, port int) string {
	if ip.Is4() {
		return ip.String() + ":" + strconv.Itoa(port)
	}
	return "[" + ip.String() + "]:" + strconv.Itoa(port)
}

// ParseIPSloppy parses an IP address the way Kubernetes' ParseIPSloppy
// does: IPv4 octets may carry leading zeros (read as decimal), and
// IPv4-mapped IPv6 addresses are IPv4.
func ParseIPSloppy(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	if strings.Contains(s, ":") || s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return netip.Addr{}, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 || p[0] == '+' || p[0] == '-' {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// ParseCIDRSloppy parses a CIDR like Kubernetes' ParseCIDRSloppy.
func ParseCIDRSloppy(s string) (netip.Prefix, bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return netip.Prefix{}, false
	}
	ip, ok := ParseIPSloppy(s[:i])
	if !ok {
		return netip.Prefix{}, false
	}
	bitsStr := s[i+1:]
	if bitsStr == "" || len(bitsStr) > 3 {
		return netip.Prefix{}, false
	}
	bits, err := strconv.Atoi(bitsStr)
	if err != nil || bits < 0 || bits > ip.BitLen() || bitsStr[0] == '+' || bitsStr[0] == '-' {
		return netip.Prefix{}, false
	}
	if strings.Contains(s[:i], ":") && ip.Is4() {
		// an IPv4-mapped IPv6 CIDR: net.ParseCIDR keeps it IPv6-sized
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, bits), true
}

func sortAddrsByString(a []netip.Addr) {
	sort.Slice(a, func(i, j int) bool { return a[i].String() < a[j].String() })
}
