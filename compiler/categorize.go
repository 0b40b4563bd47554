package compiler

import "sort"

// Topology modes derived from endpoint hints.
const (
	TopologyNone           = ""
	TopologyPreferSameNode = "PreferSameNode"
	TopologyPreferSameZone = "PreferSameZone"
)

// Categorized is the result of CategorizeEndpoints for one service port.
type Categorized struct {
	// Cluster holds the endpoints used with the Cluster traffic policy:
	// ready endpoints allowed by topology, or, when there are none,
	// serving-and-terminating endpoints.
	Cluster []*Endpoint
	// Local holds the endpoints used with the Local traffic policy: local
	// ready endpoints, or else local serving-and-terminating ones.
	Local []*Endpoint
	// AllReachable is the union of Cluster and Local (those that need an
	// endpoint chain), in ascending String order.
	AllReachable []*Endpoint
	// HasAny is true when the service has a usable endpoint anywhere.
	HasAny bool
	// Topology is the topology mode the hints selected.
	Topology string
}

// CategorizeEndpoints selects the endpoints one node uses for a service
// port, exactly as kube-proxy's CategorizeEndpoints does: traffic
// policies, topology hints (same-node, then same-zone) and the fallback to
// serving terminating endpoints.
func CategorizeEndpoints(sp *ServicePort, nodeName, zone string) Categorized {
	var c Categorized
	eps := sp.Endpoints
	if len(eps) == 0 {
		return c
	}
	useServingTerminating := false
	if sp.UsesClusterEndpoints() {
		c.Topology = topologyModeFromHints(eps, nodeName, zone)
		c.Cluster = filterEndpoints(eps, func(ep *Endpoint) bool {
			return ep.Ready && availableForTopology(ep, c.Topology, nodeName, zone)
		})
		if len(c.Cluster) == 0 {
			c.Cluster = filterEndpoints(eps, func(ep *Endpoint) bool { return ep.Serving && ep.Terminating })
		}
		if len(c.Cluster) > 0 {
			c.HasAny = true
		}
	}
	if !sp.UsesLocalEndpoints() {
		c.AllReachable = c.Cluster
		return c
	}
	localReady, localServingTerminating := false, false
	for _, ep := range eps {
		if ep.Ready {
			c.HasAny = true
			if ep.IsLocal {
				localReady = true
			}
		} else if ep.Serving && ep.Terminating {
			c.HasAny = true
			if ep.IsLocal {
				localServingTerminating = true
			}
		}
	}
	if localReady {
		c.Local = filterEndpoints(eps, func(ep *Endpoint) bool { return ep.IsLocal && ep.Ready })
	} else if localServingTerminating {
		useServingTerminating = true
		c.Local = filterEndpoints(eps, func(ep *Endpoint) bool { return ep.IsLocal && ep.Serving && ep.Terminating })
	}
	if !sp.UsesClusterEndpoints() {
		c.AllReachable = c.Local
		return c
	}
	if c.Topology == TopologyNone && !useServingTerminating {
		c.AllReachable = c.Cluster
		return c
	}
	// kube-proxy builds this union from a map; its order is random there.
	// The canonical order is the endpoints' String order.
	seen := make(map[string]bool, len(c.Cluster)+len(c.Local))
	all := make([]*Endpoint, 0, len(c.Cluster)+len(c.Local))
	for _, list := range [][]*Endpoint{c.Cluster, c.Local} {
		for _, ep := range list {
			if !seen[ep.String] {
				seen[ep.String] = true
				all = append(all, ep)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].String < all[j].String })
	c.AllReachable = all
	return c
}

func topologyModeFromHints(eps []*Endpoint, nodeName, zone string) string {
	hasReady := false
	hasForNode, allNodeHints := false, true
	hasForZone, allZoneHints := false, true
	for _, ep := range eps {
		if !ep.Ready {
			continue
		}
		hasReady = true
		if len(ep.NodeHints()) == 0 {
			allNodeHints = false
		} else if hasString(ep.NodeHints(), nodeName) {
			hasForNode = true
		}
		if len(ep.ZoneHints()) == 0 {
			allZoneHints = false
		} else if hasString(ep.ZoneHints(), zone) {
			hasForZone = true
		}
	}
	if !hasReady {
		return TopologyNone
	}
	// The PreferSameTrafficDistribution gate is GA and locked on in v1.36.
	if allNodeHints && hasForNode {
		return TopologyPreferSameNode
	}
	if allZoneHints && hasForZone {
		return TopologyPreferSameZone
	}
	return TopologyNone
}

func availableForTopology(ep *Endpoint, mode, nodeName, zone string) bool {
	switch mode {
	case TopologyNone:
		return true
	case TopologyPreferSameNode:
		return hasString(ep.NodeHints(), nodeName)
	case TopologyPreferSameZone:
		return hasString(ep.ZoneHints(), zone)
	}
	return false
}

// filterEndpoints returns the endpoints keep accepts, in order. When it
// accepts all of them (the usual case) the result is eps itself, capped
// so that an append copies: the lists are read, never written.
func filterEndpoints(eps []*Endpoint, keep func(*Endpoint) bool) []*Endpoint {
	i := 0
	for i < len(eps) && keep(eps[i]) {
		i++
	}
	if i == len(eps) {
		return eps[:len(eps):len(eps)]
	}
	out := make([]*Endpoint, i, len(eps))
	copy(out, eps[:i])
	for _, ep := range eps[i+1:] {
		if keep(ep) {
			out = append(out, ep)
		}
	}
	return out
}

// Reach says, for one service port, which endpoint sets the proxy modes
// that use policy chains (iptables, nftables) need, and whether each kind
// of traffic has endpoints to go to.
type Reach struct {
	ClusterSet bool // the Cluster-policy endpoints are used and not empty
	LocalSet   bool // the Local-policy endpoints are used and not empty
	// Internal is true when ClusterIP traffic has endpoints: any endpoint,
	// or with ITP Local a local one.
	Internal bool
	// External is true when traffic from outside has endpoints: any
	// endpoint, or with ETP Local a local one.
	External bool
	// ExternalChain is true when the port needs its external chain: it has
	// endpoints and is reachable other than by ClusterIP (the chain's
	// short-circuit rules serve pods and the node even without External).
	ExternalChain bool
}

// Reach derives the Reach of a service port from its categorized
// endpoints, as kube-proxy's iptables and nftables proxiers do.
func (c Categorized) Reach(sp *ServicePort) Reach {
	return Reach{
		ClusterSet:    len(c.Cluster) > 0 && sp.UsesClusterEndpoints(),
		LocalSet:      len(c.Local) > 0 && sp.UsesLocalEndpoints(),
		Internal:      c.HasAny && (!sp.InternalPolicyLocal || len(c.Local) > 0),
		External:      c.HasAny && (!sp.ExternalPolicyLocal || len(c.Local) > 0),
		ExternalChain: c.HasAny && sp.ExternallyAccessible(),
	}
}
