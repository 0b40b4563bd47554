package compiler

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Mode is kube-proxy's --proxy-mode.
type Mode string

// The proxy modes kubeproxyc compiles for.
const (
	ModeIPTables Mode = "iptables"
	ModeIPVS     Mode = "ipvs"
	ModeNFTables Mode = "nftables"
)

// Family is an IP family, named as in Service.spec.ipFamilies.
type Family string

// The two IP families; kube-proxy runs one proxier per family.
const (
	IPv4 Family = "IPv4"
	IPv6 Family = "IPv6"
)

// Is reports whether addr belongs to the family.
func (f Family) Is(addr netip.Addr) bool {
	return addr.IsValid() && addr.Unmap().Is4() == (f == IPv4)
}

// The --detect-local-mode values.
const (
	LocalModeClusterCIDR         = "ClusterCIDR"
	LocalModeNodeCIDR            = "NodeCIDR"
	LocalModeBridgeInterface     = "BridgeInterface"
	LocalModeInterfaceNamePrefix = "InterfaceNamePrefix"
)

// Options is the node context: everything besides the API objects that
// decides what kube-proxy programs on one node. Field names follow the
// kube-proxy flags they stand for.
type Options struct {
	Mode   Mode   // --proxy-mode
	Family Family // --ip-family: which single-stack proxier to compile for

	NodeName string       // --hostname-override: decides which endpoints are local
	NodeIPs  []netip.Addr // --node-ip: primary node IP first, then the node's other local addresses
	NodeZone string       // --node-zone: topology.kubernetes.io/zone of the node

	ClusterCIDRs        []string // --cluster-cidr, one per family
	DetectLocalMode     string   // --detect-local-mode
	PodCIDRs            []string // the node's spec.podCIDRs (NodeCIDR mode)
	BridgeInterface     string   // --pod-bridge-interface
	InterfaceNamePrefix string   // --pod-interface-name-prefix

	MasqueradeAll      bool     // --masquerade-all
	MasqueradeBit      int      // --iptables-masquerade-bit
	LocalhostNodePorts bool     // --iptables-localhost-nodeports
	NodePortAddresses  []string // --nodeport-addresses: CIDRs, or "primary"

	// Host facts that change the output but cannot be seen offline.
	RandomFully           bool // iptables supports --random-fully (>= 1.6.2)
	NFAcct                bool // the kernel has nfnetlink_acct and kube-proxy's counters exist
	ConntrackTCPBeLiberal bool // net.netfilter.nf_conntrack_tcp_be_liberal is non-zero

	IPVSScheduler    string   // --ipvs-scheduler
	IPVSStrictARP    bool     // --ipvs-strict-arp
	IPVSExcludeCIDRs []string // --ipvs-exclude-cidrs

	ServiceCIDRs []string // ServiceCIDRs known to the nftables proxier

	// AllowServiceExternalIPs is the feature gate of that name (default true).
	AllowServiceExternalIPs bool
}

// DefaultOptions returns the defaults kubeproxyc documents for each flag:
// kube-proxy's own defaults, and for the node identity the example node
// (node1, 192.168.0.2 / fd00::2, cluster CIDR 10.244.0.0/16 and
// fd00:10:244::/56).
func DefaultOptions() Options {
	return Options{
		Mode:                    ModeIPTables,
		Family:                  IPv4,
		NodeName:                "node1",
		ClusterCIDRs:            []string{"10.244.0.0/16", "fd00:10:244::/56"},
		DetectLocalMode:         LocalModeClusterCIDR,
		MasqueradeBit:           14,
		LocalhostNodePorts:      true,
		RandomFully:             true,
		NFAcct:                  true,
		IPVSScheduler:           "rr",
		ServiceCIDRs:            []string{"10.96.0.0/12", "fd00:10:96::/112"},
		AllowServiceExternalIPs: true,
	}
}

// PrimaryNodeIP returns the node IP of the compiled family: the first
// --node-ip of that family, or the example node's address.
func (o *Options) PrimaryNodeIP() netip.Addr {
	for _, ip := range o.NodeIPs {
		if o.Family.Is(ip) {
			return ip.Unmap()
		}
	}
	if o.Family == IPv6 {
		return netip.MustParseAddr("fd00::2")
	}
	return netip.MustParseAddr("192.168.0.2")
}

// LocalAddresses returns the addresses the node's interfaces carry, as
// kube-proxy would list them: loopback first, then the node IPs.
func (o *Options) LocalAddresses() []netip.Addr {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	if len(o.NodeIPs) == 0 {
		return append(addrs, o.PrimaryNodeIP())
	}
	for _, ip := range o.NodeIPs {
		if ip = ip.Unmap(); !slices.Contains(addrs, ip) {
			addrs = append(addrs, ip)
		}
	}
	return addrs
}

// Check reports option values kube-proxy would refuse to start with.
func (o *Options) Check() error {
	switch o.Mode {
	case ModeIPTables, ModeIPVS, ModeNFTables:
	default:
		return fmt.Errorf("--proxy-mode: unsupported value %q: must be iptables, ipvs or nftables", o.Mode)
	}
	if o.Family != IPv4 && o.Family != IPv6 {
		return fmt.Errorf("--ip-family: unsupported value %q: must be IPv4 or IPv6", o.Family)
	}
	if o.MasqueradeBit < 0 || o.MasqueradeBit > 31 {
		return fmt.Errorf("--iptables-masquerade-bit: invalid value %d: must be in the range [0, 31]", o.MasqueradeBit)
	}
	switch o.DetectLocalMode {
	case "", LocalModeClusterCIDR, LocalModeNodeCIDR:
	case LocalModeBridgeInterface:
		if o.BridgeInterface == "" {
			return fmt.Errorf("--pod-bridge-interface: required with --detect-local-mode=BridgeInterface")
		}
	case LocalModeInterfaceNamePrefix:
		if o.InterfaceNamePrefix == "" {
			return fmt.Errorf("--pod-interface-name-prefix: required with --detect-local-mode=InterfaceNamePrefix")
		}
	default:
		return fmt.Errorf("--detect-local-mode: unsupported value %q", o.DetectLocalMode)
	}
	for _, c := range o.ClusterCIDRs {
		if _, err := netip.ParsePrefix(strings.TrimSpace(c)); err != nil {
			return fmt.Errorf("--cluster-cidr: invalid CIDR %q", c)
		}
	}
	for _, c := range o.NodePortAddresses {
		if c == "primary" && len(o.NodePortAddresses) == 1 {
			continue
		}
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("--nodeport-addresses: invalid CIDR %q (a list of CIDRs, or the single word primary)", c)
		}
	}
	for _, c := range o.IPVSExcludeCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("--ipvs-exclude-cidrs: invalid CIDR %q", c)
		}
	}
	return o.checkValues()
}

// LocalDetector is kube-proxy's local-traffic detector: the match arguments
// that select traffic from pods on this node (IfLocal) or from elsewhere
// (IfNotLocal). A detector with no arguments is the no-op detector.
type LocalDetector struct {
	IfLocal       []string
	IfNotLocal    []string
	IfLocalNFT    []string
	IfNotLocalNFT []string
}

// Implemented reports whether the detector matches anything.
func (d LocalDetector) Implemented() bool { return len(d.IfLocal) > 0 }

// LocalDetector builds the detector kube-proxy's --detect-local-mode gives
// for the compiled family.
func (o *Options) LocalDetector() LocalDetector {
	byCIDR := func(cidrs []string) LocalDetector {
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil || !o.Family.Is(p.Addr()) {
				continue
			}
			s := p.Masked().String()
			nft := "ip"
			if o.Family == IPv6 {
				nft = "ip6"
			}
			return LocalDetector{
				IfLocal:       []string{"-s", s},
				IfNotLocal:    []string{"!", "-s", s},
				IfLocalNFT:    []string{nft, "saddr", s},
				IfNotLocalNFT: []string{nft, "saddr", "!=", s},
			}
		}
		return LocalDetector{}
	}
	switch o.DetectLocalMode {
	case LocalModeClusterCIDR, "":
		return byCIDR(o.ClusterCIDRs)
	case LocalModeNodeCIDR:
		return byCIDR(o.PodCIDRs)
	case LocalModeBridgeInterface:
		return LocalDetector{
			IfLocal:       []string{"-i", o.BridgeInterface},
			IfNotLocal:    []string{"!", "-i", o.BridgeInterface},
			IfLocalNFT:    []string{"iifname", o.BridgeInterface},
			IfNotLocalNFT: []string{"iifname", "!=", o.BridgeInterface},
		}
	case LocalModeInterfaceNamePrefix:
		return LocalDetector{
			IfLocal:       []string{"-i", o.InterfaceNamePrefix + "+"},
			IfNotLocal:    []string{"!", "-i", o.InterfaceNamePrefix + "+"},
			IfLocalNFT:    []string{"iifname", o.InterfaceNamePrefix + "*"},
			IfNotLocalNFT: []string{"iifname", "!=", o.InterfaceNamePrefix + "*"},
		}
	}
	return LocalDetector{}
}

// NodePortMatch is kube-proxy's view of --nodeport-addresses for one family.
type NodePortMatch struct {
	MatchAll             bool
	CIDRs                []netip.Prefix
	ContainsIPv4Loopback bool
}

// NodePortMatch resolves --nodeport-addresses ("primary" included) for the
// compiled family. Empty means kube-proxy's default for the mode: every
// local address for iptables and ipvs, the primary node IP for nftables.
func (o *Options) NodePortMatch() NodePortMatch {
	strs := o.NodePortAddresses
	if len(strs) == 0 && o.Mode == ModeNFTables {
		strs = []string{"primary"}
	}
	if len(strs) == 1 && strs[0] == "primary" {
		// server.go: "primary" is the node's primary IP of each family as a
		// single-address CIDR (a loopback primary IP is left out).
		strs = nil
		if ip := o.PrimaryNodeIP(); !ip.IsLoopback() {
			strs = []string{netip.PrefixFrom(ip, ip.BitLen()).String()}
		}
	}
	var m NodePortMatch
	var mine []netip.Prefix
	for _, s := range strs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		if o.Family.Is(p.Addr()) {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		if o.Family == IPv4 {
			mine = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
		} else {
			mine = []netip.Prefix{netip.MustParsePrefix("::/0")}
		}
	}
	loop := netip.MustParseAddr("127.0.0.0")
	for _, p := range mine {
		p = p.Masked()
		if p.Addr().Is4() && (p.Addr().IsLoopback() || p.Contains(loop)) {
			m.ContainsIPv4Loopback = true
		}
		if p.Bits() == 0 {
			m.CIDRs = []netip.Prefix{p}
			m.MatchAll = true
			break
		}
		m.CIDRs = append(m.CIDRs, p)
	}
	return m
}

// NodePortIPs returns the node's local addresses that --nodeport-addresses
// selects, in string order (kube-proxy collects them in a map).
func (o *Options) NodePortIPs(m NodePortMatch) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, cidr := range m.CIDRs {
		for _, a := range o.LocalAddresses() {
			if cidr.Contains(a) && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sortAddrsByString(out)
	return out
}
