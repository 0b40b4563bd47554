package compiler

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

func TestIPVSSetName(t *testing.T) {
	tests := []struct {
		base string
		fam  Family
		want string
	}{
		{"KUBE-CLUSTER-IP", IPv4, "KUBE-CLUSTER-IP"},
		{"KUBE-CLUSTER-IP", IPv6, "KUBE-6-CLUSTER-IP"},
		// 32 characters with the IPv6 prefix: cut to ipset's 31.
		{"KUBE-LOAD-BALANCER-SOURCE-CIDR", IPv6, "KUBE-6-LOAD-BALANCER-SOURCE-CID"},
		{"KUBE-NODE-PORT-LOCAL-SCTP-HASH", IPv6, "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"},
		{"KUBE-NODE-PORT-LOCAL-SCTP-HASH", IPv4, "KUBE-NODE-PORT-LOCAL-SCTP-HASH"},
	}
	for _, tc := range tests {
		if got := IPVSSetName(tc.base, tc.fam); got != tc.want {
			t.Errorf("IPVSSetName(%s, %s) = %s, want %s", tc.base, tc.fam, got, tc.want)
		}
	}
	for _, d := range ipvsSetDefs {
		if n := IPVSSetName(d.name, IPv6); len(n) > 31 {
			t.Errorf("set name %s is longer than ipset allows", n)
		}
	}
}

func TestCheckIPVS(t *testing.T) {
	for _, s := range append([]string{""}, IPVSSchedulers...) {
		o := DefaultOptions()
		o.IPVSScheduler = s
		if err := CheckIPVS(&o); err != nil {
			t.Errorf("scheduler %q: %v", s, err)
		}
	}
	o := DefaultOptions()
	o.IPVSScheduler = "RR"
	if err := CheckIPVS(&o); err == nil || !strings.Contains(err.Error(), `--ipvs-scheduler: unsupported value "RR"`) {
		t.Errorf("scheduler RR: got %v, want an unsupported-value error", err)
	}
}

// ipvsTestPort builds a service port with endpoints "ip@node" (a leading
// "~" makes the endpoint serving and terminating, not ready).
func ipvsTestPort(name, cip string, port int, eps ...string) *ServicePort {
	sp := &ServicePort{
		Namespace: "ns", Name: name, NameString: "ns/" + name, Protocol: "TCP", ProtoLower: "tcp",
		ClusterIP: netip.MustParseAddr(cip), Port: port,
	}
	for _, e := range eps {
		term := strings.HasPrefix(e, "~")
		ip, node, _ := strings.Cut(strings.TrimPrefix(e, "~"), "@")
		a := netip.MustParseAddr(ip)
		sp.Endpoints = append(sp.Endpoints, &Endpoint{
			IP: a, Port: 8080, String: JoinHostPort(a, 8080), Ready: !term, Serving: true, Terminating: term,
			NodeName: node, IsLocal: node == "node1",
		})
	}
	return sp
}

// realServers lists each virtual server as "addr:port -> rs rs ...".
func realServers(p *ir.IPVS) []string {
	var out []string
	for _, vs := range p.VirtualServers {
		s := fmt.Sprintf("%s:%d", vs.Address, vs.Port)
		if vs.Persistent {
			s += fmt.Sprintf(" p%d", vs.Timeout)
		}
		s += " ->"
		for _, rs := range vs.RealServers {
			s += " " + rs.Address.String()
		}
		out = append(out, s)
	}
	return out
}

// TestLowerIPVSEndpointChoice covers the choices of real servers that
// differ from the other modes: the fallback from Local to Cluster
// endpoints, and the empty ClusterIP virtual server of an ITP Local
// service without a local endpoint.
func TestLowerIPVSEndpointChoice(t *testing.T) {
	itpOnly := ipvsTestPort("itp-only", "10.96.0.1", 80, "10.244.2.1@node2")
	itpOnly.InternalPolicyLocal = true

	itpNodePort := ipvsTestPort("itp-np", "10.96.0.2", 80, "10.244.2.2@node2", "10.244.3.2@node3")
	itpNodePort.InternalPolicyLocal, itpNodePort.NodePort, itpNodePort.externallyAccessible = true, 30002, true

	etpLocal := ipvsTestPort("etp", "10.96.0.3", 80, "10.244.1.3@node1", "10.244.2.3@node2")
	etpLocal.ExternalPolicyLocal, etpLocal.NodePort, etpLocal.externallyAccessible = true, 30003, true

	etpRemote := ipvsTestPort("etp-remote", "10.96.0.4", 80, "10.244.2.4@node2")
	etpRemote.ExternalPolicyLocal, etpRemote.NodePort, etpRemote.externallyAccessible = true, 30004, true

	draining := ipvsTestPort("draining", "10.96.0.5", 80, "~10.244.1.5@node1", "~10.244.2.5@node2")
	draining.SessionAffinity, draining.StickyMaxAgeSeconds = true, 60

	m := &Model{Family: IPv4, ServicePorts: []*ServicePort{draining, etpLocal, etpRemote, itpNodePort, itpOnly}}
	opts := DefaultOptions()
	opts.Mode = ModeIPVS
	p, err := LowerIPVS(m, &opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"10.96.0.1:80 ->",                            // ITP Local, no local endpoint, no Cluster set
		"10.96.0.2:80 -> 10.244.2.2 10.244.3.2",      // ITP Local falls back to the Cluster set
		"10.96.0.3:80 -> 10.244.1.3 10.244.2.3",      // ETP does not apply to the ClusterIP
		"10.96.0.4:80 -> 10.244.2.4",                 //
		"10.96.0.5:80 p60 -> 10.244.1.5 10.244.2.5",  // serving terminating endpoints when none is ready
		"192.168.0.2:30002 -> 10.244.2.2 10.244.3.2", // ITP does not apply to the node port
		"192.168.0.2:30003 -> 10.244.1.3",            // ETP Local: the local endpoint
		"192.168.0.2:30004 -> 10.244.2.4",            // ETP Local falls back to the Cluster set
	}
	if diff := cmp.Diff(want, realServers(p)); diff != "" {
		t.Errorf("virtual servers (-want +got):\n%s", diff)
	}
	for _, s := range p.Sets {
		if s.Name == "KUBE-LOOP-BACK" {
			// Every local endpoint, whatever its condition.
			if diff := cmp.Diff([]string{"10.244.1.3,tcp:8080,10.244.1.3", "10.244.1.5,tcp:8080,10.244.1.5"}, s.Entries); diff != "" {
				t.Errorf("KUBE-LOOP-BACK (-want +got):\n%s", diff)
			}
		}
	}
}

// TestLowerIPVSSharedVirtualServer: when two service ports claim one
// virtual server, the one visited last (in name order) sets it, real
// servers and persistence included; the address is bound once.
func TestLowerIPVSSharedVirtualServer(t *testing.T) {
	a := ipvsTestPort("a", "10.96.0.1", 80, "10.244.1.1@node1")
	b := ipvsTestPort("b", "10.96.0.2", 80, "10.244.2.2@node2")
	b.SessionAffinity, b.StickyMaxAgeSeconds = true, 30
	ext := netip.MustParseAddr("198.51.100.1")
	for _, sp := range []*ServicePort{a, b} {
		sp.ExternalIPs, sp.externallyAccessible = []netip.Addr{ext}, true
	}
	m := &Model{Family: IPv4, ServicePorts: []*ServicePort{a, b}}
	opts := DefaultOptions()
	opts.Mode = ModeIPVS
	p, err := LowerIPVS(m, &opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.96.0.1:80 -> 10.244.1.1", "10.96.0.2:80 p30 -> 10.244.2.2", "198.51.100.1:80 p30 -> 10.244.2.2"}
	if diff := cmp.Diff(want, realServers(p)); diff != "" {
		t.Errorf("virtual servers (-want +got):\n%s", diff)
	}
	if got := p.VirtualServers[2].Origin; p.Origins[got-1].ServicePort != "ns/b" {
		t.Errorf("the shared virtual server's origin is %v, want ns/b", p.Origins[got-1])
	}
	if len(p.Addresses) != 3 {
		t.Errorf("addresses %v, want the two ClusterIPs and the external IP once", p.Addresses)
	}
}

// TestLowerIPVSNodePortAddresses checks which addresses get NodePort
// virtual servers.
func TestLowerIPVSNodePortAddresses(t *testing.T) {
	tests := []struct {
		name    string
		family  Family
		nodeIPs string
		npa     []string
		want    []string
	}{
		{"all addresses of the family but loopback", IPv4, "192.168.0.2,10.0.0.7,127.0.0.5,fd00::2", nil, []string{"10.0.0.7", "192.168.0.2"}},
		{"IPv6 link-local left out by default", IPv6, "fd00::2,fe80::1,::1", nil, []string{"fd00::2"}},
		{"CIDRs select, loopback never", IPv4, "192.168.0.2,192.168.0.9,10.0.0.7", []string{"192.168.0.0/24", "127.0.0.0/8"}, []string{"192.168.0.2", "192.168.0.9"}},
		{"CIDRs may select IPv6 link-local", IPv6, "fd00::2,fe80::1", []string{"fe80::/10"}, []string{"fe80::1"}},
		{"primary", IPv4, "192.168.0.2,192.168.0.9", []string{"primary"}, []string{"192.168.0.2"}},
		{"nothing matches", IPv4, "192.168.0.2", []string{"10.99.0.0/16"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Mode, opts.Family, opts.NodePortAddresses = ModeIPVS, tc.family, tc.npa
			for _, s := range strings.Split(tc.nodeIPs, ",") {
				opts.NodeIPs = append(opts.NodeIPs, netip.MustParseAddr(s))
			}
			cip := "10.96.0.1"
			if tc.family == IPv6 {
				cip = "fd00:10:96::1"
			}
			sp := ipvsTestPort("np", cip, 80)
			sp.NodePort, sp.HealthCheckNodePort, sp.externallyAccessible = 30080, 32000, true
			p, err := LowerIPVS(&Model{Family: tc.family, ServicePorts: []*ServicePort{sp}}, &opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, vs := range p.VirtualServers {
				if vs.Port == 30080 {
					got = append(got, vs.Address.String())
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NodePort virtual servers (-want +got):\n%s", diff)
			}
			// With no node port address kube-proxy skips the rest of the
			// service port: no node port nor health check entries.
			for _, s := range p.Sets {
				if strings.HasSuffix(s.Name, "HEALTH-CHECK-NODE-PORT") && (len(s.Entries) > 0) != (len(tc.want) > 0) {
					t.Errorf("%s entries %v with NodePort addresses %v", s.Name, s.Entries, tc.want)
				}
			}
		})
	}
}

// TestIPVSEntryAndPool: set entries cut from the arena read like plain
// formatting, and real server lists cut from the pool never share room.
func TestIPVSEntryAndPool(t *testing.T) {
	c := &ipvsCtx{}
	for _, tc := range []struct {
		ip    string
		proto string
		port  int
		want  string
	}{
		{"10.96.0.1", "tcp", 80, "10.96.0.1,tcp:80"},
		{"fd00:10:96::1", "udp", 65535, "fd00:10:96::1,udp:65535"},
		{"::ffff:1.2.3.4", "sctp", 1, "::ffff:1.2.3.4,sctp:1"},
	} {
		if got := c.ipPortEntry(netip.MustParseAddr(tc.ip), tc.proto, tc.port); got != tc.want {
			t.Errorf("ipPortEntry(%s, %s, %d) = %q, want %q", tc.ip, tc.proto, tc.port, got, tc.want)
		}
	}
	a := c.realServers(3)
	b := c.realServers(2)
	a = append(a, ir.RealServer{Port: 9})
	b[0].Port = 7
	if len(a) != 4 || a[3].Port != 9 || a[0].Port != 0 || b[0].Port != 7 || b[1].Port != 0 {
		t.Errorf("pool slices overlap: a=%v b=%v", a, b)
	}
	big := c.realServers(100000)
	if len(big) != 100000 || cap(big) != 100000 {
		t.Errorf("a list bigger than a pool block: len %d cap %d", len(big), cap(big))
	}
}
