package compiler

import (
	"net/netip"
	"slices"
	"strconv"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The API server's limits on an EndpointSlice
// (pkg/apis/discovery/validation).
const (
	maxSliceEndpoints  = 1000
	maxSliceAddresses  = 100
	maxSlicePorts      = 20000
	maxTopologyLabels  = 16
	maxZoneHints       = 8
	maxNodeHints       = 8
	maxServiceCIDRs    = 2
	maxNodePodCIDRs    = 2
	maxEndpointPortNum = 65535
)

var addressTypes = []discovery.AddressType{discovery.AddressTypeFQDN, discovery.AddressTypeIPv4, discovery.AddressTypeIPv6}

// validateSlice checks an EndpointSlice as the API server would; it
// reports whether the slice is valid. Field paths are built only for
// findings: a big cluster has millions of fields, nearly all valid.
func validateSlice(l *loader, es *discovery.EndpointSlice, loc *locator) bool {
	errs := validateMeta(&es.ObjectMeta, nameIsDNSSubdomain)
	switch {
	case es.AddressType == "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	case !slices.Contains(addressTypes, es.AddressType):
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, addressTypes))
	}
	errs = append(errs, slicePortErrors(es.Ports)...)
	epErrs, plain := sliceEndpointErrors(es.Endpoints, es.AddressType)
	errs = append(errs, epErrs...)
	var ws field.ErrorList
	if es.AddressType == discovery.AddressTypeIPv4 && len(es.Endpoints) <= maxSliceEndpoints && !plain {
		for i, ep := range es.Endpoints {
			for j, a := range ep.Addresses {
				ws = append(ws, ipWarnings(addressPath(i, j), a)...)
			}
		}
	}
	if len(errs) == 0 && len(ws) == 0 {
		return true
	}
	obj := "EndpointSlice " + es.Namespace + "/" + es.Name
	if len(errs) == 0 && len(l.badPaths) == 0 {
		l.warn(loc, obj, ws)
	}
	return l.report(loc, obj, errs)
}

// endpointPath is endpoints[i] of an EndpointSlice.
func endpointPath(i int) *field.Path { return field.NewPath("endpoints").Index(i) }

// addressPath is endpoints[i].addresses[j] of an EndpointSlice.
func addressPath(i, j int) *field.Path { return endpointPath(i).Child("addresses").Index(j) }

func slicePortErrors(ports []discovery.EndpointPort) field.ErrorList {
	var errs field.ErrorList
	if len(ports) > maxSlicePorts {
		return field.ErrorList{field.TooMany(field.NewPath("ports"), len(ports), maxSlicePorts)}
	}
	portPath := func(i int, name string) *field.Path { return field.NewPath("ports").Index(i).Child(name) }
	names := make(map[string]bool, len(ports))
	for i, p := range ports {
		name := *p.Name // defaultSlice set it
		if name != "" {
			for _, msg := range dns1123LabelMsgs(name) {
				errs = append(errs, field.Invalid(portPath(i, "name"), name, msg))
			}
		}
		if names[name] {
			errs = append(errs, field.Duplicate(portPath(i, "name"), name))
		}
		names[name] = true
		if p.Protocol != nil && !slices.Contains(protocols, *p.Protocol) {
			errs = append(errs, field.NotSupported(portPath(i, "protocol"), *p.Protocol, protocols))
		}
		if p.AppProtocol != nil {
			for _, msg := range qualifiedNameMsgs(*p.AppProtocol) {
				errs = append(errs, field.Invalid(portPath(i, "appProtocol"), *p.AppProtocol, msg))
			}
		}
		// The API server leaves the number unchecked; kube-proxy skips 0
		// and would write any other value into its rules, where a number
		// outside 1-65535 makes iptables-restore or nft fail.
		if p.Port != nil && (*p.Port < 0 || *p.Port > maxEndpointPortNum) {
			errs = append(errs, field.Invalid(portPath(i, "port"), *p.Port, "must be between 0 (no port) and 65535, inclusive"))
		}
	}
	return errs
}

// sliceEndpointErrors checks the endpoints of a slice of address type
// at. plain reports that every address is in the standard form of its
// type (plainAddress), so that ipWarnings has nothing to say about any.
func sliceEndpointErrors(eps []discovery.Endpoint, at discovery.AddressType) (errs field.ErrorList, plain bool) {
	if len(eps) > maxSliceEndpoints {
		return field.ErrorList{field.TooMany(field.NewPath("endpoints"), len(eps), maxSliceEndpoints)}, false
	}
	plain = true
	for i := range eps {
		ep := &eps[i]
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(endpointPath(i).Child("addresses"), "must contain at least 1 address"))
		case len(ep.Addresses) > maxSliceAddresses:
			errs = append(errs, field.TooMany(endpointPath(i).Child("addresses"), len(ep.Addresses), maxSliceAddresses))
		}
		for j, a := range ep.Addresses {
			if j >= maxSliceAddresses {
				plain = false
				break
			}
			if plainAddress(a, at) {
				continue
			}
			plain = false
			errs = append(errs, sliceAddressErrors(addressPath(i, j), a, at)...)
		}
		if ep.NodeName != nil {
			for _, msg := range nameIsDNSSubdomain(*ep.NodeName) {
				errs = append(errs, field.Invalid(endpointPath(i).Child("nodeName"), *ep.NodeName, msg))
			}
		}
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(endpointPath(i).Child("deprecatedTopology"), len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		if !labelsValid(ep.DeprecatedTopology) {
			errs = append(errs, labelErrors(ep.DeprecatedTopology, endpointPath(i).Child("deprecatedTopology"))...)
		}
		if ep.Hostname != nil {
			for _, msg := range dns1123LabelMsgs(*ep.Hostname) {
				errs = append(errs, field.Invalid(endpointPath(i).Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Zone != nil {
			// Not checked by the API server, but the zone comes from a
			// Node's topology.kubernetes.io/zone label, a label value.
			for _, msg := range labelValueMsgs(*ep.Zone) {
				errs = append(errs, field.Invalid(endpointPath(i).Child("zone"), *ep.Zone, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, hintErrors(ep.Hints, endpointPath(i).Child("hints"))...)
		}
	}
	return errs, plain
}

// plainAddress reports, cheaply, that an address of an EndpointSlice of
// type at is valid and in its standard form: sliceAddressErrors finds
// nothing wrong with it, nor ipWarnings (for IPv4). It is an address
// netip reads as one of the slice's family, in its canonical form for
// IPv6, and of none of the ranges endpointIPErrors refuses. (netip and
// ParseIPSloppy read such text as the same address.)
func plainAddress(s string, at discovery.AddressType) bool {
	var v6 bool
	switch at {
	case discovery.AddressTypeIPv4:
	case discovery.AddressTypeIPv6:
		v6 = true
	default:
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() == v6 || a.Is4In6() || a.Zone() != "" ||
		a.IsUnspecified() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return false
	}
	if v6 {
		var buf [64]byte
		return string(a.AppendTo(buf[:0])) == s
	}
	return true
}

// sliceAddressErrors checks one address of an EndpointSlice of the given
// address type; unknown types are reported on addressType alone.
func sliceAddressErrors(path *field.Path, a string, at discovery.AddressType) field.ErrorList {
	switch at {
	case discovery.AddressTypeIPv4:
		errs := endpointIPErrors(path, a, false)
		if ip, ok := ParseIPSloppy(a); ok && !ip.Is4() {
			errs = append(errs, field.Invalid(path, a, "must be an IPv4 address"))
		}
		return errs
	case discovery.AddressTypeIPv6:
		errs := endpointIPErrors(path, a, true)
		if ip, ok := ParseIPSloppy(a); ok && ip.Is4() {
			errs = append(errs, field.Invalid(path, a, "must be an IPv6 address"))
		}
		return errs
	case discovery.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(path, a)
	}
	return nil
}

func hintErrors(h *discovery.EndpointHints, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	zp := path.Child("forZones")
	if len(h.ForZones) > maxZoneHints {
		return field.ErrorList{field.TooMany(zp, len(h.ForZones), maxZoneHints)}
	}
	seen := map[string]bool{}
	for i, z := range h.ForZones {
		p := zp.Index(i).Child("name")
		if seen[z.Name] {
			errs = append(errs, field.Duplicate(p, z.Name))
		}
		seen[z.Name] = true
		for _, msg := range labelValueMsgs(z.Name) {
			errs = append(errs, field.Invalid(p, z.Name, msg))
		}
	}
	np := path.Child("forNodes")
	if len(h.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(np, len(h.ForNodes), maxNodeHints))
	}
	seen = map[string]bool{}
	for i, n := range h.ForNodes {
		p := np.Index(i).Child("name")
		if seen[n.Name] {
			errs = append(errs, field.Duplicate(p, n.Name))
		}
		seen[n.Name] = true
		for _, msg := range nameIsDNSSubdomain(n.Name) {
			errs = append(errs, field.Invalid(p, n.Name, msg))
		}
	}
	return errs
}

// validateEndpoints checks a legacy Endpoints object as the API server
// would (ValidateEndpoints); it reports whether it is valid.
func validateEndpoints(l *loader, ep *v1.Endpoints, loc *locator) bool {
	obj := "Endpoints " + ep.Namespace + "/" + ep.Name
	errs := validateMeta(&ep.ObjectMeta, nameIsDNSSubdomain)
	var ws field.ErrorList
	sp := field.NewPath("subsets")
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		p := sp.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for _, group := range []struct {
			name string
			list []v1.EndpointAddress
		}{{"addresses", ss.Addresses}, {"notReadyAddresses", ss.NotReadyAddresses}} {
			for j := range group.list {
				ap := p.Child(group.name).Index(j)
				errs = append(errs, endpointAddressErrors(&group.list[j], ap)...)
				ws = append(ws, ipWarnings(ap.Child("ip"), group.list[j].IP)...)
			}
		}
		for j := range ss.Ports {
			port := &ss.Ports[j]
			pp := p.Child("ports").Index(j)
			switch {
			case port.Name == "" && len(ss.Ports) > 1:
				errs = append(errs, field.Required(pp.Child("name"), ""))
			case port.Name != "":
				for _, msg := range dns1123LabelMsgs(port.Name) {
					errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
				}
			}
			for _, msg := range validation.IsValidPortNum(int(port.Port)) {
				errs = append(errs, field.Invalid(pp.Child("port"), port.Port, msg))
			}
			if port.Protocol != "" && !slices.Contains(protocols, port.Protocol) {
				errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, protocols))
			}
		}
	}
	if len(errs) == 0 && len(l.badPaths) == 0 {
		l.warn(loc, obj, ws)
	}
	return l.report(loc, obj, errs)
}

func endpointAddressErrors(a *v1.EndpointAddress, path *field.Path) field.ErrorList {
	errs := endpointIPErrors(path.Child("ip"), a.IP, false)
	if a.Hostname != "" {
		for _, msg := range dns1123LabelMsgs(a.Hostname) {
			errs = append(errs, field.Invalid(path.Child("hostname"), a.Hostname, msg))
		}
	}
	if a.NodeName != nil {
		for _, msg := range nameIsDNSSubdomain(*a.NodeName) {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return errs
}

// validateNode checks the parts of a Node the compiler reads: its name,
// labels (the zone), addresses and pod CIDRs.
func validateNode(l *loader, n *v1.Node, loc *locator) bool {
	obj := "Node " + n.Name
	errs := validateMeta(&n.ObjectMeta, nameIsDNSSubdomain)
	if n.Namespace != "" {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "namespace"), "not allowed on this type"))
	}
	var ws field.ErrorList
	sp := field.NewPath("spec")
	if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) == 0 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) && len(n.Spec.PodCIDRs) > 0 {
		errs = append(errs, field.Invalid(sp.Child("podCIDRs"), n.Spec.PodCIDRs, "first value must match `podCIDR`"))
	}
	for i, c := range n.Spec.PodCIDRs {
		errs = append(errs, cidrErrors(sp.Child("podCIDRs").Index(i), c)...)
		ws = append(ws, cidrWarnings(sp.Child("podCIDRs").Index(i), c)...)
	}
	if n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) == 0 {
		errs = append(errs, cidrErrors(sp.Child("podCIDR"), n.Spec.PodCIDR)...)
	}
	errs = append(errs, dualStackErrors(sp.Child("podCIDRs"), n.Spec.PodCIDRs, maxNodePodCIDRs)...)
	for i, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP && a.Type != v1.NodeExternalIP {
			continue
		}
		p := field.NewPath("status", "addresses").Index(i).Child("address")
		if _, ok := ParseIPSloppy(a.Address); !ok {
			ws = append(ws, field.Invalid(p, a.Address, "not an IP address: not used as a node IP"))
		}
	}
	if len(errs) == 0 && len(l.badPaths) == 0 {
		l.warn(loc, obj, ws)
	}
	return l.report(loc, obj, errs)
}

// dualStackErrors checks a list of CIDRs holds at most max of them and no
// two of one family.
func dualStackErrors(path *field.Path, cidrs []string, max int) field.ErrorList {
	if len(cidrs) > max {
		return field.ErrorList{field.TooMany(path, len(cidrs), max)}
	}
	if len(cidrs) == 2 {
		a, ok1 := ParseCIDRSloppy(cidrs[0])
		b, ok2 := ParseCIDRSloppy(cidrs[1])
		if ok1 && ok2 && a.Addr().Is4() == b.Addr().Is4() {
			return field.ErrorList{field.Invalid(path, cidrs, "may specify no more than one CIDR for each IP family")}
		}
	}
	return nil
}

// serviceCIDR is the part of a networking.k8s.io/v1 ServiceCIDR the
// compiler reads.
type serviceCIDR struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		CIDRs []string `json:"cidrs"`
	} `json:"spec"`
}

// validateServiceCIDR follows ValidateServiceCIDR: one or two CIDRs, one
// per family, each in canonical form.
func validateServiceCIDR(l *loader, sc *serviceCIDR, loc *locator) bool {
	obj := "ServiceCIDR " + sc.Metadata.Name
	errs := validateMeta(&sc.Metadata, nameIsDNSSubdomain)
	if sc.Metadata.Namespace != "" {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "namespace"), "not allowed on this type"))
	}
	path := field.NewPath("spec", "cidrs")
	if len(sc.Spec.CIDRs) == 0 {
		errs = append(errs, field.Required(path, "at least one CIDR required"))
	}
	for i, c := range sc.Spec.CIDRs {
		errs = append(errs, validation.IsValidCIDR(path.Index(i), c)...)
	}
	errs = append(errs, dualStackErrors(path, sc.Spec.CIDRs, maxServiceCIDRs)...)
	return l.report(loc, obj, errs)
}

// servicePositions lists the fields of a Service checkDuplicates
// compares with other Services.
func servicePositions(svc *v1.Service, loc *locator) []string {
	var fs []string
	for i := range svc.Spec.ClusterIPs {
		fs = append(fs, clusterIPsField(i))
	}
	for i, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			fs = append(fs, nodePortField(i))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		fs = append(fs, "spec.healthCheckNodePort")
	}
	return fs
}

// checkDuplicates finds what no cluster can hold at once: two objects of
// one kind with one name (which one kube-proxy saw would depend on input
// order), and two Services sharing a cluster IP or a node port, which the
// API server's allocators never hand out twice. Each finding is reported
// at the later object, naming where the first one is.
func checkDuplicates(l *loader) {
	// Keys and messages are built only for what is reported: this runs
	// over every object of a big cluster.
	type objectKey struct{ kind, ns, name string }
	seen := map[objectKey]Pos{}
	check := func(kind string, m *metav1.ObjectMeta, pos Pos) {
		k := objectKey{kind, m.Namespace, m.Name}
		at := l.posOf(m, "metadata.name", pos)
		if first, ok := seen[k]; ok {
			key := kind + " " + m.Namespace + "/" + m.Name
			if m.Namespace == "" && (kind == "Node") {
				key = kind + " " + m.Name
			}
			l.errorf(at, key, "metadata.name", "Duplicate value: %q: already defined at %s", m.Name, first)
			return
		}
		seen[k] = at
	}
	type owner struct {
		ns, name string // the Service
		field    string
		pos      Pos
	}
	// A claim is of a cluster IP or (ip not valid) of a node port.
	type claimKey struct {
		ip   netip.Addr
		port int32
	}
	taken := map[claimKey]owner{}
	claim := func(key claimKey, o owner) {
		first, ok := taken[key]
		if !ok {
			taken[key] = o
			return
		}
		what := "node port " + strconv.Itoa(int(key.port))
		if key.ip.IsValid() {
			what = "cluster IP " + key.ip.String()
		}
		svc, firstSvc := o.ns+"/"+o.name, first.ns+"/"+first.name
		switch {
		case svc != firstSvc:
			l.errorf(o.pos, "Service "+svc, o.field, "Duplicate value: %s is also %s of Service %s (%s): the API server allocates each one once", what, first.field, firstSvc, first.pos)
		case first.field != o.field && key.ip.IsValid() || first.field == "spec.healthCheckNodePort" || o.field == "spec.healthCheckNodePort":
			// one Service may use one node port for several protocols,
			// but not as its health check node port too
			l.errorf(o.pos, "Service "+svc, o.field, "Duplicate value: %s is also %s", what, first.field)
		}
	}
	for _, s := range l.snap.Services {
		svc := s.Obj
		check("Service", &svc.ObjectMeta, s.Pos)
		for i, ip := range svc.Spec.ClusterIPs {
			if a, ok := ParseIPSloppy(ip); ok {
				f := clusterIPsField(i)
				claim(claimKey{ip: a}, owner{svc.Namespace, svc.Name, f, l.posOf(&svc.ObjectMeta, f, s.Pos)})
			}
		}
		for i, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				f := nodePortField(i)
				claim(claimKey{port: p.NodePort}, owner{svc.Namespace, svc.Name, f, l.posOf(&svc.ObjectMeta, f, s.Pos)})
			}
		}
		if hc := svc.Spec.HealthCheckNodePort; hc != 0 {
			f := "spec.healthCheckNodePort"
			claim(claimKey{port: hc}, owner{svc.Namespace, svc.Name, f, l.posOf(&svc.ObjectMeta, f, s.Pos)})
		}
	}
	for _, s := range l.snap.Slices {
		if !s.Mirrored {
			check("EndpointSlice", &s.Obj.ObjectMeta, s.Pos)
		}
	}
	for _, e := range l.snap.Endpoints {
		check("Endpoints", &e.Obj.ObjectMeta, e.Pos)
	}
	for _, n := range l.snap.Nodes {
		check("Node", &n.Obj.ObjectMeta, n.Pos)
	}
}

// clusterIPsField is "spec.clusterIPs[i]".
func clusterIPsField(i int) string {
	switch i {
	case 0:
		return "spec.clusterIPs[0]"
	case 1:
		return "spec.clusterIPs[1]"
	}
	return "spec.clusterIPs[" + strconv.Itoa(i) + "]"
}

// nodePortField is "spec.ports[i].nodePort".
func nodePortField(i int) string {
	if i == 0 {
		return "spec.ports[0].nodePort"
	}
	return "spec.ports[" + strconv.Itoa(i) + "].nodePort"
}
