package ir

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestParseIPVSAdm(t *testing.T) {
	// What ipvsadm-save -n prints on a node, in kernel order, with the
	// options kube-proxy never sets but ipvsadm may print.
	in := `# comment
-A -u [fd00::1]:53 -s sh -b flag-2
-a -u [fd00::1]:53 -r [fd00::20]:53 -m -w 1
-a -u [fd00::1]:53 -r [fd00::3]:53 -m -w 0 -x 0 -y 0

-A -t 10.0.0.1:80 -s rr -p -M 255.255.255.255
-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m
-A --sctp-service 10.0.0.1:80 -s rr -p 60
`
	got, err := ParseIPVSAdm(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []VirtualServer{
		{Address: netip.MustParseAddr("10.0.0.1"), Port: 80, Protocol: ProtoSCTP, Scheduler: "rr", Persistent: true, Timeout: 60},
		{Address: netip.MustParseAddr("10.0.0.1"), Port: 80, Protocol: ProtoTCP, Scheduler: "rr", Persistent: true, Timeout: 300,
			RealServers: []RealServer{{Address: netip.MustParseAddr("10.1.0.2"), Port: 8080, Weight: 1}}},
		{Address: netip.MustParseAddr("fd00::1"), Port: 53, Protocol: ProtoUDP, Scheduler: "sh", MHPort: true,
			RealServers: []RealServer{
				{Address: netip.MustParseAddr("fd00::3"), Port: 53, Weight: 0},
				{Address: netip.MustParseAddr("fd00::20"), Port: 53, Weight: 1},
			}},
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("ParseIPVSAdm (-want +got):\n%s", diff)
	}
}

func TestParseIPVSAdmErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"real server first", "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1", "line 1: \"-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\": real server of a virtual server not declared before"},
		{"service twice", "-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s wrr", "line 2: \"-A -t 10.0.0.1:80 -s wrr\": virtual server declared twice"},
		{"real server twice", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2", "line 3: \"-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2\": real server declared twice"},
		{"fwmark service", "-A -f 5 -s rr", "unsupported service type -f"},
		{"no port", "-A -t 10.0.0.1 -s rr", "10.0.0.1: not ADDRESS:PORT"},
		{"bare IPv6", "-A -t fd00::1:80 -s rr", "fd00::1:80: not ADDRESS:PORT"},
		{"no scheduler", "-A -t 10.0.0.1:80", "no scheduler (-s)"},
		{"bad timeout", "-A -t 10.0.0.1:80 -s rr -p ten", "-p ten: not a timeout"},
		{"direct routing", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1", "forwarding method -g"},
		{"no forwarding method", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80", "no forwarding method"},
		{"mixed families", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r [fd00::1]:80 -m", "not of the virtual server's IP family"},
		{"bad weight", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 70000", "-w needs a weight"},
		{"unknown option", "-A -t 10.0.0.1:80 -s rr -o", "unsupported virtual server option -o"},
		{"other command", "-D -t 10.0.0.1:80", "expected -A or -a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIPVSAdm(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("ParseIPVSAdm(%q) succeeded; want an error containing %q", tc.in, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseIPVSAdm(%q) = %v; want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}
