package compiler

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type epSpec struct {
	ip                          string
	ready, serving, terminating bool
	local                       bool
	zones, nodes                []string
}

func mkEndpoints(specs []epSpec) []*Endpoint {
	var out []*Endpoint
	for _, s := range specs {
		ip := netip.MustParseAddr(s.ip)
		out = append(out, &Endpoint{IP: ip, Port: 80, String: JoinHostPort(ip, 80),
			Ready: s.ready, Serving: s.serving, Terminating: s.terminating, IsLocal: s.local,
			Hints: hints(s.zones, s.nodes)})
	}
	return out
}

// hints returns the topology hints, or nil when there are none.
func hints(zones, nodes []string) *EndpointHints {
	if zones == nil && nodes == nil {
		return nil
	}
	return &EndpointHints{Zones: zones, Nodes: nodes}
}

func names(eps []*Endpoint) []string {
	out := []string{}
	for _, ep := range eps {
		out = append(out, ep.IP.String())
	}
	return out
}

func TestCategorizeEndpoints(t *testing.T) {
	ready := func(ip string, local bool) epSpec { return epSpec{ip: ip, ready: true, serving: true, local: local} }
	termServing := func(ip string, local bool) epSpec {
		return epSpec{ip: ip, serving: true, terminating: true, local: local}
	}
	tests := []struct {
		reason       string
		sp           ServicePort
		eps          []epSpec
		zone         string
		cluster      []string
		local        []string
		reachable    []string
		hasAny       bool
		wantTopology string
	}{
		{
			reason:  "Cluster policy uses every ready endpoint",
			eps:     []epSpec{ready("10.0.0.1", true), ready("10.0.0.2", false), {ip: "10.0.0.3"}},
			cluster: []string{"10.0.0.1", "10.0.0.2"}, local: []string{}, reachable: []string{"10.0.0.1", "10.0.0.2"}, hasAny: true,
		},
		{
			reason:  "no ready endpoint: fall back to serving terminating ones, not to non-serving ones",
			eps:     []epSpec{termServing("10.0.0.1", false), {ip: "10.0.0.2", terminating: true}},
			cluster: []string{"10.0.0.1"}, local: []string{}, reachable: []string{"10.0.0.1"}, hasAny: true,
		},
		{
			reason:  "ITP Local on a ClusterIP-only service uses local endpoints only",
			sp:      ServicePort{InternalPolicyLocal: true},
			eps:     []epSpec{ready("10.0.0.1", true), ready("10.0.0.2", false)},
			cluster: []string{}, local: []string{"10.0.0.1"}, reachable: []string{"10.0.0.1"}, hasAny: true,
		},
		{
			reason:  "ITP Local with no local endpoint still counts remote ones for hasAny",
			sp:      ServicePort{InternalPolicyLocal: true},
			eps:     []epSpec{ready("10.0.0.2", false)},
			cluster: []string{}, local: []string{}, reachable: []string{}, hasAny: true,
		},
		{
			reason:  "ETP Local on an external service: cluster and local sets, local falls back to terminating",
			sp:      ServicePort{ExternalPolicyLocal: true, externallyAccessible: true},
			eps:     []epSpec{termServing("10.0.0.1", true), ready("10.0.0.2", false)},
			cluster: []string{"10.0.0.2"}, local: []string{"10.0.0.1"}, reachable: []string{"10.0.0.1", "10.0.0.2"}, hasAny: true,
		},
		{
			reason: "zone hints restrict the cluster set when every ready endpoint has one",
			eps: []epSpec{
				{ip: "10.0.0.1", ready: true, serving: true, zones: []string{"a"}},
				{ip: "10.0.0.2", ready: true, serving: true, zones: []string{"b"}},
			},
			zone:    "a",
			cluster: []string{"10.0.0.1"}, local: []string{}, reachable: []string{"10.0.0.1"}, hasAny: true, wantTopology: TopologyPreferSameZone,
		},
		{
			reason: "a ready endpoint without a zone hint disables topology",
			eps: []epSpec{
				{ip: "10.0.0.1", ready: true, serving: true, zones: []string{"a"}},
				{ip: "10.0.0.2", ready: true, serving: true},
			},
			zone:    "a",
			cluster: []string{"10.0.0.1", "10.0.0.2"}, local: []string{}, reachable: []string{"10.0.0.1", "10.0.0.2"}, hasAny: true,
		},
		{
			reason: "node hints win over zone hints",
			eps: []epSpec{
				{ip: "10.0.0.1", ready: true, serving: true, zones: []string{"a"}, nodes: []string{"other"}},
				{ip: "10.0.0.2", ready: true, serving: true, zones: []string{"a"}, nodes: []string{"node1"}},
			},
			zone:    "a",
			cluster: []string{"10.0.0.2"}, local: []string{}, reachable: []string{"10.0.0.2"}, hasAny: true, wantTopology: TopologyPreferSameNode,
		},
		{
			reason:  "no endpoints at all",
			cluster: []string{}, local: []string{}, reachable: []string{},
		},
	}
	for i, tc := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			sp := tc.sp
			sp.Endpoints = mkEndpoints(tc.eps)
			got := CategorizeEndpoints(&sp, "node1", tc.zone)
			type result struct {
				Cluster, Local, Reachable []string
				HasAny                    bool
				Topology                  string
			}
			want := result{tc.cluster, tc.local, tc.reachable, tc.hasAny, tc.wantTopology}
			have := result{names(got.Cluster), names(got.Local), names(got.AllReachable), got.HasAny, got.Topology}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReach(t *testing.T) {
	local := &Endpoint{String: "10.0.0.1:80"}
	remote := &Endpoint{String: "10.0.0.2:80"}
	tests := []struct {
		reason string
		sp     ServicePort
		cat    Categorized
		want   Reach
	}{
		{"no endpoints: nothing", ServicePort{}, Categorized{}, Reach{}},
		{"Cluster policy with endpoints", ServicePort{}, Categorized{Cluster: []*Endpoint{remote}, HasAny: true},
			Reach{ClusterSet: true, Internal: true, External: true}},
		{"ITP Local without a local endpoint: no internal reach", ServicePort{InternalPolicyLocal: true},
			Categorized{HasAny: true}, Reach{External: true}},
		{"ETP Local without a local endpoint keeps the external chain", ServicePort{ExternalPolicyLocal: true, externallyAccessible: true},
			Categorized{Cluster: []*Endpoint{remote}, HasAny: true},
			Reach{ClusterSet: true, Internal: true, ExternalChain: true}},
		{"ETP Local with a local endpoint", ServicePort{ExternalPolicyLocal: true, externallyAccessible: true},
			Categorized{Cluster: []*Endpoint{local, remote}, Local: []*Endpoint{local}, HasAny: true},
			Reach{ClusterSet: true, LocalSet: true, Internal: true, External: true, ExternalChain: true}},
	}
	for _, tc := range tests {
		if got := tc.cat.Reach(&tc.sp); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.reason, got, tc.want)
		}
	}
}

// TestFilterEndpoints: the kept endpoints in order; when all are kept the
// input itself, capped so that appending to the result cannot write into
// the model's list.
func TestFilterEndpoints(t *testing.T) {
	eps := mkEndpoints([]epSpec{{ip: "10.0.0.1", ready: true}, {ip: "10.0.0.2"}, {ip: "10.0.0.3", ready: true}})
	ready := func(ep *Endpoint) bool { return ep.Ready }
	for _, tc := range []struct {
		name string
		in   []*Endpoint
		keep func(*Endpoint) bool
		want []string
	}{
		{"all", eps, func(*Endpoint) bool { return true }, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
		{"none", eps, func(*Endpoint) bool { return false }, []string{}},
		{"some", eps, ready, []string{"10.0.0.1", "10.0.0.3"}},
		{"first dropped", eps[1:], ready, []string{"10.0.0.3"}},
		{"prefix of a longer list", eps[:1], ready, []string{"10.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := filterEndpoints(tc.in, tc.keep)
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			before := names(eps)
			_ = append(got, &Endpoint{IP: netip.MustParseAddr("10.9.9.9")})
			if diff := cmp.Diff(before, names(eps)); diff != "" {
				t.Errorf("appending to the result changed the input (-before +after):\n%s", diff)
			}
		})
	}
}
