package compiler

import "testing"

// Names taken from kube-proxy's own tests and from its output.
func TestChainNames(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"service chain from TestOverallIPTablesRules", ChainPrefixSVC + PortProtoHash("ns1/svc1:p80", "tcp"), "KUBE-SVC-XPGD46QRK7WJZT7O"},
		{"endpoint chain from TestOverallIPTablesRules", EndpointChainName("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ"},
		{"named port", PortProtoHash("shop/web:http", "tcp"), "67NZLRHBNDSAWJRO"},
		{"shared hash of the firewall chain", IPTablesChains(&ServicePort{NameString: "ns1/svc1:p80", ProtoLower: "tcp"}).FW, "KUBE-FW-XPGD46QRK7WJZT7O"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, tc.got, tc.want)
		}
		if len(tc.got) > 28 {
			t.Errorf("%s: %s is longer than iptables' 28 characters", tc.name, tc.got)
		}
	}
}

func TestMasqueradeMark(t *testing.T) {
	for bit, want := range map[int]string{0: "0x00000001", 14: "0x00004000", 31: "0x80000000"} {
		if got := MasqueradeMark(bit); got != want {
			t.Errorf("MasqueradeMark(%d) = %s, want %s", bit, got, want)
		}
	}
}

func TestProbability(t *testing.T) {
	for n, want := range map[int]string{2: "0.5000000000", 3: "0.3333333333", 7: "0.1428571429", 1000: "0.0010000000"} {
		if got := probability(n); got != want {
			t.Errorf("probability(%d) = %s, want %s", n, got, want)
		}
	}
}
