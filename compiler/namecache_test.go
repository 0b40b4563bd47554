package compiler

import (
	"net/netip"
	"testing"
)

// TestSEPNamesMatchEndpointChainName checks the cached, arena-allocated
// names against the plain function, across arena blocks and ports.
func TestSEPNamesMatchEndpointChainName(t *testing.T) {
	var s sepNames
	for _, tc := range []struct {
		sp  *ServicePort
		eps int // a scan up to sepScanMax, a map above
	}{
		{&ServicePort{NameString: "shop/web:http", ProtoLower: "tcp"}, 5000},
		{&ServicePort{NameString: "kube-system/kube-dns:dns", ProtoLower: "udp"}, 3},
		{&ServicePort{NameString: "a/b", ProtoLower: "sctp"}, sepScanMax},
		{&ServicePort{NameString: "a/c", ProtoLower: "tcp"}, 40},
	} {
		sp := tc.sp
		var eps []*Endpoint
		for i := 0; i < tc.eps; i++ {
			ip := netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)})
			eps = append(eps, &Endpoint{IP: ip, Port: 8080, String: JoinHostPort(ip, 8080)})
		}
		sp.Endpoints = eps
		s.reset(sp)
		for round := 0; round < 2; round++ {
			for _, ep := range eps {
				want := EndpointChainName(sp.NameString, sp.ProtoLower, ep.String)
				if got := s.name(ep); got != want {
					t.Fatalf("%s %s: got %q, want %q", sp.NameString, ep.String, got, want)
				}
			}
		}
	}
}

func TestArenaHostPort(t *testing.T) {
	var a stringArena
	var got, want []string
	for i := 0; i < 20000; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if i%3 == 0 {
			ip = netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i)})
		}
		got = append(got, a.hostPort(ip, i%65536))
		want = append(want, JoinHostPort(ip, i%65536))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%d: got %q, want %q", i, got[i], want[i])
		}
	}
}
