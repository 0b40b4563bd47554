package kubeproxy

import (
	"net"

	"k8s.io/kubernetes/pkg/proxy/util/nfacct"
	proxyutiltest "k8s.io/kubernetes/pkg/proxy/util/testing"
	utiliptables "k8s.io/kubernetes/pkg/util/iptables"
	iptablestest "k8s.io/kubernetes/pkg/util/iptables/testing"
	netutils "k8s.io/utils/net"
)

// fakeNFAcct stands in for the nfnetlink_acct counters. With supported
// set every counter exists (a kernel with nfnetlink_acct, where kube-proxy
// adds its "-m nfacct" matches); otherwise every call fails as on a kernel
// without it.
type fakeNFAcct struct {
	supported bool
	counters  map[string]*nfacct.Counter
}

var _ nfacct.Interface = (*fakeNFAcct)(nil)

func newFakeNFAcct(supported bool) *fakeNFAcct {
	return &fakeNFAcct{supported: supported, counters: map[string]*nfacct.Counter{}}
}

func (f *fakeNFAcct) Ensure(name string) error {
	if !f.supported {
		return nfacct.ErrNotSupported
	}
	if f.counters[name] == nil {
		f.counters[name] = &nfacct.Counter{Name: name}
	}
	return nil
}

func (f *fakeNFAcct) Add(name string) error { return f.Ensure(name) }

func (f *fakeNFAcct) Get(name string) (*nfacct.Counter, error) {
	if c := f.counters[name]; c != nil {
		return c, nil
	}
	return nil, nfacct.ErrObjectNotFound
}

func (f *fakeNFAcct) List() ([]*nfacct.Counter, error) {
	out := make([]*nfacct.Counter, 0, len(f.counters))
	for _, c := range f.counters {
		out = append(out, c)
	}
	return out, nil
}

// recordingIPTables is the upstream iptables fake (which also parses every
// payload, a free syntax check) keeping the bytes of the last restore.
type recordingIPTables struct {
	*iptablestest.FakeIPTables
	last []byte
}

func newRecordingIPTables(c *Config) *recordingIPTables {
	f := iptablestest.NewFake()
	if c.Family == "IPv6" {
		f = iptablestest.NewIPv6Fake()
	}
	f.SetHasRandomFully(c.RandomFully)
	return &recordingIPTables{FakeIPTables: f}
}

func (r *recordingIPTables) RestoreAll(data []byte, flush utiliptables.FlushFlag, counters utiliptables.RestoreCountersFlag) error {
	r.last = append([]byte(nil), data...)
	return r.FakeIPTables.RestoreAll(data, flush, counters)
}

func (r *recordingIPTables) Restore(table utiliptables.Table, data []byte, flush utiliptables.FlushFlag, counters utiliptables.RestoreCountersFlag) error {
	r.last = append([]byte(nil), data...)
	return r.FakeIPTables.Restore(table, data, flush, counters)
}

// fakeNetwork is what net.InterfaceAddrs would list on the node: lo with
// 127.0.0.1/8 and ::1/128, eth0 with the node addresses.
func fakeNetwork(addrs []string) *proxyutiltest.FakeNetwork {
	nw := proxyutiltest.NewFakeNetwork()
	lo := net.Interface{Index: 1, MTU: 65536, Name: "lo", Flags: net.FlagUp | net.FlagLoopback}
	nw.AddInterfaceAddr(&lo, []net.Addr{
		&net.IPNet{IP: netutils.ParseIPSloppy("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: netutils.ParseIPSloppy("::1"), Mask: net.CIDRMask(128, 128)},
	})
	var eth []net.Addr
	for _, a := range addrs {
		ip := netutils.ParseIPSloppy(a)
		switch {
		case ip == nil:
		case ip.To4() != nil:
			eth = append(eth, &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)})
		default:
			eth = append(eth, &net.IPNet{IP: ip, Mask: net.CIDRMask(64, 128)})
		}
	}
	eth0 := net.Interface{Index: 2, MTU: 1500, Name: "eth0", Flags: net.FlagUp}
	nw.AddInterfaceAddr(&eth0, eth)
	return nw
}
