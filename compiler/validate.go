package compiler

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// validator collects field errors of one object, positioned through its
// locator. Messages use the API server's wording (Invalid value, Required
// value, Unsupported value).
type validator struct {
	l   *loader
	loc *locator
	obj string
	ok  bool
}

func newValidator(l *loader, loc *locator, kind, ns, name string) *validator {
	return &validator{l: l, loc: loc, obj: kind + " " + ns + "/" + name, ok: true}
}

// fail records an error at path; path elements are mapping keys (string)
// and list indexes (int).
func (v *validator) fail(msg string, path ...any) {
	v.ok = false
	v.l.errorf(v.loc.pos(path...), v.obj, fieldPath(path), "%s", msg)
}

func (v *validator) invalid(value any, why string, path ...any) {
	v.fail(fmt.Sprintf("Invalid value: %s: %s", quoteValue(value), why), path...)
}

func quoteValue(value any) string {
	switch x := value.(type) {
	case string:
		return fmt.Sprintf("%q", truncate(x, 100))
	default:
		return fmt.Sprint(x)
	}
}

// fieldPath formats a path as "spec.ports[0].port".
func fieldPath(path []any) string {
	var b strings.Builder
	for i, p := range path {
		switch k := p.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

func (v *validator) dns1123Label(s string, path ...any) {
	for _, msg := range validation.IsDNS1123Label(s) {
		v.invalid(s, msg, path...)
	}
}

func (v *validator) dns1123Subdomain(s string, path ...any) {
	for _, msg := range validation.IsDNS1123Subdomain(s) {
		v.invalid(s, msg, path...)
	}
}

func (v *validator) labels(labels map[string]string) {
	keys := sortedKeys(labels)
	for _, k := range keys {
		for _, msg := range validation.IsQualifiedName(k) {
			v.invalid(k, msg, "metadata", "labels")
		}
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			v.invalid(labels[k], msg, "metadata", "labels", k)
		}
	}
}

func (v *validator) ip(s string, path ...any) {
	if _, ok := ParseIPSloppy(s); !ok {
		v.invalid(s, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)", path...)
	}
}

func (v *validator) port(p int32, path ...any) {
	if p < 1 || p > 65535 {
		v.invalid(p, "must be between 1 and 65535, inclusive", path...)
	}
}

func (v *validator) protocol(p v1.Protocol, path ...any) {
	switch p {
	case v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP:
	default:
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"SCTP\", \"TCP\", \"UDP\"", truncate(string(p), 40)), path...)
	}
}

func validateMeta(v *validator, ns, name string, dns1035 bool) {
	if name == "" {
		v.fail("Required value: name is required", "metadata", "name")
	} else if dns1035 {
		for _, msg := range validation.IsDNS1035Label(name) {
			v.invalid(name, msg, "metadata", "name")
		}
	} else {
		v.dns1123Subdomain(name, "metadata", "name")
	}
	if ns == "" {
		v.l.warnf(v.loc.pos("metadata"), v.obj, "metadata.namespace", "not set: kube-proxy ignores endpoints without a namespace (kubectl would have put the object in the namespace it was applied to)")
		return
	}
	v.dns1123Label(ns, "metadata", "namespace")
}

// validateService checks the fields kube-proxy consumes, as the API server
// would; it reports whether the Service is valid.
func validateService(l *loader, svc *v1.Service, loc *locator) bool {
	v := newValidator(l, loc, "Service", svc.Namespace, svc.Name)
	validateMeta(v, svc.Namespace, svc.Name, true)
	v.labels(svc.Labels)
	spec := &svc.Spec
	switch spec.Type {
	case v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort, v1.ServiceTypeLoadBalancer, v1.ServiceTypeExternalName:
	default:
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"", truncate(string(spec.Type), 40)), "spec", "type")
	}
	if spec.Type == v1.ServiceTypeExternalName {
		return v.ok
	}
	if len(spec.Ports) == 0 && spec.ClusterIP != v1.ClusterIPNone {
		v.fail("Required value", "spec", "ports")
	}
	names := map[string]bool{}
	type portProto struct {
		port  int32
		proto v1.Protocol
	}
	seen := map[portProto]bool{}
	for i, p := range spec.Ports {
		if len(spec.Ports) > 1 && p.Name == "" {
			v.fail("Required value", "spec", "ports", i, "name")
		}
		if p.Name != "" {
			for _, msg := range validation.IsValidPortName(p.Name) {
				v.invalid(p.Name, msg, "spec", "ports", i, "name")
			}
			if names[p.Name] {
				v.fail(fmt.Sprintf("Duplicate value: %q", p.Name), "spec", "ports", i, "name")
			}
			names[p.Name] = true
		}
		v.port(p.Port, "spec", "ports", i, "port")
		v.protocol(p.Protocol, "spec", "ports", i, "protocol")
		if seen[portProto{p.Port, p.Protocol}] {
			v.fail(fmt.Sprintf("Duplicate value: {Port:%d Protocol:%s}", p.Port, p.Protocol), "spec", "ports", i)
		}
		seen[portProto{p.Port, p.Protocol}] = true
		if p.NodePort != 0 {
			v.port(p.NodePort, "spec", "ports", i, "nodePort")
			if spec.Type == v1.ServiceTypeClusterIP {
				v.fail("Forbidden: may not be used when `type` is 'ClusterIP'", "spec", "ports", i, "nodePort")
			}
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == v1.ClusterIPNone {
			if i > 0 || len(spec.ClusterIPs) > 1 {
				v.invalid(ip, "'None' must be the first and only value", "spec", "clusterIPs", i)
			}
			continue
		}
		if ip == "" {
			continue
		}
		v.ip(ip, "spec", "clusterIPs", i)
	}
	if len(spec.ClusterIPs) > 0 && spec.ClusterIP != spec.ClusterIPs[0] {
		v.invalid(spec.ClusterIPs, "must be the same as spec.clusterIP when both are set", "spec", "clusterIPs")
	}
	for i, f := range spec.IPFamilies {
		if f != v1.IPv4Protocol && f != v1.IPv6Protocol {
			v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"IPv4\", \"IPv6\"", truncate(string(f), 40)), "spec", "ipFamilies", i)
		}
	}
	for i, ip := range spec.ExternalIPs {
		v.ip(ip, "spec", "externalIPs", i)
	}
	for i, r := range spec.LoadBalancerSourceRanges {
		if _, ok := ParseCIDRSloppy(strings.TrimSpace(r)); !ok {
			v.invalid(r, "must be a valid CIDR (e.g. 10.0.0.0/8)", "spec", "loadBalancerSourceRanges", i)
		}
	}
	switch spec.SessionAffinity {
	case v1.ServiceAffinityNone:
	case v1.ServiceAffinityClientIP:
		t := *spec.SessionAffinityConfig.ClientIP.TimeoutSeconds
		if t <= 0 || t > maxClientIPAffinitySeconds {
			v.invalid(t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds),
				"spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds")
		}
	default:
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"ClientIP\", \"None\"", truncate(string(spec.SessionAffinity), 40)), "spec", "sessionAffinity")
	}
	switch spec.ExternalTrafficPolicy {
	case "", v1.ServiceExternalTrafficPolicyCluster, v1.ServiceExternalTrafficPolicyLocal:
	default:
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"Cluster\", \"Local\"", truncate(string(spec.ExternalTrafficPolicy), 40)), "spec", "externalTrafficPolicy")
	}
	if p := spec.InternalTrafficPolicy; p != nil && *p != v1.ServiceInternalTrafficPolicyCluster && *p != v1.ServiceInternalTrafficPolicyLocal {
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"Cluster\", \"Local\"", truncate(string(*p), 40)), "spec", "internalTrafficPolicy")
	}
	if spec.HealthCheckNodePort != 0 {
		v.port(spec.HealthCheckNodePort, "spec", "healthCheckNodePort")
	}
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			v.ip(ing.IP, "status", "loadBalancer", "ingress", i, "ip")
		}
		if m := ing.IPMode; m != nil && *m != v1.LoadBalancerIPModeVIP && *m != v1.LoadBalancerIPModeProxy {
			v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"Proxy\", \"VIP\"", truncate(string(*m), 40)), "status", "loadBalancer", "ingress", i, "ipMode")
		}
	}
	return v.ok
}

// validateSlice checks an EndpointSlice as the API server would.
func validateSlice(l *loader, es *discovery.EndpointSlice, loc *locator) bool {
	v := newValidator(l, loc, "EndpointSlice", es.Namespace, es.Name)
	validateMeta(v, es.Namespace, es.Name, false)
	v.labels(es.Labels)
	switch es.AddressType {
	case discovery.AddressTypeIPv4, discovery.AddressTypeIPv6, discovery.AddressTypeFQDN:
	default:
		v.fail(fmt.Sprintf("Unsupported value: %q: supported values: \"FQDN\", \"IPv4\", \"IPv6\"", truncate(string(es.AddressType), 40)), "addressType")
	}
	for i, ep := range es.Endpoints {
		if len(ep.Addresses) == 0 {
			v.fail("Required value: must contain at least 1 address", "endpoints", i, "addresses")
		}
		if len(ep.Addresses) > 100 {
			v.fail("Too many: must have at most 100 items", "endpoints", i, "addresses")
		}
		if es.AddressType != discovery.AddressTypeFQDN {
			for j, a := range ep.Addresses {
				ip, ok := ParseIPSloppy(a)
				if !ok {
					v.ip(a, "endpoints", i, "addresses", j)
					continue
				}
				if ip.Is4() != (es.AddressType == discovery.AddressTypeIPv4) {
					v.invalid(a, "must be an "+string(es.AddressType)+" address", "endpoints", i, "addresses", j)
				}
			}
		}
		if ep.NodeName != nil {
			v.dns1123Subdomain(*ep.NodeName, "endpoints", i, "nodeName")
		}
	}
	names := map[string]bool{}
	for i, p := range es.Ports {
		if *p.Name != "" {
			v.dns1123Label(*p.Name, "ports", i, "name")
		}
		if names[*p.Name] {
			v.fail(fmt.Sprintf("Duplicate value: %q", *p.Name), "ports", i, "name")
		}
		names[*p.Name] = true
		if p.Port != nil {
			v.port(*p.Port, "ports", i, "port")
		}
		v.protocol(*p.Protocol, "ports", i, "protocol")
	}
	return v.ok
}

// validateEndpoints checks a legacy Endpoints object.
func validateEndpoints(l *loader, ep *v1.Endpoints, loc *locator) bool {
	v := newValidator(l, loc, "Endpoints", ep.Namespace, ep.Name)
	validateMeta(v, ep.Namespace, ep.Name, false)
	v.labels(ep.Labels)
	for i, ss := range ep.Subsets {
		for j, a := range ss.Addresses {
			v.ip(a.IP, "subsets", i, "addresses", j, "ip")
		}
		for j, a := range ss.NotReadyAddresses {
			v.ip(a.IP, "subsets", i, "notReadyAddresses", j, "ip")
		}
		for j, p := range ss.Ports {
			if p.Name != "" {
				v.dns1123Label(p.Name, "subsets", i, "ports", j, "name")
			}
			v.port(p.Port, "subsets", i, "ports", j, "port")
			if p.Protocol != "" {
				v.protocol(p.Protocol, "subsets", i, "ports", j, "protocol")
			}
		}
	}
	return v.ok
}

// checkDuplicates rejects two objects of one kind with one name: a
// snapshot of a cluster cannot hold both, and which one kube-proxy would
// see would depend on the order of the input.
func checkDuplicates(l *loader) {
	seen := map[string]Pos{}
	check := func(kind, ns, name string, pos Pos) {
		key := kind + " " + ns + "/" + name
		if first, ok := seen[key]; ok {
			l.errorf(pos, key, "metadata.name", "Duplicate value: %q: already defined at %s", name, first)
			return
		}
		seen[key] = pos
	}
	for _, s := range l.snap.Services {
		check("Service", s.Obj.Namespace, s.Obj.Name, s.Pos)
	}
	for _, s := range l.snap.Slices {
		if !s.Mirrored {
			check("EndpointSlice", s.Obj.Namespace, s.Obj.Name, s.Pos)
		}
	}
	for _, e := range l.snap.Endpoints {
		check("Endpoints", e.Obj.Namespace, e.Obj.Name, e.Pos)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// maxClientIPAffinitySeconds is the API server's limit on
// sessionAffinityConfig.clientIP.timeoutSeconds (one day).
const maxClientIPAffinitySeconds = 86400
