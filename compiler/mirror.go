package compiler

import (
	"sort"
	"strconv"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels of the endpointslice-mirroring controller.
const (
	labelSkipMirror = "endpointslice.kubernetes.io/skip-mirror"
	labelManagedBy  = "endpointslice.kubernetes.io/managed-by"
	mirrorManager   = "endpointslicemirroring-controller.k8s.io"
)

// mirrorAll converts legacy Endpoints into EndpointSlices, as the
// endpointslice-mirroring controller would, unless the input already has
// slices for that service or the object opts out with skip-mirror.
// (The real controller mirrors only selector-less Services; for a selector
// Service the EndpointSlice controller would write the equivalent slices,
// so the conversion is done for both.)
func mirrorAll(l *loader) {
	have := map[[2]string]bool{}
	for _, s := range l.snap.Slices {
		if n := s.Obj.Labels[LabelServiceName]; n != "" {
			have[[2]string{s.Obj.Namespace, n}] = true
		}
	}
	for _, e := range l.snap.Endpoints {
		ep := e.Obj
		obj := "Endpoints " + ep.Namespace + "/" + ep.Name
		if have[[2]string{ep.Namespace, ep.Name}] {
			l.warnf(e.Pos, obj, "", "ignored: the input has EndpointSlices for this service")
			continue
		}
		if ep.Labels[labelSkipMirror] == "true" {
			l.warnf(e.Pos, obj, "", "not mirrored: labelled %s=true", labelSkipMirror)
			continue
		}
		for _, es := range mirrorEndpoints(ep) {
			l.snap.Slices = append(l.snap.Slices, &Slice{Obj: es, Pos: e.Pos, Mirrored: true})
		}
	}
}

// mirrorEndpoints converts one Endpoints object. The result is what
// kube-proxy would see from the mirrored slices: for every port of every
// subset, each address with its readiness (an address that is not ready
// in any subset for that port counts as not ready, as RepackSubsets does).
// One slice is made per (port, address family).
func mirrorEndpoints(ep *v1.Endpoints) []*discovery.EndpointSlice {
	type addrKey struct {
		ip  string
		uid string
	}
	type portKey struct {
		name  string
		port  int32
		proto v1.Protocol
	}
	type entry struct {
		addr  v1.EndpointAddress
		ready bool
	}
	keyOf := func(a v1.EndpointAddress) addrKey {
		k := addrKey{ip: a.IP}
		if a.TargetRef != nil {
			k.uid = string(a.TargetRef.UID)
		}
		return k
	}
	// RepackSubsets keeps one copy of each address (by IP and Pod UID):
	// its first occurrence in any subset, with or without ports, supplies
	// nodeName, hostname and targetRef for every port.
	first := map[addrKey]v1.EndpointAddress{}
	for _, ss := range ep.Subsets {
		for _, list := range [][]v1.EndpointAddress{ss.Addresses, ss.NotReadyAddresses} {
			for _, a := range list {
				if _, ok := first[keyOf(a)]; !ok {
					first[keyOf(a)] = a
				}
			}
		}
	}
	byPort := map[portKey]map[addrKey]*entry{}
	var ports []portKey
	note := func(p portKey, a v1.EndpointAddress, ready bool) {
		set := byPort[p]
		if set == nil {
			set = map[addrKey]*entry{}
			byPort[p] = set
			ports = append(ports, p)
		}
		k := keyOf(a)
		if old, ok := set[k]; ok {
			old.ready = old.ready && ready
			return
		}
		set[k] = &entry{addr: first[k], ready: ready}
	}
	for _, ss := range ep.Subsets {
		for _, p := range ss.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = v1.ProtocolTCP
			}
			pk := portKey{p.Name, p.Port, proto}
			for _, a := range ss.Addresses {
				note(pk, a, true)
			}
			for _, a := range ss.NotReadyAddresses {
				note(pk, a, false)
			}
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.port != b.port {
			return a.port < b.port
		}
		return a.proto < b.proto
	})
	var out []*discovery.EndpointSlice
	for i, pk := range ports {
		entries := byPort[pk]
		keys := make([]addrKey, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool {
			if keys[a].ip != keys[b].ip {
				return keys[a].ip < keys[b].ip
			}
			return keys[a].uid < keys[b].uid
		})
		for _, fam := range []discovery.AddressType{discovery.AddressTypeIPv4, discovery.AddressTypeIPv6} {
			var eps []discovery.Endpoint
			for _, k := range keys {
				e := entries[k]
				ip, ok := ParseIPSloppy(e.addr.IP)
				if !ok || (ip.Is4() != (fam == discovery.AddressTypeIPv4)) {
					continue
				}
				ready := e.ready
				d := discovery.Endpoint{
					Addresses:  []string{ip.String()},
					Conditions: discovery.EndpointConditions{Ready: &ready},
					NodeName:   e.addr.NodeName,
					TargetRef:  e.addr.TargetRef,
				}
				if e.addr.Hostname != "" {
					h := e.addr.Hostname
					d.Hostname = &h
				}
				eps = append(eps, d)
			}
			if len(eps) == 0 {
				continue
			}
			labels := map[string]string{}
			for k, v := range ep.Labels {
				labels[k] = v
			}
			labels[LabelServiceName] = ep.Name
			labels[labelManagedBy] = mirrorManager
			name, port, proto := pk.name, pk.port, pk.proto
			out = append(out, &discovery.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ep.Namespace,
					Name:      ep.Name + "-mirror-" + strconv.Itoa(i) + "-" + string(fam),
					Labels:    labels,
				},
				AddressType: fam,
				Endpoints:   eps,
				Ports:       []discovery.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
			})
		}
	}
	return out
}
