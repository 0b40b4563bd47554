package render

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

func vs(addr string, port uint16, proto, sched string, rs ...ir.RealServer) ir.VirtualServer {
	return ir.VirtualServer{Address: netip.MustParseAddr(addr), Port: port, Protocol: proto, Scheduler: sched, RealServers: rs}
}

func rs(addr string, port uint16) ir.RealServer {
	return ir.RealServer{Address: netip.MustParseAddr(addr), Port: port, Weight: 1}
}

// TestIPVSAdmRoundTrip renders virtual servers in ipvsadm rule syntax and
// reads them back with our own parser: every field must survive, and the
// text must be exactly the expected lines.
func TestIPVSAdmRoundTrip(t *testing.T) {
	persistent := vs("10.96.0.20", 8080, ir.ProtoTCP, "wrr", rs("10.244.1.20", 8080))
	persistent.Persistent, persistent.Timeout = true, 10800
	mh := vs("fd00:10:96::1", 53, ir.ProtoUDP, "mh", rs("fd00:10:244:1::5", 5353), rs("fd00:10:244:1::10", 5353))
	mh.MHPort = true
	both := vs("192.168.0.2", 30080, ir.ProtoTCP, "mh", rs("10.244.1.2", 8080))
	both.MHPort, both.Persistent, both.Timeout = true, true, 1

	tests := []struct {
		name string
		vss  []ir.VirtualServer
		want string
	}{
		{
			name: "tcp, udp and sctp; a service without real servers",
			vss: []ir.VirtualServer{
				vs("10.96.0.10", 80, ir.ProtoTCP, "rr", rs("10.244.1.2", 8080), rs("10.244.2.10", 8080)),
				vs("10.96.0.40", 7000, ir.ProtoSCTP, "rr"),
				vs("10.96.0.53", 53, ir.ProtoUDP, "lc", rs("10.244.1.53", 53)),
			},
			want: `-A -t 10.96.0.10:80 -s rr
-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
-a -t 10.96.0.10:80 -r 10.244.2.10:8080 -m -w 1
-A --sctp-service 10.96.0.40:7000 -s rr
-A -u 10.96.0.53:53 -s lc
-a -u 10.96.0.53:53 -r 10.244.1.53:53 -m -w 1
`,
		},
		{
			name: "persistence and the mh-port flag, IPv6 in brackets",
			vss:  []ir.VirtualServer{persistent, both, mh},
			want: `-A -t 10.96.0.20:8080 -s wrr -p 10800
-a -t 10.96.0.20:8080 -r 10.244.1.20:8080 -m -w 1
-A -t 192.168.0.2:30080 -s mh -p 1 -b mh-port
-a -t 192.168.0.2:30080 -r 10.244.1.2:8080 -m -w 1
-A -u [fd00:10:96::1]:53 -s mh -b mh-port
-a -u [fd00:10:96::1]:53 -r [fd00:10:244:1::5]:5353 -m -w 1
-a -u [fd00:10:96::1]:53 -r [fd00:10:244:1::10]:5353 -m -w 1
`,
		},
		{name: "nothing", vss: nil, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := IPVSAdmRestore(&buf, &ir.IPVS{VirtualServers: tc.vss}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("ipvsadm rules (-want +got):\n%s", diff)
			}
			got, err := ir.ParseIPVSAdm(&buf)
			if err != nil {
				t.Fatalf("parsing our own rules: %v", err)
			}
			if len(tc.vss) == 0 && len(got) == 0 {
				return
			}
			if diff := cmp.Diff(tc.vss, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("parsed back (-rendered +parsed):\n%s", diff)
			}
		})
	}
}

func TestIPSetRestoreAndAddresses(t *testing.T) {
	p := &ir.IPVS{
		Sets: []ir.IPSet{
			{Name: "KUBE-6-CLUSTER-IP", Type: ir.SetHashIPPort, Family: "inet6", HashSize: 1024, MaxElem: 65536,
				Entries: []string{"fd00:10:96::1,tcp:80", "fd00:10:96::1,udp:53"}},
			{Name: "KUBE-6-NODE-PORT-TCP", Type: ir.SetBitmapPort, PortRange: "0-65535", Entries: []string{"30080"}},
		},
		Addresses: []netip.Addr{netip.MustParseAddr("10.96.0.1"), netip.MustParseAddr("fd00::1")},
	}
	var buf bytes.Buffer
	if err := IPSetRestore(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := `create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536
create KUBE-6-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-6-CLUSTER-IP fd00:10:96::1,tcp:80
add KUBE-6-CLUSTER-IP fd00:10:96::1,udp:53
add KUBE-6-NODE-PORT-TCP 30080
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("ipset restore input (-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := IPVSAddresses(&buf, p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("10.96.0.1/32\nfd00::1/128\n", buf.String()); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestIPVSStateSections(t *testing.T) {
	p := &ir.IPVS{IPTables: &ir.IPTables{Tables: []*ir.Table{ir.NewTable("nat")}}}
	var buf bytes.Buffer
	if err := IPVSState(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := "# ipvsadm-save -n\n# ipset save\n# addresses on kube-ipvs0\n# iptables-restore payload\n*nat\nCOMMIT\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("combined form (-want +got):\n%s", diff)
	}
	if ok, _ := IPVSArtifact(&buf, p, "nftables"); ok {
		t.Errorf("IPVSArtifact accepted an unknown artifact name")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "''",
		"kube-ipvs0":        "'kube-ipvs0'",
		"it's":              `'it'\''s'`,
		"$(rm -rf /)`x`\n;": "'$(rm -rf /)`x`\n;'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestIPVSApplyScriptQuoting checks that what the script embeds is quoted:
// the exclude CIDRs, the jump comments and the sysctl names.
func TestIPVSApplyScriptQuoting(t *testing.T) {
	p := &ir.IPVS{
		Device:       "kube-ipvs0",
		ExcludeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Jumps:        []ir.JumpRule{{Table: "nat", Chain: "OUTPUT", Target: "KUBE-SERVICES", Comment: "kubernetes service portals"}},
		Sysctls:      []ir.Sysctl{{Name: "net/ipv4/vs/conn_reuse_mode", Value: 0, MinKernel: "4.1", BelowKernel: "5.9"}},
	}
	var buf bytes.Buffer
	if err := IPVSApplyScript(&buf, p); err != nil {
		t.Fatal(err)
	}
	script := buf.String()
	for _, want := range []string{
		"exclude='10.0.0.0/8'\n",
		"\tjump 'nat' 'OUTPUT' 'KUBE-SERVICES' 'kubernetes service portals'\n",
		"\tif kernel_at_least '4' '1' && ! kernel_at_least '5' '9'; then setsysctl 'net/ipv4/vs/conn_reuse_mode' 0; fi\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("apply.sh lacks %q", want)
		}
	}
}
