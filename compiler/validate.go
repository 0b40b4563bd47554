package compiler

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation follows the API server (pkg/apis/core/validation and
// pkg/apis/discovery/validation of Kubernetes v1.36, with that release's
// default feature gates: StrictIPCIDRValidation and
// RelaxedServiceNameValidation on) for every field kube-proxy reads and
// the cheap checks around them, so that a snapshot the cluster could not
// hold is refused. The wording is the API server's (field.Error). Where
// the API server would accept a value only because an older object held
// it (IP addresses with leading zeros, IPv4-mapped IPv6 addresses), or
// fills a field in itself (node ports, health check node ports), the
// loader warns instead. docs/errors.md lists every check.

// report turns the field errors of one object into positioned
// diagnostics; it returns whether there were none.
func (l *loader) report(loc *locator, obj string, errs field.ErrorList) bool {
	for _, e := range errs {
		if !l.aboutBadValue(e.Field) {
			l.errorf(loc.posField(e.Field), obj, e.Field, "%s", errorBody(e))
		}
	}
	return len(errs) == 0
}

// aboutBadValue reports whether a field is, or is inside, a value that
// had the wrong type: it was decoded as null, and the type error already
// says what is wrong with it.
func (l *loader) aboutBadValue(f string) bool {
	for _, p := range l.badPaths {
		if f == p || (strings.HasPrefix(f, p) && (f[len(p)] == '.' || f[len(p)] == '[')) {
			return true
		}
	}
	return false
}

// warn reports field errors as warnings: the value is accepted.
func (l *loader) warn(loc *locator, obj string, errs field.ErrorList) {
	for _, e := range errs {
		if l.aboutBadValue(e.Field) {
			continue
		}
		l.warnf(loc.posField(e.Field), obj, e.Field, "%s", errorBody(e))
	}
}

// maxValueLen is how much of a bad string value a message quotes.
const maxValueLen = 100

// errorBody is e's message without the field path, with a long string
// value cut short.
func errorBody(e *field.Error) string {
	if s, ok := e.BadValue.(string); ok && len(s) > maxValueLen {
		c := *e
		c.BadValue = s[:maxValueLen] + "..."
		return c.ErrorBody()
	}
	return e.ErrorBody()
}

// posField is the position of a field given as a field.Path string, such
// as spec.ports[0].name or metadata.labels[app]; it stops at the deepest
// element the object has.
func (lc *locator) posField(p string) Pos {
	var path []any
	for len(p) > 0 {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return lc.pos(path...)
			}
			key := p[1:end]
			if i, err := strconv.Atoi(key); err == nil {
				path = append(path, i)
			} else {
				path = append(path, key)
			}
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			path = append(path, p[:end])
			p = p[end:]
		}
	}
	return lc.pos(path...)
}

// validateMeta checks metadata as the API server does
// (ValidateObjectMeta), except that a label value's error is reported
// under its key, where the input has it; an empty namespace is reported
// by the caller. Paths are built only for what is wrong: this runs for
// every object of a big cluster.
func validateMeta(m *metav1.ObjectMeta, nameFn nameFunc) field.ErrorList {
	var errs field.ErrorList
	if m.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	} else {
		for _, msg := range nameFn(m.Name) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), m.Name, msg))
		}
	}
	if m.Namespace != "" {
		for _, msg := range nameIsDNSLabel(m.Namespace) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), m.Namespace, msg))
		}
	}
	if !labelsValid(m.Labels) {
		errs = append(errs, labelErrors(m.Labels, field.NewPath("metadata", "labels"))...)
	}
	// Each of these finds nothing to say about an empty list.
	if len(m.Annotations) > 0 {
		errs = append(errs, apimachineryvalidation.ValidateAnnotations(m.Annotations, field.NewPath("metadata", "annotations"))...)
	}
	if len(m.OwnerReferences) > 0 {
		errs = append(errs, apimachineryvalidation.ValidateOwnerReferences(m.OwnerReferences, field.NewPath("metadata", "ownerReferences"))...)
	}
	if len(m.Finalizers) > 0 {
		errs = append(errs, apimachineryvalidation.ValidateFinalizers(m.Finalizers, field.NewPath("metadata", "finalizers"))...)
	}
	return errs
}

// labelsValid reports whether labelErrors finds nothing in labels,
// without the sorting and the paths that reporting needs.
func labelsValid(labels map[string]string) bool {
	for k, v := range labels {
		if !isQualifiedName(k) || !isLabelValue(v) {
			return false
		}
	}
	return true
}

// labelErrors checks label keys (qualified names) and values.
func labelErrors(labels map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(labels) {
		errs = append(errs, metav1validation.ValidateLabelName(k, path)...)
		for _, msg := range labelValueMsgs(labels[k]) {
			errs = append(errs, field.Invalid(path.Key(k), labels[k], msg))
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateService checks a defaulted Service as the API server would on
// create; it reports whether the Service is valid.
func validateService(l *loader, svc *v1.Service, loc *locator) bool {
	errs := validateMeta(&svc.ObjectMeta, nameIsDNSLabel)
	errs = append(errs, serviceSpecErrors(svc, loc)...)
	errs = append(errs, loadBalancerStatusErrors(svc)...)
	var ws field.ErrorList
	if len(errs) == 0 && len(l.badPaths) == 0 {
		ws = serviceWarnings(svc, loc)
	}
	if len(errs) == 0 && len(ws) == 0 {
		return true
	}
	obj := "Service " + svc.Namespace + "/" + svc.Name
	l.warn(loc, obj, ws)
	return l.report(loc, obj, errs)
}

var (
	serviceTypes     = []v1.ServiceType{v1.ServiceTypeClusterIP, v1.ServiceTypeExternalName, v1.ServiceTypeLoadBalancer, v1.ServiceTypeNodePort}
	protocols        = []v1.Protocol{v1.ProtocolSCTP, v1.ProtocolTCP, v1.ProtocolUDP}
	affinities       = []v1.ServiceAffinity{v1.ServiceAffinityClientIP, v1.ServiceAffinityNone}
	familyPolicies   = []v1.IPFamilyPolicy{v1.IPFamilyPolicyPreferDualStack, v1.IPFamilyPolicyRequireDualStack, v1.IPFamilyPolicySingleStack}
	ipFamilies       = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
	externalPolicies = []v1.ServiceExternalTrafficPolicy{v1.ServiceExternalTrafficPolicyCluster, v1.ServiceExternalTrafficPolicyLocal}
	internalPolicies = []v1.ServiceInternalTrafficPolicy{v1.ServiceInternalTrafficPolicyCluster, v1.ServiceInternalTrafficPolicyLocal}
	ipModes          = []v1.LoadBalancerIPMode{v1.LoadBalancerIPModeProxy, v1.LoadBalancerIPModeVIP}
	distributions    = []string{v1.ServiceTrafficDistributionPreferClose, v1.ServiceTrafficDistributionPreferSameNode, v1.ServiceTrafficDistributionPreferSameZone}
)

// Annotations the API server checks for consistency.
const (
	annotationTopologyMode  = "service.kubernetes.io/topology-mode"
	annotationTopologyHints = "service.kubernetes.io/topology-aware-hints"
)

func isHeadless(svc *v1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == v1.ClusterIPNone
}

// externallyAccessible is the API server's notion: the Service gets
// external traffic through node ports, a load balancer or external IPs.
func externallyAccessible(svc *v1.Service) bool {
	t := svc.Spec.Type
	return t == v1.ServiceTypeLoadBalancer || t == v1.ServiceTypeNodePort ||
		(t == v1.ServiceTypeClusterIP && len(svc.Spec.ExternalIPs) > 0)
}

// needsHealthCheck: a LoadBalancer Service with the Local external policy.
func needsHealthCheck(svc *v1.Service) bool {
	return svc.Spec.Type == v1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
}

func serviceSpecErrors(svc *v1.Service, loc *locator) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	if a, b := svc.Annotations[annotationTopologyMode], svc.Annotations[annotationTopologyHints]; a != "" && b != "" && a != b {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations").Key(annotationTopologyMode), a,
			"must match annotations["+annotationTopologyHints+"] when both are specified"))
	}
	if !slices.Contains(serviceTypes, spec.Type) {
		errs = append(errs, field.NotSupported(specPath("type"), spec.Type, serviceTypes))
	}
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath("ports"), ""))
	}
	switch spec.Type {
	case v1.ServiceTypeLoadBalancer, v1.ServiceTypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(specPath("clusterIPs").Index(0), spec.ClusterIPs[0],
				"may not be set to 'None' for "+string(spec.Type)+" services"))
		}
	case v1.ServiceTypeExternalName:
		if spec.ClusterIP != "" || len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath(clusterIPField(loc)), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname == "" {
			errs = append(errs, field.Required(specPath("externalName"), ""))
		} else {
			for _, msg := range dns1123SubdomainMsgs(cname) {
				errs = append(errs, field.Invalid(specPath("externalName"), cname, msg))
			}
		}
	}
	errs = append(errs, servicePortErrors(svc)...)
	if !labelsValid(spec.Selector) {
		errs = append(errs, labelErrors(spec.Selector, specPath("selector"))...)
	}
	switch spec.SessionAffinity {
	case v1.ServiceAffinityNone:
	case v1.ServiceAffinityClientIP:
		// defaultService filled in the timeout when it was missing
		t := *spec.SessionAffinityConfig.ClientIP.TimeoutSeconds
		if t <= 0 || t > maxClientIPAffinitySeconds {
			errs = append(errs, field.Invalid(specPath("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
		}
	default:
		errs = append(errs, field.NotSupported(specPath("sessionAffinity"), spec.SessionAffinity, affinities))
	}
	if spec.Type != v1.ServiceTypeExternalName {
		errs = append(errs, clusterIPErrors(svc, loc)...)
	}
	for i, ip := range spec.ExternalIPs {
		if !endpointIPValid(ip) {
			errs = append(errs, endpointIPErrors(specPath("externalIPs").Index(i), ip, false)...)
		}
	}
	errs = append(errs, sourceRangeErrors(svc)...)
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != v1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if c := spec.LoadBalancerClass; c != nil {
		if spec.Type != v1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(specPath("loadBalancerClass"), "may only be used when service type is 'LoadBalancer'"))
		} else {
			for _, msg := range qualifiedNameMsgs(*c) {
				errs = append(errs, field.Invalid(specPath("loadBalancerClass"), *c, msg))
			}
		}
	}
	errs = append(errs, trafficPolicyErrors(svc)...)
	return errs
}

// clusterIPField names the field the user wrote: spec.clusterIP when the
// input has no clusterIPs (defaulting copied it there).
func clusterIPField(loc *locator) string {
	if loc != nil && child(child(loc.root, "spec"), "clusterIPs") == nil {
		return "clusterIP"
	}
	return "clusterIPs"
}

// clusterIPPath is the path of cluster IP i as the user wrote it:
// spec.clusterIP (see clusterIPField) or spec.clusterIPs[i].
func clusterIPPath(loc *locator, i int) *field.Path {
	if f := clusterIPField(loc); f == "clusterIP" {
		return specPath(f)
	}
	return specPath("clusterIPs").Index(i)
}

// specPath is the path spec.<names...>; validation builds paths only
// for what it reports.
func specPath(names ...string) *field.Path { return field.NewPath("spec", names...) }

// standardIP reports, cheaply, that ipWarnings has nothing to say about
// s: netip reads it, as an address that is not IPv4-mapped IPv6.
func standardIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.Is4In6()
}

func servicePortErrors(svc *v1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	portPath := func(i int) *field.Path { return specPath("ports").Index(i) }
	names := map[string]bool{}
	type portKey struct {
		port  int32
		proto v1.Protocol
	}
	ports, nodePorts := map[portKey]bool{}, map[portKey]bool{}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		switch {
		case p.Name == "" && len(spec.Ports) > 1:
			errs = append(errs, field.Required(portPath(i).Child("name"), ""))
		case p.Name != "":
			for _, msg := range dns1123LabelMsgs(p.Name) {
				errs = append(errs, field.Invalid(portPath(i).Child("name"), p.Name, msg))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(portPath(i).Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			errs = append(errs, field.Invalid(portPath(i).Child("port"), p.Port, msg))
		}
		if !slices.Contains(protocols, p.Protocol) {
			errs = append(errs, field.NotSupported(portPath(i).Child("protocol"), p.Protocol, protocols))
		}
		if !portNumOrNameValid(p.TargetPort) {
			errs = append(errs, portNumOrNameErrors(p.TargetPort, portPath(i).Child("targetPort"))...)
		}
		if p.AppProtocol != nil {
			for _, msg := range qualifiedNameMsgs(*p.AppProtocol) {
				errs = append(errs, field.Invalid(portPath(i).Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
		if p.NodePort != 0 {
			if spec.Type == v1.ServiceTypeClusterIP {
				errs = append(errs, field.Forbidden(portPath(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
			for _, msg := range validation.IsValidPortNum(int(p.NodePort)) {
				errs = append(errs, field.Invalid(portPath(i).Child("nodePort"), p.NodePort, msg))
			}
			k := portKey{p.NodePort, p.Protocol}
			if nodePorts[k] {
				errs = append(errs, field.Duplicate(portPath(i).Child("nodePort"), p.NodePort))
			}
			nodePorts[k] = true
		}
		k := portKey{p.Port, p.Protocol}
		if ports[k] && p.Port != 0 {
			errs = append(errs, field.Duplicate(portPath(i), fmt.Sprintf("%d/%s", p.Port, p.Protocol)))
		}
		ports[k] = true
	}
	return errs
}

// portNumOrNameErrors checks a targetPort: a port number, or the name of
// a container port (an IANA service name). Zero means unset (defaulted
// to the port).
func portNumOrNameErrors(p intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case p.Type == intstr.Int && p.IntVal != 0:
		for _, msg := range validation.IsValidPortNum(int(p.IntVal)) {
			errs = append(errs, field.Invalid(path, p.IntVal, msg))
		}
	case p.Type == intstr.String && p.StrVal != "":
		for _, msg := range portNameMsgs(p.StrVal) {
			errs = append(errs, field.Invalid(path, p.StrVal, msg))
		}
	}
	return errs
}

// portNumOrNameValid reports, cheaply, that portNumOrNameErrors finds
// nothing: an unset target port, a port number in range, or a valid
// port name.
func portNumOrNameValid(p intstr.IntOrString) bool {
	switch p.Type {
	case intstr.Int:
		return p.IntVal >= 0 && p.IntVal <= 65535
	case intstr.String:
		return p.StrVal == "" || isPortName(p.StrVal)
	}
	return false
}

// clusterIPErrors follows ValidateServiceClusterIPsRelatedFields: valid
// addresses, at most one per family, matching ipFamilies.
func clusterIPErrors(svc *v1.Service, loc *locator) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	index := func(i int) *field.Path { return clusterIPPath(loc, i) }
	if spec.ClusterIP != "" && (len(spec.ClusterIPs) == 0 || spec.ClusterIPs[0] != spec.ClusterIP) {
		errs = append(errs, field.Invalid(specPath("clusterIPs"), spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		errs = append(errs, field.Invalid(specPath("clusterIPs"), spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := map[v1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		if !slices.Contains(ipFamilies, f) {
			errs = append(errs, field.NotSupported(specPath("ipFamilies").Index(i), f, ipFamilies))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(specPath("ipFamilies").Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil && !slices.Contains(familyPolicies, *p) {
		errs = append(errs, field.NotSupported(specPath("ipFamilyPolicy"), *p, familyPolicies))
	}
	invalid := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == v1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(specPath("clusterIPs"), spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		if _, ok := ParseIPSloppy(ip); ok && !strings.Contains(ip, "%") {
			continue // ipErrors finds nothing
		}
		invalid = true
		errs = append(errs, ipErrors(index(i), ip)...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(specPath("clusterIPs"), spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(spec.ClusterIPs) == 2 {
		a, _ := ParseIPSloppy(spec.ClusterIPs[0])
		b, _ := ParseIPSloppy(spec.ClusterIPs[1])
		if a.Is4() == b.Is4() {
			errs = append(errs, field.Invalid(specPath("clusterIPs"), spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadless(svc) {
		for i, s := range spec.ClusterIPs {
			if i >= len(spec.IPFamilies) {
				break
			}
			ip, _ := ParseIPSloppy(s)
			switch {
			case spec.IPFamilies[i] == v1.IPv4Protocol && !ip.Is4():
				errs = append(errs, field.Invalid(index(i), s, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%d]`", i)))
			case spec.IPFamilies[i] == v1.IPv6Protocol && ip.Is4():
				errs = append(errs, field.Invalid(index(i), s, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%d]`", i)))
			}
		}
		if p := spec.IPFamilyPolicy; p != nil && *p == v1.IPFamilyPolicySingleStack && len(spec.ClusterIPs) > 1 {
			// the allocator's rule (registry/core/service/storage/alloc.go)
			errs = append(errs, field.Invalid(specPath("ipFamilyPolicy"), *p, "must be RequireDualStack or PreferDualStack when multiple cluster IPs are specified"))
		}
	}
	return errs
}

// ipErrors checks an IP address as IsValidIPForLegacyField does with
// strict validation, except that the forms only older clusters accepted
// (leading zeros, IPv4-mapped IPv6) are left to ipWarnings.
func ipErrors(path *field.Path, s string) field.ErrorList {
	if _, ok := ParseIPSloppy(s); !ok || strings.Contains(s, "%") {
		return field.ErrorList{field.Invalid(path, s, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}
	}
	return nil
}

// ipWarnings flags an address in a form a v1.36 API server refuses on
// create but keeps in objects stored earlier, which kube-proxy reads
// (ParseIPSloppy) as the address it prints.
func ipWarnings(path *field.Path, s string) field.ErrorList {
	ip, ok := ParseIPSloppy(s)
	if !ok {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4In6() {
		return field.ErrorList{field.Invalid(path, s, fmt.Sprintf("non-standard IP address: a Kubernetes v1.36 API server accepts it only in an object stored earlier; read as %q", ip.String()))}
	}
	return nil
}

// endpointIPValid reports, cheaply, that endpointIPErrors(path, s, false)
// finds nothing: netip reads s as an address without a zone (which is
// what ParseIPSloppy reads it as, unmapped) outside the refused ranges.
func endpointIPValid(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	return !a.IsUnspecified() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast()
}

// endpointIPErrors is ValidateEndpointIP (used for endpoint addresses and,
// for historical reasons, external IPs): a valid address that is not
// unspecified, loopback or link-local. With v6 true the address must be
// IPv6 in canonical form (EndpointSlice IPv6 addresses are validated
// strictly).
func endpointIPErrors(path *field.Path, s string, v6 bool) field.ErrorList {
	if errs := ipErrors(path, s); len(errs) > 0 {
		return errs
	}
	ip, _ := ParseIPSloppy(s)
	var errs field.ErrorList
	if v6 && !ip.Is4() && ip.String() != s {
		if a, err := netip.ParseAddr(s); err == nil && !a.Is4In6() {
			errs = append(errs, field.Invalid(path, s, fmt.Sprintf("must be in canonical form (%q)", ip.String())))
		}
	}
	switch {
	case ip.IsUnspecified():
		errs = append(errs, field.Invalid(path, s, fmt.Sprintf("may not be unspecified (%v)", s)))
	case ip.IsLoopback():
		errs = append(errs, field.Invalid(path, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	case ip.IsLinkLocalUnicast():
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	case ip.IsLinkLocalMulticast():
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// cidrErrors checks a CIDR as IsValidCIDRForLegacyField does with strict
// validation; the forms older clusters accepted are left to cidrWarnings.
func cidrErrors(path *field.Path, s string) field.ErrorList {
	if _, ok := ParseCIDRSloppy(s); !ok {
		return field.ErrorList{field.Invalid(path, s, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	return nil
}

// cidrWarnings flags a CIDR with leading zeros, an IPv4-mapped address or
// bits set beyond the prefix length, which kube-proxy masks off.
func cidrWarnings(path *field.Path, s string) field.ErrorList {
	p, ok := ParseCIDRSloppy(s)
	if !ok {
		return nil
	}
	q, err := netip.ParsePrefix(s)
	switch {
	case err != nil || q.Addr().Is4In6():
		return field.ErrorList{field.Invalid(path, s, fmt.Sprintf("non-standard CIDR value: a Kubernetes v1.36 API server accepts it only in an object stored earlier; read as %q", p.Masked().String()))}
	case q.Masked() != q:
		return field.ErrorList{field.Invalid(path, s, fmt.Sprintf("has bits set beyond the prefix length: a Kubernetes v1.36 API server accepts it only in an object stored earlier; read as %q", p.Masked().String()))}
	}
	return nil
}

func sourceRangeErrors(svc *v1.Service) field.ErrorList {
	var errs field.ErrorList
	if len(svc.Spec.LoadBalancerSourceRanges) == 0 {
		return nil
	}
	path := field.NewPath("spec", "loadBalancerSourceRanges")
	if svc.Spec.Type != v1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
	}
	for i, r := range svc.Spec.LoadBalancerSourceRanges {
		// space padding is part of the API (a historical accident)
		errs = append(errs, cidrErrors(path.Index(i), strings.TrimSpace(r))...)
	}
	return errs
}

func trafficPolicyErrors(svc *v1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	if !externallyAccessible(svc) {
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(specPath("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else if !slices.Contains(externalPolicies, spec.ExternalTrafficPolicy) {
		errs = append(errs, field.NotSupported(specPath("externalTrafficPolicy"), spec.ExternalTrafficPolicy, externalPolicies))
	}
	switch {
	case !needsHealthCheck(svc) && spec.HealthCheckNodePort != 0:
		errs = append(errs, field.Invalid(specPath("healthCheckNodePort"), spec.HealthCheckNodePort,
			"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	case needsHealthCheck(svc) && spec.HealthCheckNodePort != 0:
		for _, msg := range validation.IsValidPortNum(int(spec.HealthCheckNodePort)) {
			errs = append(errs, field.Invalid(specPath("healthCheckNodePort"), spec.HealthCheckNodePort, msg))
		}
	}
	if p := spec.InternalTrafficPolicy; p != nil && !slices.Contains(internalPolicies, *p) {
		errs = append(errs, field.NotSupported(specPath("internalTrafficPolicy"), *p, internalPolicies))
	}
	if d := spec.TrafficDistribution; d != nil && !slices.Contains(distributions, *d) {
		errs = append(errs, field.NotSupported(specPath("trafficDistribution"), *d, distributions))
	}
	return errs
}

// loadBalancerStatusErrors follows ValidateLoadBalancerStatus.
func loadBalancerStatusErrors(svc *v1.Service) field.ErrorList {
	var errs field.ErrorList
	path := func() *field.Path { return field.NewPath("status", "loadBalancer", "ingress") }
	ingress := svc.Status.LoadBalancer.Ingress
	if svc.Spec.Type != v1.ServiceTypeLoadBalancer {
		if len(ingress) > 0 {
			errs = append(errs, field.Forbidden(path(), "may only be used when `spec.type` is 'LoadBalancer'"))
		}
		return errs
	}
	for i, ing := range ingress {
		p := path().Index(i)
		if ing.IP != "" {
			errs = append(errs, ipErrors(p.Child("ip"), ing.IP)...)
		}
		switch {
		case ing.IPMode == nil && ing.IP != "":
			errs = append(errs, field.Required(p.Child("ipMode"), "must be specified when `ip` is set"))
		case ing.IPMode != nil && ing.IP == "":
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		case ing.IPMode != nil && !slices.Contains(ipModes, *ing.IPMode):
			errs = append(errs, field.NotSupported(p.Child("ipMode"), *ing.IPMode, ipModes))
		}
		if ing.Hostname != "" {
			for _, msg := range dns1123SubdomainMsgs(ing.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, msg))
			}
			if _, ok := ParseIPSloppy(ing.Hostname); ok {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// maxClientIPAffinitySeconds is the API server's limit on
// sessionAffinityConfig.clientIP.timeoutSeconds (one day).
const maxClientIPAffinitySeconds = 86400

// Node port range a cluster uses unless its API server is started with
// another --service-node-port-range.
const (
	defaultNodePortMin = 30000
	defaultNodePortMax = 32767
)

// serviceWarnings flags what the API server would have filled in (node
// ports, the health check node port, a second cluster IP) or accepts
// only in objects stored earlier.
func serviceWarnings(svc *v1.Service, loc *locator) field.ErrorList {
	var ws field.ErrorList
	spec := &svc.Spec
	for i, ip := range spec.ClusterIPs {
		if !standardIP(ip) {
			ws = append(ws, ipWarnings(clusterIPPath(loc, i), ip)...)
		}
	}
	for i, ip := range spec.ExternalIPs {
		if !standardIP(ip) {
			ws = append(ws, ipWarnings(specPath("externalIPs").Index(i), ip)...)
		}
	}
	for i, r := range spec.LoadBalancerSourceRanges {
		ws = append(ws, cidrWarnings(specPath("loadBalancerSourceRanges").Index(i), strings.TrimSpace(r))...)
	}
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		ws = append(ws, ipWarnings(field.NewPath("status", "loadBalancer", "ingress").Index(i).Child("ip"), ing.IP)...)
	}
	if spec.Type != v1.ServiceTypeExternalName && spec.ClusterIP == "" {
		ws = append(ws, field.Required(specPath("clusterIP"), "the API server would allocate one; kube-proxy ignores a Service without one, so nothing is compiled for it"))
	}
	allocates := spec.Type == v1.ServiceTypeNodePort ||
		(spec.Type == v1.ServiceTypeLoadBalancer && (spec.AllocateLoadBalancerNodePorts == nil || *spec.AllocateLoadBalancerNodePorts))
	for i, p := range spec.Ports {
		path := func() *field.Path { return specPath("ports").Index(i).Child("nodePort") }
		switch {
		case p.NodePort == 0 && allocates:
			ws = append(ws, field.Required(path(), "the API server would allocate one; no node port rules are compiled for this port"))
		case p.NodePort != 0 && (p.NodePort < defaultNodePortMin || p.NodePort > defaultNodePortMax) && p.NodePort > 0 && p.NodePort <= 65535:
			ws = append(ws, field.Invalid(path(), p.NodePort, fmt.Sprintf("outside the default --service-node-port-range %d-%d: valid only if the cluster's API server was started with a range that holds it", defaultNodePortMin, defaultNodePortMax)))
		}
	}
	if needsHealthCheck(svc) && spec.HealthCheckNodePort == 0 {
		ws = append(ws, field.Required(specPath("healthCheckNodePort"), "the API server would allocate one for a LoadBalancer Service with externalTrafficPolicy Local; no health check rule is compiled"))
	}
	if !isHeadless(svc) && spec.Type != v1.ServiceTypeExternalName && len(spec.IPFamilies) > len(spec.ClusterIPs) && len(spec.ClusterIPs) > 0 {
		ws = append(ws, field.Required(specPath("clusterIPs").Index(len(spec.ClusterIPs)),
			fmt.Sprintf("ipFamilies lists %s but the input has no cluster IP for it (the API server would allocate one): that family's proxier skips the Service", spec.IPFamilies[len(spec.ClusterIPs)])))
	}
	return ws
}
