package compiler

import (
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// defaultService applies the API server's defaults (SetDefaults_Service)
// and what its Service storage fills in on create (clusterIPs, ipFamilies,
// ipFamilyPolicy from clusterIP), so that a hand-written manifest means
// what the stored object would.
func defaultService(svc *v1.Service) {
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = v1.ServiceAffinityNone
	}
	if spec.SessionAffinity == v1.ServiceAffinityNone {
		spec.SessionAffinityConfig = nil
	}
	if spec.SessionAffinity == v1.ServiceAffinityClientIP {
		c := spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			t := v1.DefaultClientIPServiceAffinitySeconds
			spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &t}}
		}
	}
	if spec.Type == "" {
		spec.Type = v1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		if spec.Ports[i].Protocol == "" {
			spec.Ports[i].Protocol = v1.ProtocolTCP
		}
	}
	accessible := spec.Type == v1.ServiceTypeLoadBalancer || spec.Type == v1.ServiceTypeNodePort ||
		(spec.Type == v1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if accessible && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && spec.Type != v1.ServiceTypeExternalName {
		p := v1.ServiceInternalTrafficPolicyCluster
		spec.InternalTrafficPolicy = &p
	}
	if spec.Type == v1.ServiceTypeLoadBalancer {
		vip := v1.LoadBalancerIPModeVIP
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				svc.Status.LoadBalancer.Ingress[i].IPMode = &vip
			}
		}
	}
	if spec.Type == v1.ServiceTypeExternalName {
		return
	}
	if len(spec.ClusterIPs) == 0 && spec.ClusterIP != "" {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	if len(spec.IPFamilies) == 0 && spec.ClusterIP != v1.ClusterIPNone {
		for _, s := range spec.ClusterIPs {
			if ip, ok := ParseIPSloppy(s); ok {
				if ip.Is4() {
					spec.IPFamilies = append(spec.IPFamilies, v1.IPv4Protocol)
				} else {
					spec.IPFamilies = append(spec.IPFamilies, v1.IPv6Protocol)
				}
			}
		}
	}
}

// defaultSlice applies the API server's EndpointSlice defaults: a port's
// name defaults to "" and its protocol to TCP. A missing namespace is left
// empty: kube-proxy's slice cache ignores such a slice (unlike a Service,
// which is put in "default").
func defaultSlice(es *discovery.EndpointSlice) {
	for i := range es.Ports {
		if es.Ports[i].Name == nil {
			empty := ""
			es.Ports[i].Name = &empty
		}
		if es.Ports[i].Protocol == nil {
			tcp := v1.ProtocolTCP
			es.Ports[i].Protocol = &tcp
		}
	}
}
