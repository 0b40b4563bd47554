package compiler

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The validators skip a full check (and building its field path) when a
// cheap test says it would find nothing. These tests hold each such test
// to that promise, and to saying yes for the common valid values.

// shortcutAddresses are addresses of every form the checks treat apart.
var shortcutAddresses = []string{
	"10.244.0.1", "192.168.0.2", "1.2.3.4", "010.1.2.3", "10.1.2.03", "1.2.3", "1.2.3.4.5", "256.1.1.1",
	"0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.5", "224.0.1.5", "255.255.255.255",
	"::", "::1", "fe80::1", "fe80::1%eth0", "ff02::1", "ff05::1", "2001:db8::1", "2001:DB8::1",
	"2001:db8:0::1", "2001:0db8::1", "::ffff:1.2.3.4", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "fd00::2",
	"1::%", "1.2.3.4%x", "", " 1.2.3.4", "1.2.3.4 ", "example.com", "a.b.c", "-1.2.3.4", "+1.2.3.4",
}

// randomAddress makes an address-like string: a valid address of either
// family, written in one of several forms, sometimes damaged.
func randomAddress(r *rand.Rand) string {
	var s string
	switch r.IntN(4) {
	case 0:
		s = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()
	case 1:
		s = fmt.Sprintf("%d.%03d.%d.%d", r.IntN(300), r.IntN(256), r.IntN(256), r.IntN(256))
	case 2:
		var b [16]byte
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		if r.IntN(4) == 0 {
			b[0], b[1] = 0xfe, 0x80
		}
		s = netip.AddrFrom16(b).String()
	default:
		s = netip.AddrFrom16(netip.AddrFrom4([4]byte{byte(r.IntN(256)), 0, 0, byte(r.IntN(256))}).As16()).String()
	}
	if r.IntN(8) == 0 {
		i := r.IntN(len(s) + 1)
		s = s[:i] + string("0:.%x "[r.IntN(6)]) + s[i:]
	}
	return s
}

func checkAddressShortcuts(t *testing.T, s string) {
	t.Helper()
	path := field.NewPath("x")
	for _, at := range []discovery.AddressType{discovery.AddressTypeIPv4, discovery.AddressTypeIPv6, discovery.AddressTypeFQDN} {
		if !plainAddress(s, at) {
			continue
		}
		if errs := sliceAddressErrors(path, s, at); len(errs) > 0 {
			t.Errorf("plainAddress(%q, %s) but sliceAddressErrors: %v", s, at, errs)
		}
		if ws := ipWarnings(path, s); len(ws) > 0 {
			t.Errorf("plainAddress(%q, %s) but ipWarnings: %v", s, at, ws)
		}
	}
	if endpointIPValid(s) && len(endpointIPErrors(path, s, false)) > 0 {
		t.Errorf("endpointIPValid(%q) but endpointIPErrors: %v", s, endpointIPErrors(path, s, false))
	}
	if standardIP(s) && len(ipWarnings(path, s)) > 0 {
		t.Errorf("standardIP(%q) but ipWarnings: %v", s, ipWarnings(path, s))
	}
}

func TestAddressShortcuts(t *testing.T) {
	for _, s := range shortcutAddresses {
		checkAddressShortcuts(t, s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		checkAddressShortcuts(t, randomAddress(r))
		if t.Failed() {
			return
		}
	}
	// The common forms take the shortcut.
	tests := []struct {
		in   string
		at   discovery.AddressType
		want bool
	}{
		{"10.244.0.1", discovery.AddressTypeIPv4, true},
		{"2001:db8::1", discovery.AddressTypeIPv6, true},
		{"2001:db8::1", discovery.AddressTypeIPv4, false},
		{"10.244.0.1", discovery.AddressTypeIPv6, false},
		{"2001:DB8::1", discovery.AddressTypeIPv6, false},
		{"::ffff:1.2.3.4", discovery.AddressTypeIPv4, false},
		{"010.1.2.3", discovery.AddressTypeIPv4, false},
		{"127.0.0.1", discovery.AddressTypeIPv4, false},
		{"a.example.com", discovery.AddressTypeFQDN, false},
	}
	for _, tt := range tests {
		if got := plainAddress(tt.in, tt.at); got != tt.want {
			t.Errorf("plainAddress(%q, %s) = %v, want %v", tt.in, tt.at, got, tt.want)
		}
	}
	for _, s := range []string{"10.244.0.1", "2001:db8::1", "2001:DB8::1", "::ffff:1.2.3.4"} {
		if !endpointIPValid(s) {
			t.Errorf("endpointIPValid(%q) = false, want true", s)
		}
	}
}

func FuzzAddressShortcuts(f *testing.F) {
	for _, s := range shortcutAddresses {
		f.Add(s)
	}
	f.Fuzz(checkAddressShortcuts)
}

func TestPortNumOrNameValid(t *testing.T) {
	tests := []intstr.IntOrString{
		intstr.FromInt32(0), intstr.FromInt32(1), intstr.FromInt32(8080), intstr.FromInt32(65535),
		intstr.FromInt32(65536), intstr.FromInt32(-1), intstr.FromString(""), intstr.FromString("http"),
		intstr.FromString("8080"), intstr.FromString("a--b"), intstr.FromString("HTTP"),
		intstr.FromString("abcdefghijklmnop"), {Type: 7, IntVal: 5},
	}
	var got, want []bool
	for _, p := range tests {
		got = append(got, portNumOrNameValid(p))
		want = append(want, len(portNumOrNameErrors(p, field.NewPath("x"))) == 0 && (p.Type == intstr.Int || p.Type == intstr.String))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portNumOrNameValid (-full check +shortcut):\n%s", diff)
	}
}

func TestLabelsValid(t *testing.T) {
	tests := []map[string]string{
		nil, {}, {"app": "svc-00001"}, {"kubernetes.io/service-name": "svc", "a": ""},
		{"a/b/c": "x"}, {"a": "-x"}, {"A_b.c": "X_y.z"}, {"": "x"}, {"a": "é"},
	}
	var got, want []bool
	for _, m := range tests {
		got = append(got, labelsValid(m))
		want = append(want, len(labelErrors(m, field.NewPath("x"))) == 0)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("labelsValid (-labelErrors finds nothing +labelsValid):\n%s", diff)
	}
}
