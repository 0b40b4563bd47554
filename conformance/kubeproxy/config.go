package kubeproxy

import (
	"net"
	"strings"

	v1 "k8s.io/api/core/v1"
	sysctltest "k8s.io/component-helpers/node/util/sysctl/testing"
	proxyutil "k8s.io/kubernetes/pkg/proxy/util"
	netutils "k8s.io/utils/net"
)

// Config is the node context of one single-stack proxier, in kube-proxy's
// own terms (after cmd/kube-proxy has resolved its flags for the family).
type Config struct {
	Family   v1.IPFamily // IPv4Protocol or IPv6Protocol
	Hostname string      // --hostname-override
	NodeIP   string      // the node IP of this family
	// NodeAddresses are the IPs the node's eth0 carries (lo always has
	// 127.0.0.1/8 and ::1/128). Empty means just NodeIP.
	NodeAddresses []string
	Zone          string // the node's topology.kubernetes.io/zone label

	// Local traffic detection: DetectLocalMode is ClusterCIDR, NodeCIDR,
	// BridgeInterface, InterfaceNamePrefix or "" (no-op detector).
	DetectLocalMode     string
	ClusterCIDRs        []string // --cluster-cidr (both families)
	PodCIDRs            []string // the Node's spec.podCIDRs
	BridgeInterface     string
	InterfaceNamePrefix string

	MasqueradeAll      bool
	MasqueradeBit      int
	LocalhostNodePorts bool
	// NodePortAddresses is --nodeport-addresses after server.go resolved
	// "primary" (CIDRs only); nil means kube-proxy's default for the mode.
	NodePortAddresses []string

	// Host facts.
	RandomFully           bool // iptables >= 1.6.2
	NFAcct                bool // the kernel has nfnetlink_acct
	ConntrackTCPBeLiberal bool // net.netfilter.nf_conntrack_tcp_be_liberal != 0

	// nftables: the ServiceCIDRs the proxier is told about.
	ServiceCIDRs []string

	// ipvs.
	IPVSScheduler    string
	IPVSStrictARP    bool
	IPVSExcludeCIDRs []string

	// AllowServiceExternalIPs is the feature gate of that name.
	AllowServiceExternalIPs bool
}

// localDetector mirrors getLocalDetectors in cmd/kube-proxy/app/server_linux.go.
func (c *Config) localDetector() proxyutil.LocalTrafficDetector {
	byCIDR := func(cidrs []string) proxyutil.LocalTrafficDetector {
		if cs := proxyutil.MapCIDRsByIPFamily(cidrs)[c.Family]; len(cs) > 0 {
			return proxyutil.NewDetectLocalByCIDR(cs[0].String())
		}
		return proxyutil.NewNoOpLocalDetector()
	}
	switch c.DetectLocalMode {
	case "ClusterCIDR":
		return byCIDR(c.ClusterCIDRs)
	case "NodeCIDR":
		return byCIDR(c.PodCIDRs)
	case "BridgeInterface":
		return proxyutil.NewDetectLocalByBridgeInterface(c.BridgeInterface)
	case "InterfaceNamePrefix":
		return proxyutil.NewDetectLocalByInterfaceNamePrefix(c.InterfaceNamePrefix)
	}
	return proxyutil.NewNoOpLocalDetector()
}

func (c *Config) sysctl() *sysctltest.Fake {
	s := sysctltest.NewFake()
	if c.ConntrackTCPBeLiberal {
		s.Settings["net/netfilter/nf_conntrack_tcp_be_liberal"] = 1
	}
	return s
}

func (c *Config) addresses() []string {
	if len(c.NodeAddresses) == 0 {
		return []string{c.NodeIP}
	}
	return c.NodeAddresses
}

func (c *Config) nodeIP() net.IP { return netutils.ParseIPSloppy(strings.TrimSpace(c.NodeIP)) }
