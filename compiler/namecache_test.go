package compiler

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
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
		if diff := cmp.Diff(IPTablesChains(sp), s.chains()); diff != "" {
			t.Errorf("%s: chain names (-IPTablesChains +cached):\n%s", sp.NameString, diff)
		}
		for round := 0; round < 2; round++ {
			if round == 1 && s.chains() != IPTablesChains(sp) {
				t.Errorf("%s: chain names differ after the endpoints' names", sp.NameString)
			}
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

// TestArenaNames: names cut from the arena equal plain concatenation,
// across block boundaries and for strings too big for a block.
func TestArenaNames(t *testing.T) {
	var a stringArena
	long := strings.Repeat("n", arenaBlock/8)
	for i := range 5000 {
		ns, name, port := "ns"+strconv.Itoa(i), "svc-"+strconv.Itoa(i%37), []string{"", "http", "p" + strconv.Itoa(i)}[i%3]
		if i%1000 == 999 {
			name = long
		}
		want := ns + "/" + name
		if port != "" {
			want += ":" + port
		}
		if got := a.servicePortName(ns, name, port); got != want {
			t.Fatalf("servicePortName(%q, %q, %q) = %q, want %q", ns, name, port, got, want)
		}
		if got, want := a.join(ns, "/", name), ns+"/"+name; got != want {
			t.Fatalf("join = %q, want %q", got, want)
		}
	}
	if got := a.join(); got != "" {
		t.Errorf("join() = %q", got)
	}
}

func TestProtoLower(t *testing.T) {
	for in, want := range map[v1.Protocol]string{"TCP": "tcp", "UDP": "udp", "SCTP": "sctp", "Weird": "weird", "": ""} {
		if got := protoLower(in); got != want {
			t.Errorf("protoLower(%q) = %q, want %q", in, got, want)
		}
	}
}
