package kubeproxy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/proxy/conntrack"
	"k8s.io/kubernetes/pkg/proxy/healthcheck"
	"k8s.io/kubernetes/pkg/proxy/ipvs"
	utilipset "k8s.io/kubernetes/pkg/proxy/ipvs/ipset"
	ipsettest "k8s.io/kubernetes/pkg/proxy/ipvs/ipset/testing"
	ipvstest "k8s.io/kubernetes/pkg/proxy/ipvs/testing"
	utilipvs "k8s.io/kubernetes/pkg/proxy/ipvs/util"
	ipvsutiltest "k8s.io/kubernetes/pkg/proxy/ipvs/util/testing"
	netutils "k8s.io/utils/net"
)

// IPVS returns kube-proxy's state after its first full sync in ipvs mode,
// in four sections (the form kubeproxyc's "render --proxy-mode ipvs"
// prints):
//
//	# ipvsadm-save -n            virtual servers and their real servers
//	# ipset save                 "create" and "add" commands for the ipsets
//	# addresses on kube-ipvs0    the addresses bound to the dummy device
//	# iptables-restore payload   the payload passed to iptables-restore
//
// The first three are the fakes' state, sorted; in the payload the
// KUBE-IPVS-OUT-FILTER rules (collected in map order) are put in service
// port name order.
func IPVS(c *Config, objs *Objects) ([]byte, error) {
	done, err := begin(c)
	if err != nil {
		return nil, err
	}
	defer done()
	ipt := newRecordingIPTables(c)
	fipvs := ipvsutiltest.NewFake()
	fipset := ipsettest.NewFake("v7.0")
	p, err := ipvs.NewProxier(context.Background(), c.Family, ipt, fipvs, fipset, c.sysctl(), syncPeriod, minSyncPeriod,
		c.IPVSExcludeCIDRs, c.IPVSStrictARP, 0, 0, 0, c.MasqueradeAll, c.MasqueradeBit, c.localDetector(),
		c.Hostname, c.nodeIP(), &events.FakeRecorder{}, nil, c.IPVSScheduler, c.NodePortAddresses, false)
	if err != nil {
		return nil, fmt.Errorf("ipvs.NewProxier: %w", err)
	}
	v6 := c.Family == "IPv6"
	nl := ipvstest.NewFakeNetlinkHandle(v6)
	lo := "127.0.0.1"
	if v6 {
		lo = "::1"
	}
	if err := nl.SetLocalAddresses("lo", lo); err != nil {
		return nil, err
	}
	if err := nl.SetLocalAddresses("eth0", c.addresses()...); err != nil {
		return nil, err
	}
	setField(p, "netlinkHandle", ipvs.NetLinkHandle(nl))
	setField(p, "conntrack", conntrack.NewFake())
	setField(p, "serviceHealthServer", healthcheck.NewFakeServiceHealthServer())
	setField(p, "networkInterfacer", fakeNetwork(c.addresses()))

	feed(p, c, objs, false)
	// NewProxier started the graceful-termination manager, a goroutine
	// that runs forever and touches the ipvs interface only for real
	// servers being deleted (there are none in a first sync). Let it not
	// keep the fake, and all it holds, alive.
	clearField(fieldOf(p, "gracefuldeleteManager").Interface(), "ipvs")
	if ipt.last == nil {
		return nil, fmt.Errorf("ipvs proxier: the sync did not call iptables-restore")
	}
	var b bytes.Buffer
	b.WriteString("# ipvsadm-save -n\n")
	writeVirtualServers(&b, fipvs)
	b.WriteString("# ipset save\n")
	writeIPSets(&b, fipset)
	b.WriteString("# addresses on kube-ipvs0\n")
	addrs, err := nl.ListBindAddress("kube-ipvs0")
	if err != nil {
		return nil, err
	}
	addrs = append([]string(nil), addrs...)
	sort.Slice(addrs, func(i, j int) bool { return ipLess(addrs[i], addrs[j]) })
	bits := "/32\n"
	if v6 {
		bits = "/128\n"
	}
	for _, a := range addrs {
		b.WriteString(a + bits)
	}
	b.WriteString("# iptables-restore payload\n")
	b.Write(sortOutFilter(ipt.last, frontendNames(objs)))
	return b.Bytes(), nil
}

// ipLess orders IP addresses by their 16-byte form (IPv4 before IPv6).
func ipLess(a, b string) bool {
	x, y := netutils.ParseIPSloppy(a), netutils.ParseIPSloppy(b)
	if x == nil || y == nil {
		return a < b
	}
	return bytes.Compare(x.To16(), y.To16()) < 0
}

// ipvsadmProto is ipvsadm's option for a virtual service's protocol.
func ipvsadmProto(p string) string {
	switch strings.ToUpper(p) {
	case "UDP":
		return "-u"
	case "SCTP":
		return "--sctp-service"
	}
	return "-t"
}

func hostPort(ip string, port uint16) string {
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}

// writeVirtualServers prints the fake's virtual servers like
// "ipvsadm-save -n": "-A" per virtual server (by address, port, protocol),
// "-a" per real server (by address, port).
func writeVirtualServers(b *bytes.Buffer, f *ipvsutiltest.FakeIPVS) {
	keys := make([]ipvsutiltest.ServiceKey, 0, len(f.Services))
	for k := range f.Services {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		switch {
		case a.IP != c.IP:
			return ipLess(a.IP, c.IP)
		case a.Port != c.Port:
			return a.Port < c.Port
		}
		return a.Protocol < c.Protocol
	})
	for _, k := range keys {
		vs := f.Services[k]
		svc := ipvsadmProto(vs.Protocol) + " " + hostPort(vs.Address.String(), vs.Port)
		b.WriteString("-A " + svc + " -s " + vs.Scheduler)
		if vs.Flags&utilipvs.FlagPersistent != 0 {
			b.WriteString(" -p " + strconv.Itoa(int(vs.Timeout)))
		}
		if vs.Flags&utilipvs.FlagSourceHash != 0 {
			b.WriteString(" -b mh-port")
		}
		b.WriteByte('\n')
		rss := append([]*utilipvs.RealServer(nil), f.Destinations[k]...)
		sort.Slice(rss, func(i, j int) bool {
			if !rss[i].Address.Equal(rss[j].Address) {
				return ipLess(rss[i].Address.String(), rss[j].Address.String())
			}
			return rss[i].Port < rss[j].Port
		})
		for _, rs := range rss {
			fmt.Fprintf(b, "-a %s -r %s -m -w %d\n", svc, hostPort(rs.Address.String(), rs.Port), rs.Weight)
		}
	}
}

// writeIPSets prints the fake's ipsets as the commands the real ipset
// runner would execute, its defaults filled in: "create" per set, then
// "add" per entry; sets by name, entries sorted.
func writeIPSets(b *bytes.Buffer, f *ipsettest.FakeIPSet) {
	names := make([]string, 0, len(f.Sets))
	for n := range f.Sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := *f.Sets[n]
		if s.SetType == "" {
			s.SetType = utilipset.HashIPPort
		}
		b.WriteString("create " + n + " " + string(s.SetType))
		switch s.SetType {
		case utilipset.HashIPPortIP, utilipset.HashIPPort, utilipset.HashIPPortNet, utilipset.HashIP:
			fam, size, max := s.HashFamily, s.HashSize, s.MaxElem
			if fam == "" {
				fam = utilipset.ProtocolFamilyIPV4
			}
			if size == 0 {
				size = 1024
			}
			if max == 0 {
				max = 65536
			}
			fmt.Fprintf(b, " family %s hashsize %d maxelem %d", fam, size, max)
		case utilipset.BitmapPort:
			r := s.PortRange
			if r == "" {
				r = utilipset.DefaultPortRange
			}
			b.WriteString(" range " + r)
		}
		b.WriteByte('\n')
	}
	for _, n := range names {
		for _, e := range f.Entries[n].List() {
			b.WriteString("add " + n + " " + e + "\n")
		}
	}
}

// frontendNames maps "ip/protocol/port" of every load-balancer IP to its
// service port name.
func frontendNames(objs *Objects) map[string]string {
	m := map[string]string{}
	for _, s := range objs.Services {
		for _, p := range s.Spec.Ports {
			name := s.Namespace + "/" + s.Name
			if p.Name != "" {
				name += ":" + p.Name
			}
			for _, ing := range s.Status.LoadBalancer.Ingress {
				if ip := netutils.ParseIPSloppy(ing.IP); ip != nil {
					m[ip.String()+"/"+strings.ToLower(string(p.Protocol))+"/"+strconv.Itoa(int(p.Port))] = name
				}
			}
		}
	}
	return m
}

// sortOutFilter puts the KUBE-IPVS-OUT-FILTER DROP rules, which the proxier
// collects while ranging over its service map, in the order of their
// service port names (the order of a sync that visits service ports in
// name order).
func sortOutFilter(payload []byte, names map[string]string) []byte {
	lines := strings.SplitAfter(string(payload), "\n")
	isOF := func(l string) bool {
		return strings.HasPrefix(l, "-A KUBE-IPVS-OUT-FILTER -s ") && strings.Contains(l, " -m ipvs --vaddr ")
	}
	key := func(l string) string {
		f := strings.Fields(l)
		var ip, proto, port string
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "--vaddr":
				ip = f[i+1]
			case "--vproto":
				proto = f[i+1]
			case "--vport":
				port = f[i+1]
			}
		}
		if n, ok := names[ip+"/"+proto+"/"+port]; ok {
			return n
		}
		return "\xff" + l
	}
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && isOF(lines[j]) {
			j++
		}
		if j == i {
			i++
			continue
		}
		run := lines[i:j]
		sort.SliceStable(run, func(a, b int) bool { return key(run[a]) < key(run[b]) })
		i = j
	}
	return []byte(strings.Join(lines, ""))
}
