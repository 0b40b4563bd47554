package gen

import (
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// epInfo is what kube-proxy keeps of an endpoint copy.
type epInfo struct {
	ready, serving, terminating bool
	node                        string
	zoneHints, nodeHints        []string
}

func infoOf(e *discovery.Endpoint) epInfo {
	c := e.Conditions
	in := epInfo{
		ready:       c.Ready == nil || *c.Ready,
		serving:     c.Serving == nil || *c.Serving,
		terminating: c.Terminating != nil && *c.Terminating,
	}
	if e.NodeName != nil {
		in.node = *e.NodeName
	}
	if h := e.Hints; h != nil {
		for _, z := range h.ForZones {
			in.zoneHints = append(in.zoneHints, z.Name)
		}
		for _, n := range h.ForNodes {
			in.nodeHints = append(in.nodeHints, n.Name)
		}
		sort.Strings(in.zoneHints)
		sort.Strings(in.nodeHints)
		in.zoneHints = dedupe(in.zoneHints)
		in.nodeHints = dedupe(in.nodeHints)
	}
	return in
}

// watchedSlices groups the slices kube-proxy merges: by namespace, service
// name and address type; slices it ignores are left out.
func watchedSlices(objs []runtime.Object) map[string][]*discovery.EndpointSlice {
	groups := map[string][]*discovery.EndpointSlice{}
	for _, o := range objs {
		es, ok := o.(*discovery.EndpointSlice)
		if !ok {
			continue
		}
		name := es.Labels[discovery.LabelServiceName]
		if _, headless := es.Labels[v1.IsHeadlessService]; name == "" || headless || es.AddressType == discovery.AddressTypeFQDN {
			continue
		}
		k := es.Namespace + "/" + name + "/" + string(es.AddressType)
		groups[k] = append(groups[k], es)
	}
	return groups
}

func endpointIP(e *discovery.Endpoint) string {
	if len(e.Addresses) == 0 {
		return ""
	}
	a, err := netip.ParseAddr(e.Addresses[0])
	if err != nil {
		return e.Addresses[0]
	}
	return a.String()
}

// conflicts returns the endpoint IPs of one slice group whose merged
// result would depend on the order kube-proxy visits the slices in.
func conflicts(slices []*discovery.EndpointSlice) map[string]bool {
	type perSlice struct{ lastNonTerm, firstTerm *epInfo }
	// key: port name/protocol/number and endpoint IP
	seen := map[string]map[int]*perSlice{}
	for si, es := range slices {
		for _, p := range es.Ports {
			if p.Port == nil || *p.Port == 0 {
				continue
			}
			name, proto := "", v1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			for i := range es.Endpoints {
				e := &es.Endpoints[i]
				ip := endpointIP(e)
				if ip == "" {
					continue
				}
				k := name + "/" + string(proto) + "/" + strconv.Itoa(int(*p.Port)) + "/" + ip
				if seen[k] == nil {
					seen[k] = map[int]*perSlice{}
				}
				ps := seen[k][si]
				if ps == nil {
					ps = &perSlice{}
					seen[k][si] = ps
				}
				in := infoOf(e)
				if !in.terminating {
					ps.lastNonTerm = &in
				} else if ps.firstTerm == nil {
					ps.firstTerm = &in
				}
			}
		}
	}
	bad := map[string]bool{}
	for k, bySlice := range seen {
		if len(bySlice) < 2 {
			continue
		}
		var nonTerm, term []*epInfo
		for _, ps := range bySlice {
			if ps.lastNonTerm != nil {
				nonTerm = append(nonTerm, ps.lastNonTerm)
			} else {
				term = append(term, ps.firstTerm)
			}
		}
		check := term
		if len(nonTerm) > 0 {
			check = nonTerm
		}
		for _, in := range check[1:] {
			if !reflect.DeepEqual(*in, *check[0]) {
				bad[k[lastSlash(k)+1:]] = true
			}
		}
	}
	return bad
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// frontends returns the "ip/protocol/port" keys a Service's external IPs
// and load-balancer IPs receive traffic on.
func frontends(svc *v1.Service) []string {
	var ips []string
	ips = append(ips, svc.Spec.ExternalIPs...)
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			ips = append(ips, ing.IP)
		}
	}
	var out []string
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		for _, ip := range ips {
			out = append(out, ip+"/"+string(proto)+"/"+strconv.Itoa(int(p.Port)))
		}
	}
	return out
}

// Deterministic reports whether kube-proxy's result for the objects does
// not depend on its map orders: the EndpointSlices of a service port merge
// the same in any order, every address of a legacy Endpoints object names
// one Pod (see oneUIDPerIP), and no two Services share an external or
// load-balancer IP with the same protocol and port (kube-proxy's nftables
// and ipvs modes keep one entry per such key, and which Service gets it
// depends on the order the Services are visited in).
func Deterministic(objs []runtime.Object) bool {
	for _, slices := range watchedSlices(objs) {
		if len(conflicts(slices)) > 0 {
			return false
		}
	}
	for _, o := range objs {
		if ep, ok := o.(*v1.Endpoints); ok && !oneUIDPerIP(ep) {
			return false
		}
	}
	owner := map[string]string{}
	for _, o := range objs {
		svc, ok := o.(*v1.Service)
		if !ok {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		for _, k := range frontends(svc) {
			if prev, ok := owner[k]; ok && prev != name {
				return false
			}
			owner[k] = name
		}
	}
	return true
}

// oneUIDPerIP reports whether every copy of an address of a legacy
// Endpoints object names the same Pod (or none). Copies that differ are
// distinct addresses to RepackSubsets, and the mirroring controller puts
// them into a slice in map order, where kube-proxy keeps the last one.
func oneUIDPerIP(ep *v1.Endpoints) bool {
	uid := map[string]string{}
	for _, ss := range ep.Subsets {
		for _, list := range [][]v1.EndpointAddress{ss.Addresses, ss.NotReadyAddresses} {
			for _, a := range list {
				u := "-"
				if a.TargetRef != nil {
					u = "+" + string(a.TargetRef.UID)
				}
				if prev, ok := uid[a.IP]; ok && prev != u {
					return false
				}
				uid[a.IP] = u
			}
		}
	}
	return true
}

// dropSharedFrontends removes from svc the external and load-balancer IPs
// that would receive traffic on a protocol and port another Service
// already uses them for (see Deterministic); used records the keys taken.
func dropSharedFrontends(svc *v1.Service, used map[string]bool) {
	taken := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		for k := range used {
			if ip, rest, _ := strings.Cut(k, "/"); rest == string(proto)+"/"+strconv.Itoa(int(p.Port)) {
				taken[ip] = true
			}
		}
	}
	var ext []string
	for _, ip := range svc.Spec.ExternalIPs {
		if !taken[ip] {
			ext = append(ext, ip)
		}
	}
	svc.Spec.ExternalIPs = ext
	var ing []v1.LoadBalancerIngress
	for _, i := range svc.Status.LoadBalancer.Ingress {
		if i.IP == "" || !taken[i.IP] {
			ing = append(ing, i)
		}
	}
	svc.Status.LoadBalancer.Ingress = ing
	for _, k := range frontends(svc) {
		used[k] = true
	}
}

// repairDuplicates makes every conflicting endpoint identical in all
// slices of its group (a copy of its first occurrence).
func repairDuplicates(objs []runtime.Object) {
	for _, slices := range watchedSlices(objs) {
		bad := conflicts(slices)
		if len(bad) == 0 {
			continue
		}
		first := map[string]*discovery.Endpoint{}
		for _, es := range slices {
			for i := range es.Endpoints {
				e := &es.Endpoints[i]
				ip := endpointIP(e)
				if !bad[ip] {
					continue
				}
				if f, ok := first[ip]; ok {
					*e = *f.DeepCopy()
				} else {
					first[ip] = e.DeepCopy()
				}
			}
		}
	}
}
