package compiler

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNFTNames checks kube-proxy's nftables name hashing against names in
// kube-proxy's own nftables tests (ns1/svc1) and in its output for our
// golden cases, and the cut at 240 characters against hashes computed
// independently (Python's hashlib and base64).
func TestNFTNames(t *testing.T) {
	tests := []struct {
		reason string
		in     string
		want   string
	}{
		{"kube-proxy test service chain", "ns1/svc1/tcp/p80", "ULMVA6XW-ns1/svc1/tcp/p80"},
		{"kube-proxy test endpoint chain", "ns1/svc1/tcp/p80__10.180.0.1/80", "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"},
		{"unnamed port", "shop/api/tcp/", "JKK5DER2-shop/api/tcp/"},
		{"240 characters exactly: kept", strings.Repeat("b", 231), "OVSOFFHZ-" + strings.Repeat("b", 231)},
		{"241 characters: cut", strings.Repeat("c", 232), "5B7QJFDR-" + strings.Repeat("c", 228) + "..."},
		{"hash of the whole name, then cut", strings.Repeat("a", 250), "H47DLYFH-" + strings.Repeat("a", 228) + "..."},
	}
	for _, tc := range tests {
		got := NFTHashAndTruncate(tc.in)
		if got != tc.want {
			t.Errorf("%s: NFTHashAndTruncate(%q) = %q, want %q", tc.reason, tc.in, got, tc.want)
		}
		if len(got) > 240 {
			t.Errorf("%s: %d characters, more than 240", tc.reason, len(got))
		}
	}
}

func TestNFTChainAndEndpointNames(t *testing.T) {
	sp := &ServicePort{Namespace: "ns1", Name: "svc1", PortName: "p80", ProtoLower: "tcp"}
	want := NFTChainNames{
		Service:  "service-ULMVA6XW-ns1/svc1/tcp/p80",
		Local:    "local-ULMVA6XW-ns1/svc1/tcp/p80",
		External: "external-ULMVA6XW-ns1/svc1/tcp/p80",
		Firewall: "firewall-ULMVA6XW-ns1/svc1/tcp/p80",
	}
	if diff := cmp.Diff(want, NFTChains(sp)); diff != "" {
		t.Errorf("NFTChains (-want +got):\n%s", diff)
	}
	tests := []struct {
		reason string
		sp     *ServicePort
		ip     string
		port   int
		want   string
	}{
		{"IPv4 endpoint (kube-proxy test)", sp, "10.180.0.1", 80, "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"},
		{"IPv6 endpoint: colons become dots", &ServicePort{Namespace: "web", Name: "sticky", ProtoLower: "tcp"},
			"fd00:10:244:3::20", 9090, "5QT7IIFV-web/sticky/tcp/__fd00.10.244.3..20/9090"},
	}
	for _, tc := range tests {
		ep := &Endpoint{IP: netip.MustParseAddr(tc.ip), Port: tc.port}
		if got := NFTEndpointNameBase(tc.sp, ep); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.reason, got, tc.want)
		}
	}
}

func TestNFTServiceCIDRs(t *testing.T) {
	all := []string{"10.96.0.0/12", "fd00:10:96::/112", "10.100.0.0/16", "fd00:20::/108"}
	tests := []struct {
		reason  string
		family  Family
		cidrs   []string
		want    []string
		wantErr string
	}{
		{"IPv4 keeps the given order", IPv4, all, []string{"10.96.0.0/12", "10.100.0.0/16"}, ""},
		{"IPv6", IPv6, all, []string{"fd00:10:96::/112", "fd00:20::/108"}, ""},
		{"none", IPv4, nil, nil, ""},
		{"not a CIDR", IPv4, []string{"10.96.0.0"}, nil, `--service-cidrs: invalid CIDR "10.96.0.0"`},
	}
	for _, tc := range tests {
		opts := DefaultOptions()
		opts.Family, opts.ServiceCIDRs = tc.family, tc.cidrs
		got, err := NFTServiceCIDRs(&opts)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%s: error %v, want %q", tc.reason, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestSnapshotServiceCIDRs(t *testing.T) {
	snap := &Snapshot{ServiceCIDRs: []*ServiceCIDRObj{
		{Name: "kubernetes", CIDRs: []string{"10.96.0.0/12", "fd00:10:96::/112"}},
		{Name: "extra", CIDRs: []string{"10.100.0.0/16", "10.96.0.0/12"}},
	}}
	want := []string{"10.100.0.0/16", "10.96.0.0/12", "fd00:10:96::/112"}
	if diff := cmp.Diff(want, SnapshotServiceCIDRs(snap)); diff != "" {
		t.Errorf("objects in name order, each CIDR once (-want +got):\n%s", diff)
	}
}

// TestLowerNFTSharedKeys checks that elements with the same key are kept
// once: two service ports with the same local endpoint share one hairpin
// element, and the ports of one Service share one cluster-ips element.
func TestLowerNFTSharedKeys(t *testing.T) {
	ep := func() *Endpoint {
		ip := netip.MustParseAddr("10.244.1.5")
		return &Endpoint{IP: ip, Port: 8080, String: JoinHostPort(ip, 8080), Ready: true, Serving: true, IsLocal: true, NodeName: "node1"}
	}
	cip := netip.MustParseAddr("10.96.0.5")
	m := &Model{Family: IPv4}
	for _, name := range []string{"a", "b"} {
		m.ServicePorts = append(m.ServicePorts, &ServicePort{
			Namespace: "ns", Name: "svc", PortName: name, NameString: "ns/svc:" + name,
			Protocol: "TCP", ProtoLower: "tcp", ClusterIP: cip, Port: 80,
			Endpoints: []*Endpoint{ep()},
		})
	}
	m.ServicePorts[1].Port = 81
	opts := DefaultOptions()
	opts.Mode = ModeNFTables
	tab, err := LowerNFT(m, &opts)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(name string) []string {
		var out []string
		for _, e := range tab.Set(name).Elements {
			out = append(out, e.Key)
		}
		return out
	}
	if diff := cmp.Diff([]string{"10.244.1.5 . 10.244.1.5 . tcp . 8080"}, keys("hairpin-connections")); diff != "" {
		t.Errorf("hairpin-connections (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.96.0.5"}, keys("cluster-ips")); diff != "" {
		t.Errorf("cluster-ips (-want +got):\n%s", diff)
	}
	if got := len(tab.Set("service-ips").Elements); got != 2 {
		t.Errorf("service-ips has %d elements, want 2", got)
	}
	if tab.Set("nodeport-ips") == nil || tab.Chain("cluster-ips-check") == nil {
		t.Errorf("setup objects missing")
	}
}
