package gen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Case is one generated snapshot: the objects, in document order, and
// the node they are compiled for.
type Case struct {
	Seed    uint64
	Node    Node
	Objects []runtime.Object // *v1.Service, *discovery.EndpointSlice, *v1.Endpoints
}

// Pools the generator draws from. Names are chosen so that their order as
// strings is interesting ("a" < "a-b" < "ab", "web" < "web2").
var (
	namespaces   = []string{"default", "ns1", "kube-system", "a"}
	serviceNames = []string{"web", "web2", "api", "db", "dns", "a", "a-b", "ab", "x1", "metrics"}
	portNames    = []string{"http", "https", "dns", "grpc-web", "p1", "a", "metrics"}
	commonPorts  = []int32{53, 80, 443, 8080, 9000, 1, 65535}
	nodeNames    = []string{"node1", "node2", "node3", "worker-7"}
	zones        = []string{"zone-a", "zone-b", "zone-c"}
	protocols    = []v1.Protocol{v1.ProtocolTCP, v1.ProtocolTCP, v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolUDP, v1.ProtocolSCTP}
)

type generator struct {
	r        *rand.Rand
	c        *Case
	large    bool
	chaos    bool // conditions at random, many duplicates and hints
	nodePort map[int32]bool
	frontend map[string]bool // "ip/protocol/port" of external and LB IPs in use
	cipV4    int
	cipV6    int
	podV4    []string
	podV6    []string
	objs     []runtime.Object
}

// Generate returns the case for seed. About one seed in twenty is a large
// snapshot (more than 1000 endpoints: kube-proxy's large-cluster mode).
func Generate(seed uint64) *Case {
	g := &generator{
		r:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		c:        &Case{Seed: seed},
		nodePort: map[int32]bool{},
		frontend: map[string]bool{},
	}
	g.large = g.r.IntN(20) == 0
	g.chaos = g.r.IntN(6) == 0
	g.c.Node = g.node()
	g.pods()
	nsvc := 1 + g.r.IntN(8)
	if g.large {
		nsvc = 1 + g.r.IntN(4)
	}
	names := map[string]bool{}
	for i := 0; i < nsvc; i++ {
		ns := pick(g.r, namespaces)
		name := pick(g.r, serviceNames)
		if names[ns+"/"+name] {
			continue
		}
		names[ns+"/"+name] = true
		g.service(ns, name, g.large && i == 0)
	}
	if g.r.IntN(20) == 0 {
		g.orphanSlice()
	}
	if chance(g.r, 12) {
		g.nodeObject()
	}
	if chance(g.r, 8) {
		g.serviceCIDRObject()
	}
	repairDuplicates(g.objs)
	g.r.Shuffle(len(g.objs), func(i, j int) { g.objs[i], g.objs[j] = g.objs[j], g.objs[i] })
	g.c.Objects = g.objs
	return g.c
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func chance(r *rand.Rand, percent int) bool { return r.IntN(100) < percent }

// node draws the node flags.
func (g *generator) node() Node {
	r := g.r
	n := DefaultNode()
	switch x := r.IntN(100); {
	case x < 85:
	case x < 93:
		n.Hostname = "node2"
	case x < 98:
		n.Hostname = "worker-7"
	default:
		n.Hostname = "Node1" // kube-proxy lower-cases the host name
	}
	if chance(r, 60) {
		v4 := pick(r, []string{"192.168.0.2", "192.168.0.3", "10.0.0.5"})
		v6 := pick(r, []string{"fd00::2", "fd00::3", "2001:db8::5"})
		ips := []string{v4, v6}
		switch r.IntN(4) {
		case 0:
			ips = []string{v6, v4}
		case 1:
			ips = ips[:1] // IPv6 then uses the default node IP
		}
		for i := r.IntN(3); i > 0; i-- {
			ips = append(ips, pick(r, []string{"192.168.0.7", "10.1.1.1", "172.16.0.9", "fd00::7", "2001:db8::9", "fd00:1::1"}))
		}
		n.NodeIPs = dedupe(ips)
	}
	if chance(r, 50) {
		n.Zone = pick(r, zones)
	}
	switch x := r.IntN(100); {
	case x < 60:
	case x < 75:
		n.ClusterCIDRs = nil
	case x < 85:
		n.ClusterCIDRs = []string{"10.244.0.0/16"}
	case x < 92:
		n.ClusterCIDRs = []string{"fd00:10:244::/56"}
	default:
		n.ClusterCIDRs = []string{"10.0.0.0/8", "fd00::/48"}
	}
	switch x := r.IntN(100); {
	case x < 85:
	case x < 90:
		n.DetectLocalMode = "NodeCIDR"
		n.PodCIDRs = pick(r, [][]string{nil, {"10.244.1.0/24"}, {"10.244.1.0/24", "fd00:10:244:1::/64"}, {"fd00:10:244:1::/64"}})
	case x < 95:
		n.DetectLocalMode = "BridgeInterface"
		n.BridgeInterface = "cbr0"
	default:
		n.DetectLocalMode = "InterfaceNamePrefix"
		n.InterfaceNamePrefix = "veth"
	}
	n.MasqueradeAll = chance(r, 15)
	if chance(r, 25) {
		n.MasqueradeBit = r.IntN(32)
	}
	n.LocalhostNodePorts = chance(r, 80)
	switch x := r.IntN(100); {
	case x < 40:
	case x < 55:
		n.NodePortAddresses = []string{"primary"}
	default:
		pool := []string{"127.0.0.0/8", "::1/128", "0.0.0.0/0", "::/0", "192.168.0.0/16", "192.168.0.2/32",
			"10.0.0.0/8", "fd00::/64", "fd00::2/128", "2001:db8::/32", "172.16.0.0/12", "127.0.0.1/32"}
		for k := 1 + r.IntN(3); k > 0; k-- {
			n.NodePortAddresses = append(n.NodePortAddresses, pick(r, pool))
		}
		n.NodePortAddresses = dedupe(n.NodePortAddresses)
	}
	n.RandomFully = chance(r, 80)
	n.NFAcct = chance(r, 80)
	n.TCPBeLiberal = chance(r, 20)
	n.AllowServiceExternalIPs = chance(r, 90)
	if chance(r, 20) {
		n.ServiceCIDRs = pick(r, [][]string{{"10.96.0.0/16"}, {"10.96.0.0/12", "fd00:10:96::/112", "10.100.0.0/16"}, nil})
	}
	if chance(r, 20) {
		n.IPVSScheduler = pick(r, []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"})
	}
	n.IPVSStrictARP = chance(r, 10)
	if chance(r, 10) {
		n.IPVSExcludeCIDRs = []string{pick(r, []string{"10.96.0.0/24", "203.0.113.0/24", "fd00:10:96::/120"})}
	}
	return n
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pods fills the pools of pod IPs that services draw endpoints from, so
// that services share pods as they do in a cluster.
func (g *generator) pods() {
	n := 40
	if g.large {
		n = 1600
	}
	for i := 0; i < n; i++ {
		g.podV4 = append(g.podV4, fmt.Sprintf("10.244.%d.%d", i/200, 2+i%200))
		// canonical form, as the API server requires
		g.podV6 = append(g.podV6, netip.MustParseAddr(fmt.Sprintf("fd00:10:244:%x::%x", i/200, 2+i%200)).String())
	}
}

func (g *generator) clusterIP(fam v1.IPFamily) string {
	if fam == v1.IPv6Protocol {
		g.cipV6 += 1 + g.r.IntN(300)
		return fmt.Sprintf("fd00:10:96::%x", g.cipV6)
	}
	g.cipV4 += 1 + g.r.IntN(300)
	return fmt.Sprintf("10.96.%d.%d", g.cipV4/250, 1+g.cipV4%250)
}

func (g *generator) allocNodePort() int32 {
	for {
		p := int32(30000 + g.r.IntN(2768))
		if !g.nodePort[p] {
			g.nodePort[p] = true
			return p
		}
	}
}

// service generates one Service and its endpoints.
func (g *generator) service(ns, name string, big bool) {
	r := g.r
	svc := &v1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
	}
	spec := &svc.Spec
	headless := false
	switch x := r.IntN(100); {
	case x < 40 || big:
		spec.Type = v1.ServiceTypeClusterIP
	case x < 60:
		spec.Type = v1.ServiceTypeNodePort
	case x < 88:
		spec.Type = v1.ServiceTypeLoadBalancer
	case x < 94:
		spec.Type = v1.ServiceTypeClusterIP
		headless = true
	default:
		spec.Type = v1.ServiceTypeExternalName
		spec.ExternalName = "svc.example.com"
	}
	if chance(r, 4) {
		svc.Labels = map[string]string{"service.kubernetes.io/service-proxy-name": "other-proxy"}
	}
	selector := chance(r, 80)
	if selector {
		spec.Selector = map[string]string{"app": name}
	}

	// IP families and cluster IPs.
	var fams []v1.IPFamily
	if spec.Type != v1.ServiceTypeExternalName {
		switch x := r.IntN(100); {
		case x < 40:
			fams = []v1.IPFamily{v1.IPv4Protocol}
		case x < 65:
			fams = []v1.IPFamily{v1.IPv6Protocol}
		case x < 85:
			fams = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
		default:
			fams = []v1.IPFamily{v1.IPv6Protocol, v1.IPv4Protocol}
		}
		policy := v1.IPFamilyPolicySingleStack
		if len(fams) == 2 {
			policy = pick(r, []v1.IPFamilyPolicy{v1.IPFamilyPolicyPreferDualStack, v1.IPFamilyPolicyRequireDualStack})
		} else if chance(r, 15) {
			policy = v1.IPFamilyPolicyPreferDualStack
		}
		if headless {
			spec.ClusterIP = v1.ClusterIPNone
			spec.ClusterIPs = []string{v1.ClusterIPNone}
		} else {
			for _, f := range fams {
				spec.ClusterIPs = append(spec.ClusterIPs, g.clusterIP(f))
			}
			spec.ClusterIP = spec.ClusterIPs[0]
		}
		spec.IPFamilies = fams
		spec.IPFamilyPolicy = &policy
		if len(fams) == 1 && !headless && chance(r, 15) {
			// as written by hand: the loaders derive the rest
			spec.ClusterIPs, spec.IPFamilies, spec.IPFamilyPolicy = nil, nil, nil
		}
	}

	// Ports.
	nports := 1 + r.IntN(3)
	if big {
		nports = 1
	}
	if headless && chance(r, 30) {
		nports = 0
	}
	usedName := map[string]bool{}
	usedPort := map[string]bool{}
	needsNodePort := spec.Type == v1.ServiceTypeNodePort || spec.Type == v1.ServiceTypeLoadBalancer
	if spec.Type == v1.ServiceTypeLoadBalancer && chance(r, 15) {
		spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		needsNodePort = false
	}
	for len(spec.Ports) < nports {
		p := v1.ServicePort{Protocol: pick(r, protocols)}
		if chance(r, 70) {
			p.Port = pick(r, commonPorts)
		} else {
			p.Port = int32(1 + r.IntN(65535))
		}
		key := fmt.Sprint(p.Port, p.Protocol)
		if usedPort[key] {
			continue
		}
		if nports > 1 || chance(r, 50) {
			p.Name = pick(r, portNames)
			if usedName[p.Name] {
				continue
			}
			usedName[p.Name] = true
		}
		usedPort[key] = true
		if chance(r, 60) {
			p.TargetPort = intstr.FromInt32(p.Port)
		} else if chance(r, 80) {
			p.TargetPort = intstr.FromInt32(int32(1 + r.IntN(65535)))
		} else {
			p.TargetPort = intstr.FromString("web")
		}
		if spec.Type == v1.ServiceTypeExternalName {
			p.TargetPort = intstr.IntOrString{}
		}
		if p.Protocol == v1.ProtocolTCP && chance(r, 10) {
			p.Protocol = "" // defaulted to TCP
		}
		if needsNodePort && !headless {
			p.NodePort = g.allocNodePort()
		}
		spec.Ports = append(spec.Ports, p)
	}
	external := spec.Type == v1.ServiceTypeNodePort || spec.Type == v1.ServiceTypeLoadBalancer
	if spec.Type != v1.ServiceTypeExternalName && !headless && chance(r, 25) {
		for k := 1 + r.IntN(2); k > 0; k-- {
			spec.ExternalIPs = append(spec.ExternalIPs, pick(r, []string{"198.51.100.7", "198.51.100.8", "2001:db8:e::7", "192.168.0.2", "fd00::2", "203.0.113.10"}))
		}
		spec.ExternalIPs = dedupe(spec.ExternalIPs)
		external = true
	}
	if external {
		spec.ExternalTrafficPolicy = pick(r, []v1.ServiceExternalTrafficPolicy{v1.ServiceExternalTrafficPolicyCluster, v1.ServiceExternalTrafficPolicyLocal, v1.ServiceExternalTrafficPolicyLocal})
		if spec.Type == v1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal {
			spec.HealthCheckNodePort = g.allocNodePort()
		}
		if chance(r, 10) && spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyCluster {
			spec.ExternalTrafficPolicy = "" // defaulted to Cluster
		}
	}
	if spec.Type != v1.ServiceTypeExternalName {
		switch x := r.IntN(100); {
		case x < 25:
			spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
		case x < 60:
			spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyCluster)
		}
		if chance(r, 30) && !headless {
			spec.SessionAffinity = v1.ServiceAffinityClientIP
			if chance(r, 60) {
				t := pick(r, []int32{1, 60, 10800, 86400, int32(1 + r.IntN(86400))})
				spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &t}}
			}
		} else if chance(r, 20) {
			spec.SessionAffinity = v1.ServiceAffinityNone
		}
		if chance(r, 20) {
			spec.TrafficDistribution = ptr.To(pick(r, []string{v1.ServiceTrafficDistributionPreferClose, v1.ServiceTrafficDistributionPreferSameZone, v1.ServiceTrafficDistributionPreferSameNode}))
		}
	}
	if spec.Type == v1.ServiceTypeLoadBalancer {
		g.loadBalancer(svc)
	}
	dropSharedFrontends(svc, g.frontend)
	if len(spec.ExternalIPs) == 0 && spec.Type == v1.ServiceTypeClusterIP {
		spec.ExternalTrafficPolicy = "" // no longer externally accessible
	}
	g.objs = append(g.objs, svc)

	if spec.Type == v1.ServiceTypeExternalName && !chance(r, 10) {
		return
	}
	if !selector && !big && chance(r, 60) {
		g.legacyEndpoints(svc, fams)
		if !chance(r, 20) {
			return // also slices sometimes: the Endpoints are then ignored
		}
	}
	g.slices(svc, fams, headless, big)
}

func (g *generator) loadBalancer(svc *v1.Service) {
	r := g.r
	for k := r.IntN(4); k > 0; k-- {
		ing := v1.LoadBalancerIngress{}
		switch x := r.IntN(100); {
		case x < 10:
			ing.Hostname = "lb.example.com"
		default:
			ing.IP = pick(r, []string{"203.0.113.10", "203.0.113.11", "2001:db8:1b::10", "2001:db8:1b::11", "192.168.0.2"})
			switch y := r.IntN(100); {
			case y < 40:
			case y < 75:
				ing.IPMode = ptr.To(v1.LoadBalancerIPModeVIP)
			default:
				ing.IPMode = ptr.To(v1.LoadBalancerIPModeProxy)
			}
		}
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, ing)
	}
	if chance(r, 45) {
		pool := []string{"203.0.113.0/24", "192.168.0.0/16", "0.0.0.0/0", "::/0", "10.0.0.0/8", "fd00::/64",
			"2001:db8::/32", "192.168.0.2/32", "198.51.100.0/24", "fd00::2/128"}
		var rs []string
		for k := 1 + r.IntN(3); k > 0; k-- {
			rs = append(rs, pick(r, pool))
		}
		svc.Spec.LoadBalancerSourceRanges = dedupe(rs)
	}
}

// endpointPorts returns the EndpointSlice ports for the service's ports:
// the target ports the EndpointSlice controller would resolve.
func (g *generator) endpointPorts(svc *v1.Service) []discovery.EndpointPort {
	var out []discovery.EndpointPort
	for _, p := range svc.Spec.Ports {
		port := p.TargetPort.IntVal
		if p.TargetPort.Type == intstr.String || port == 0 {
			port = 8080
		}
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		ep := discovery.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(port), Protocol: ptr.To(proto)}
		if p.Name == "" && chance(g.r, 20) {
			ep.Name = nil // defaulted to ""
		}
		out = append(out, ep)
	}
	return out
}

// slices generates the EndpointSlices of a service.
func (g *generator) slices(svc *v1.Service, fams []v1.IPFamily, headless, big bool) {
	r := g.r
	if len(fams) == 0 || chance(r, 5) {
		fams = append(slices.Clone(fams), pick(r, []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}))
		fams = dedupeFamilies(fams)
	}
	hinted := chance(r, 25) || (g.chaos && chance(r, 60))
	for _, fam := range fams {
		pool := g.podV4
		at := discovery.AddressTypeIPv4
		if fam == v1.IPv6Protocol {
			pool, at = g.podV6, discovery.AddressTypeIPv6
		}
		n := r.IntN(7)
		if big {
			n = pick(r, []int{995 + r.IntN(11), 1001 + r.IntN(500)})
		}
		if n > len(pool) {
			n = len(pool)
		}
		perm := r.Perm(len(pool))[:n]
		var eps []discovery.Endpoint
		for _, i := range perm {
			eps = append(eps, g.endpoint(pool[i], hinted))
		}
		nslices := 1 + r.IntN(3)
		if n == 0 && chance(r, 50) {
			nslices = 0
		}
		if big {
			nslices = 2 + r.IntN(2) // at most 1000 endpoints per slice
		}
		ports := g.endpointPorts(svc)
		var made []*discovery.EndpointSlice
		for s := 0; s < nslices; s++ {
			es := &discovery.EndpointSlice{
				TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				ObjectMeta: metav1.ObjectMeta{
					Namespace: svc.Namespace,
					Name:      fmt.Sprintf("%s-%s", svc.Name, randomSuffix(r)),
					Labels:    map[string]string{discovery.LabelServiceName: svc.Name, discovery.LabelManagedBy: "endpointslice-controller.k8s.io"},
				},
				AddressType: at,
				Ports:       g.slicePorts(ports),
			}
			if headless {
				es.Labels[v1.IsHeadlessService] = ""
			}
			if chance(r, 2) {
				delete(es.Labels, discovery.LabelServiceName)
			}
			made = append(made, es)
		}
		for k, e := range eps {
			if len(made) == 0 {
				break
			}
			es := made[r.IntN(len(made))]
			if big {
				es = made[k%len(made)]
			}
			es.Endpoints = append(es.Endpoints, e)
			x := r.IntN(100)
			if g.chaos {
				x /= 4
			}
			// Room for one more: the API server accepts at most 1000
			// endpoints per slice, and the endpoints still to come may
			// all land in this one (big services: their share of them).
			room := func(es *discovery.EndpointSlice) bool {
				rest := len(eps) - k
				if big {
					rest = rest/len(made) + 1
				}
				return len(es.Endpoints)+rest < 1000
			}
			switch other := made[r.IntN(len(made))]; {
			case x < 6 && len(made) > 1 && room(other):
				// the same endpoint in another slice (being moved)
				other.Endpoints = append(other.Endpoints, g.duplicate(e, hinted))
			case x < 9 && room(es):
				// twice in one slice
				es.Endpoints = append(es.Endpoints, g.duplicate(e, hinted))
			}
		}
		for _, es := range made {
			g.objs = append(g.objs, es)
		}
	}
	if chance(r, 3) {
		// An FQDN slice: kube-proxy ignores the address type.
		g.objs = append(g.objs, &discovery.EndpointSlice{
			TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
			ObjectMeta:  metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name + "-fqdn", Labels: map[string]string{discovery.LabelServiceName: svc.Name}},
			AddressType: discovery.AddressTypeFQDN,
			Endpoints:   []discovery.Endpoint{{Addresses: []string{"pod.example.com"}}},
			Ports:       g.endpointPorts(svc),
		})
	}
}

func dedupeFamilies(in []v1.IPFamily) []v1.IPFamily {
	var out []v1.IPFamily
	for _, f := range in {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func randomSuffix(r *rand.Rand) string {
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// slicePorts copies the service's endpoint ports, sometimes dropping one,
// adding one no service port has, renumbering one (a rolling update of
// the target port) or leaving its port unset.
func (g *generator) slicePorts(ports []discovery.EndpointPort) []discovery.EndpointPort {
	r := g.r
	out := make([]discovery.EndpointPort, 0, len(ports)+1)
	for _, p := range ports {
		p := p
		switch x := r.IntN(100); {
		case x < 4 && len(ports) > 1:
			continue
		case x < 8:
			p.Port = ptr.To(int32(1 + r.IntN(65535)))
		case x < 10:
			p.Port = nil
		}
		out = append(out, p)
	}
	if chance(r, 4) {
		name := "extra"
		if len(out) == 0 || (out[0].Name != nil && *out[0].Name == "") {
			name = "" // a slice may carry an unnamed port only alone
		}
		if len(out) == 0 || name != "" {
			out = append(out, discovery.EndpointPort{Name: ptr.To(name), Port: ptr.To(int32(7777)), Protocol: ptr.To(v1.ProtocolTCP)})
		}
	}
	return out
}

func boolPtr(r *rand.Rand) *bool {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return ptr.To(true)
	}
	return ptr.To(false)
}

// endpoint generates one endpoint: conditions are mostly what the
// EndpointSlice controller writes (ready = serving && !terminating), and
// sometimes any combination, unset included.
func (g *generator) endpoint(ip string, hinted bool) discovery.Endpoint {
	r := g.r
	e := discovery.Endpoint{Addresses: []string{ip}}
	x := r.IntN(100)
	if g.chaos {
		x = 100
	}
	switch {
	case x < 50:
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}
	case x < 60:
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}
	case x < 65:
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(true)}
	case x < 70:
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(false)}
	default:
		e.Conditions = discovery.EndpointConditions{Ready: boolPtr(r), Serving: boolPtr(r), Terminating: boolPtr(r)}
	}
	if chance(r, 85) {
		e.NodeName = ptr.To(pick(r, nodeNames))
		if g.chaos && chance(r, 40) {
			e.NodeName = ptr.To(strings.ToLower(g.c.Node.Hostname))
		}
	}
	if chance(r, 60) {
		e.Zone = ptr.To(pick(r, zones))
	}
	if chance(r, 3) {
		// further addresses: kube-proxy uses the first one only
		e.Addresses = append(e.Addresses, pick(r, g.podFamilyPool(ip)))
	}
	if chance(r, 30) {
		e.TargetRef = &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-" + strconv.Itoa(r.IntN(1000))}
	}
	if hinted && chance(r, 90) {
		e.Hints = &discovery.EndpointHints{}
		if chance(r, 85) {
			for _, z := range zones {
				if chance(r, 45) {
					e.Hints.ForZones = append(e.Hints.ForZones, discovery.ForZone{Name: z})
				}
			}
		}
		if chance(r, 40) {
			for _, n := range nodeNames {
				if chance(r, 40) {
					e.Hints.ForNodes = append(e.Hints.ForNodes, discovery.ForNode{Name: n})
				}
			}
		}
	}
	return e
}

func (g *generator) podFamilyPool(ip string) []string {
	for _, c := range ip {
		if c == ':' {
			return g.podV6
		}
	}
	return g.podV4
}

// duplicate returns another copy of e: identical, or with other
// conditions (repairDuplicates makes the result deterministic).
func (g *generator) duplicate(e discovery.Endpoint, hinted bool) discovery.Endpoint {
	if chance(g.r, 40) {
		return *e.DeepCopy()
	}
	d := g.endpoint(e.Addresses[0], hinted)
	return d
}

// legacyEndpoints generates a v1 Endpoints object for a selector-less
// Service (mirrored into EndpointSlices by the controller).
func (g *generator) legacyEndpoints(svc *v1.Service, fams []v1.IPFamily) {
	r := g.r
	ep := &v1.Endpoints{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name},
	}
	if chance(r, 10) {
		ep.Labels = map[string]string{discovery.LabelSkipMirror: "true"}
	}
	var ports []v1.EndpointPort
	for _, p := range g.endpointPorts(svc) {
		ports = append(ports, v1.EndpointPort{Name: ptr.Deref(p.Name, ""), Port: *p.Port, Protocol: *p.Protocol})
	}
	if len(fams) == 0 {
		fams = []v1.IPFamily{v1.IPv4Protocol}
	}
	withRefs := chance(r, 30)
	for k := 1 + r.IntN(2); k > 0; k-- {
		ss := v1.EndpointSubset{Ports: ports}
		if k == 2 && len(ports) > 1 && chance(r, 50) {
			ss.Ports = ports[:1]
		}
		for n := 1 + r.IntN(4); n > 0; n-- {
			pool := g.podV4
			if pick(r, fams) == v1.IPv6Protocol {
				pool = g.podV6
			}
			a := v1.EndpointAddress{IP: pick(r, pool)}
			if chance(r, 80) {
				a.NodeName = ptr.To(pick(r, nodeNames))
			}
			if chance(r, 20) {
				a.Hostname = "host-" + strconv.Itoa(r.IntN(10))
			}
			if withRefs {
				// One Pod per IP, and every copy of an IP with it:
				// copies that differ in their Pod are distinct
				// addresses, mirrored into one slice in map order.
				a.TargetRef = &v1.ObjectReference{Kind: "Pod", Namespace: svc.Namespace, Name: "pod-" + a.IP, UID: types.UID("uid-" + a.IP)}
			}
			if chance(r, 70) {
				ss.Addresses = append(ss.Addresses, a)
			} else {
				ss.NotReadyAddresses = append(ss.NotReadyAddresses, a)
			}
		}
		ep.Subsets = append(ep.Subsets, ss)
	}
	g.objs = append(g.objs, ep)
}

// orphanSlice adds a slice whose Service does not exist.
func (g *generator) orphanSlice() {
	g.objs = append(g.objs, &discovery.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "gone-abcde", Labels: map[string]string{discovery.LabelServiceName: "gone"}},
		AddressType: discovery.AddressTypeIPv4,
		Endpoints:   []discovery.Endpoint{{Addresses: []string{"10.244.9.9"}, NodeName: ptr.To("node1")}},
		Ports:       []discovery.EndpointPort{{Name: ptr.To(""), Port: ptr.To(int32(80)), Protocol: ptr.To(v1.ProtocolTCP)}},
	})
}

// nodeObject adds a Node: usually the node compiled for, whose addresses,
// zone label and podCIDRs then stand in for the flags left unset.
func (g *generator) nodeObject() {
	r := g.r
	name := strings.ToLower(g.c.Node.Hostname)
	if chance(r, 15) {
		name = "node3"
	}
	node := &v1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
	if chance(r, 70) {
		node.Labels = map[string]string{v1.LabelTopologyZone: pick(r, zones)}
	}
	if chance(r, 60) {
		node.Spec.PodCIDRs = pick(r, [][]string{{"10.244.1.0/24"}, {"10.244.1.0/24", "fd00:10:244:1::/64"}, {"fd00:10:244:1::/64", "10.244.1.0/24"}})
		node.Spec.PodCIDR = node.Spec.PodCIDRs[0]
	}
	addrs := []v1.NodeAddress{{Type: v1.NodeHostName, Address: name}}
	for _, a := range pick(r, [][]string{{"192.168.0.2"}, {"192.168.0.3", "fd00::3"}, {"fd00::3", "192.168.0.3"}, {"fd00::5"}, {"10.0.0.5", "192.168.0.9"}}) {
		addrs = append(addrs, v1.NodeAddress{Type: v1.NodeInternalIP, Address: a})
	}
	if chance(r, 40) {
		addrs = append(addrs, v1.NodeAddress{Type: v1.NodeExternalIP, Address: pick(r, []string{"203.0.113.50", "2001:db8::50"})})
	}
	r.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	node.Status.Addresses = addrs
	if chance(r, 70) {
		g.c.Node.NodeIPs = nil
	}
	if chance(r, 70) {
		g.c.Node.Zone = ""
	}
	if chance(r, 50) {
		g.c.Node.PodCIDRs = nil
	}
	g.objs = append(g.objs, node)
}

// serviceCIDRObject adds a ServiceCIDR (the nftables proxier drops traffic
// to unallocated IPs of the service CIDRs).
func (g *generator) serviceCIDRObject() {
	g.objs = append(g.objs, &networkingv1.ServiceCIDR{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "ServiceCIDR"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: pick(g.r, [][]string{{"10.96.0.0/12"}, {"10.96.0.0/16", "fd00:10:96::/112"}, {"fd00:10:96::/108"}})},
	})
}
