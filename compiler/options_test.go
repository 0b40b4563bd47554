package compiler

import (
	"net/netip"
	"testing"
)

func TestPrimaryNodeIP(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::5")
	tests := []struct {
		reason string
		ips    []netip.Addr
		family Family
		want   string
	}{
		{"the first node IP of the family", []netip.Addr{v6, v4}, IPv4, "10.0.0.5"},
		{"IPv6 from a mixed list", []netip.Addr{v4, v6}, IPv6, "2001:db8::5"},
		{"no IPv6 address on a node with addresses: loopback, as kube-proxy", []netip.Addr{v4}, IPv6, "::1"},
		{"no IPv4 address on a node with addresses: loopback, as kube-proxy", []netip.Addr{v6}, IPv4, "127.0.0.1"},
		{"no node IP known: the example node", nil, IPv4, "192.168.0.2"},
		{"no node IP known, IPv6: the example node", nil, IPv6, "fd00::2"},
	}
	for _, tc := range tests {
		o := Options{NodeIPs: tc.ips, Family: tc.family}
		if got := o.PrimaryNodeIP().String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.reason, got, tc.want)
		}
	}
}
