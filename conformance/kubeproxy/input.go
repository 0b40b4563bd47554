package kubeproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	endpointsv1 "k8s.io/kubernetes/pkg/api/v1/endpoints"
	netutils "k8s.io/utils/net"

	// The install packages register core/v1, discovery/v1 and
	// networking/v1 in legacyscheme.Scheme together with the API server's
	// defaulting functions, which Decode applies.
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
)

// Objects is what kube-proxy's informers would deliver for a snapshot,
// after the API server and the controllers did their part.
type Objects struct {
	Services []*v1.Service
	Slices   []*discovery.EndpointSlice
	// Nodes are the v1 Node objects of the input (kube-proxy reads its own
	// Node for addresses, podCIDRs and the zone label).
	Nodes []*v1.Node
	// ServiceCIDRs are the CIDRs of networking.k8s.io/v1 ServiceCIDR
	// objects; HasServiceCIDRs tells whether the input had any.
	ServiceCIDRs    []string
	HasServiceCIDRs bool
}

// Labels that decide what kube-proxy watches (cmd/kube-proxy/app/server.go).
const (
	labelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	labelHeadless         = "service.kubernetes.io/headless"
)

// Decode reads a YAML or JSON stream of Services, EndpointSlices, legacy
// Endpoints, Nodes and ServiceCIDRs (kind: List accepted) and returns what
// kube-proxy would be told about:
//
//   - the API server's defaulting is applied (legacyscheme.Scheme.Default),
//     plus what Service storage derives on create (clusterIPs, ipFamilies
//     and ipFamilyPolicy from clusterIP);
//   - legacy Endpoints are converted into EndpointSlices the way the
//     endpointslice-mirroring controller does, unless the input has
//     EndpointSlices for that Service or the object opts out with
//     endpointslice.kubernetes.io/skip-mirror;
//   - the informer filters are applied: Services labelled
//     service.kubernetes.io/service-proxy-name or with clusterIP None, and
//     EndpointSlices labelled service.kubernetes.io/headless, are dropped.
//
// Other kinds are ignored. A Service without a namespace is put in
// "default"; EndpointSlices and Endpoints keep an empty namespace, so they
// belong to no Service (kubeproxyc warns about them).
func Decode(data []byte) (*Objects, error) {
	var r reader
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(bytes.NewReader(data)), 4096)
	for i := 0; ; i++ {
		var doc json.RawMessage
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		doc = bytes.TrimSpace(doc)
		if len(doc) == 0 || string(doc) == "null" {
			continue
		}
		if err := r.add(doc); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
	}
	return r.finish(), nil
}

type reader struct {
	objs      Objects
	services  []*v1.Service
	endpoints []*v1.Endpoints
}

func (r *reader) add(doc []byte) error {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Items           []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return err
	}
	if strings.HasSuffix(head.Kind, "List") {
		for _, it := range head.Items {
			if err := r.add(it); err != nil {
				return err
			}
		}
		return nil
	}
	switch head.APIVersion + "/" + head.Kind {
	case "v1/Service", "v1/Endpoints", "v1/Node", "discovery.k8s.io/v1/EndpointSlice", "networking.k8s.io/v1/ServiceCIDR":
	default:
		return nil
	}
	obj, _, err := legacyscheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
	if err != nil {
		return err
	}
	legacyscheme.Scheme.Default(obj)
	switch o := obj.(type) {
	case *v1.Service:
		r.services = append(r.services, o)
	case *discovery.EndpointSlice:
		r.objs.Slices = append(r.objs.Slices, o)
	case *v1.Endpoints:
		r.endpoints = append(r.endpoints, o)
	case *v1.Node:
		r.objs.Nodes = append(r.objs.Nodes, o)
	case *networkingv1.ServiceCIDR:
		r.objs.HasServiceCIDRs = true
		r.objs.ServiceCIDRs = append(r.objs.ServiceCIDRs, o.Spec.CIDRs...)
	}
	return nil
}

func (r *reader) finish() *Objects {
	for _, svc := range r.services {
		completeService(svc)
		if _, ok := svc.Labels[labelServiceProxyName]; ok || svc.Spec.ClusterIP == v1.ClusterIPNone {
			continue
		}
		r.objs.Services = append(r.objs.Services, svc)
	}
	hasSlices := map[string]bool{}
	for _, es := range r.objs.Slices {
		if n := es.Labels[discovery.LabelServiceName]; n != "" {
			hasSlices[es.Namespace+"/"+n] = true
		}
	}
	for _, ep := range r.endpoints {
		if hasSlices[ep.Namespace+"/"+ep.Name] || ep.Labels[discovery.LabelSkipMirror] == "true" {
			continue
		}
		r.objs.Slices = append(r.objs.Slices, mirror(ep)...)
	}
	kept := r.objs.Slices[:0]
	for _, es := range r.objs.Slices {
		if _, ok := es.Labels[labelHeadless]; !ok {
			kept = append(kept, es)
		}
	}
	r.objs.Slices = kept
	return &r.objs
}

// completeService fills in what the API server's Service storage sets on
// create and the defaulting functions do not: the namespace, clusterIPs,
// ipFamilies and ipFamilyPolicy derived from spec.clusterIP.
func completeService(svc *v1.Service) {
	if svc.Namespace == "" {
		svc.Namespace = metav1.NamespaceDefault
	}
	spec := &svc.Spec
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
		for _, ip := range spec.ClusterIPs {
			switch {
			case netutils.IsIPv4String(ip):
				spec.IPFamilies = append(spec.IPFamilies, v1.IPv4Protocol)
			case netutils.IsIPv6String(ip):
				spec.IPFamilies = append(spec.IPFamilies, v1.IPv6Protocol)
			}
		}
	}
	if spec.IPFamilyPolicy == nil && len(spec.IPFamilies) > 0 {
		p := v1.IPFamilyPolicySingleStack
		if len(spec.IPFamilies) > 1 {
			p = v1.IPFamilyPolicyRequireDualStack
		}
		spec.IPFamilyPolicy = &p
	}
}

// mirror converts a legacy Endpoints object the way the
// endpointslice-mirroring controller (pkg/controller/endpointslicemirroring)
// does: the subsets are canonicalised with RepackSubsets (an address that
// is not ready for a port in any subset is not ready), then every subset
// becomes one slice per address family, "addresses" with ready=true and
// "notReadyAddresses" with ready=false; serving and terminating stay unset.
// Addresses that are not IPs are skipped. The controller's limit of 1000
// addresses per subset is applied.
func mirror(ep *v1.Endpoints) []*discovery.EndpointSlice {
	const maxPerSubset = 1000
	var out []*discovery.EndpointSlice
	for i, ss := range endpointsv1.RepackSubsets(ep.Subsets) {
		ports := make([]discovery.EndpointPort, 0, len(ss.Ports))
		for _, p := range ss.Ports {
			p := p
			ports = append(ports, discovery.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
		}
		byType := map[discovery.AddressType][]discovery.Endpoint{}
		added := 0
		add := func(addrs []v1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				if added >= maxPerSubset {
					return
				}
				ip := netutils.ParseIPSloppy(a.IP)
				if ip == nil {
					continue
				}
				added++
				t := discovery.AddressTypeIPv4
				if ip.To4() == nil {
					t = discovery.AddressTypeIPv6
				}
				r := ready
				e := discovery.Endpoint{
					Addresses:  []string{ip.String()},
					Conditions: discovery.EndpointConditions{Ready: &r},
					NodeName:   a.NodeName,
					TargetRef:  a.TargetRef,
				}
				if a.Hostname != "" {
					h := a.Hostname
					e.Hostname = &h
				}
				byType[t] = append(byType[t], e)
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
		for _, t := range []discovery.AddressType{discovery.AddressTypeIPv4, discovery.AddressTypeIPv6} {
			eps := byType[t]
			if len(eps) == 0 {
				continue
			}
			sort.SliceStable(eps, func(a, b int) bool { return eps[a].Addresses[0] < eps[b].Addresses[0] })
			labels := map[string]string{}
			for k, v := range ep.Labels {
				labels[k] = v
			}
			labels[discovery.LabelServiceName] = ep.Name
			labels[discovery.LabelManagedBy] = "endpointslicemirroring-controller.k8s.io"
			out = append(out, &discovery.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ep.Namespace,
					Name:      fmt.Sprintf("%s-mirror-%d-%s", ep.Name, i, strings.ToLower(string(t))),
					Labels:    labels,
				},
				AddressType: t,
				Endpoints:   eps,
				Ports:       ports,
			})
		}
	}
	return out
}
