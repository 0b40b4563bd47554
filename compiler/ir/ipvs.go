package ir

import "net/netip"

// IPVS is the state kube-proxy's IPVS proxier programs for one IP family on
// a full sync: IPVS virtual and real servers, ipsets, the addresses bound to
// the dummy interface kube-ipvs0, and an iptables-restore payload (*nat then
// *filter) whose rules match those ipsets. Jumps and Sysctls are what
// kube-proxy installs outside the four artifacts: the jump rules from the
// built-in chains (single "iptables -I" calls) and the kernel parameters it
// sets when it starts.
//
// Every list is in a canonical order, so rendering never sorts.
type IPVS struct {
	IPv6 bool
	// Device is the dummy interface the service addresses are bound to.
	Device string
	// VirtualServers in ascending (address bytes, port, protocol) order,
	// the order "ipvsadm-save -n" lists them in the oracle.
	VirtualServers []VirtualServer
	// Sets are kube-proxy's ipsets in ascending name order; every set is
	// listed, empty ones included (kube-proxy creates all of them).
	Sets []IPSet
	// Addresses bound to Device, in ascending address order.
	Addresses []netip.Addr
	// IPTables is the iptables-restore payload (--noflush).
	IPTables *IPTables
	// Jumps are kube-proxy's jump rules, in the order it inserts them
	// (each one with "-I", so in the chain they end up reversed).
	Jumps []JumpRule
	// Sysctls kube-proxy sets at start, in the order it sets them.
	Sysctls []Sysctl
	// ExcludeCIDRs (--ipvs-exclude-cidrs of the family) name virtual
	// servers that a sync never deletes even when no service wants them.
	ExcludeCIDRs []netip.Prefix
	// Origins lists the service ports virtual servers came from;
	// VirtualServer.Origin indexes it (1-based).
	Origins []Origin
}

// IPVS protocol names, as kube-proxy passes them to the kernel.
const (
	ProtoTCP  = "TCP"
	ProtoUDP  = "UDP"
	ProtoSCTP = "SCTP"
)

// VirtualServer is one IPVS service.
type VirtualServer struct {
	Address  netip.Addr
	Port     uint16
	Protocol string // ProtoTCP, ProtoUDP or ProtoSCTP
	// Scheduler is the scheduling method (--ipvs-scheduler).
	Scheduler string
	// Persistent is set for ClientIP session affinity; Timeout is then
	// the affinity timeout in seconds (ipvsadm -p).
	Persistent bool
	Timeout    uint32
	// MHPort is the source-hash scheduler flag kube-proxy sets with the mh
	// scheduler (IP_VS_SVC_F_SCHED2, ipvsadm "-b mh-port").
	MHPort bool
	// RealServers in ascending (address bytes, port) order.
	RealServers []RealServer
	// Origin is the service port that programmed this virtual server last
	// (1-based index into IPVS.Origins).
	Origin int32
}

// RealServer is one destination of a virtual server. kube-proxy always uses
// masquerading (NAT) forwarding.
type RealServer struct {
	Address netip.Addr
	Port    uint16
	Weight  int
}

// ipset types kube-proxy uses.
const (
	SetHashIP        = "hash:ip"
	SetHashIPPort    = "hash:ip,port"
	SetHashIPPortIP  = "hash:ip,port,ip"
	SetHashIPPortNet = "hash:ip,port,net"
	SetBitmapPort    = "bitmap:port"
)

// IPSet is one ipset with its creation options and entries.
type IPSet struct {
	Name string
	Type string // one of the Set* constants
	// Family (inet or inet6), HashSize and MaxElem apply to hash types;
	// PortRange to bitmap:port.
	Family    string
	HashSize  int
	MaxElem   int
	PortRange string
	// Comment is what kube-proxy's iptables rules say about the set.
	Comment string
	// Entries in ascending string order, in ipset's entry syntax
	// ("10.96.0.10,tcp:80", "30080", ...).
	Entries []string
}

// IsHash reports whether the set is of a hash type.
func (s *IPSet) IsHash() bool { return s.Type != SetBitmapPort }

// JumpRule is a rule kube-proxy installs with "iptables -t Table -I Chain
// -m comment --comment Comment -j Target".
type JumpRule struct {
	Table, Chain, Target, Comment string
}

// Sysctl is a kernel parameter kube-proxy sets. Name is the path below
// /proc/sys ("net/ipv4/ip_forward").
type Sysctl struct {
	Name  string
	Value int
	// MinKernel and BelowKernel, when set ("4.1", "5.9"), restrict the
	// setting to kernels in [MinKernel, BelowKernel): kube-proxy decides
	// from the running kernel's version.
	MinKernel, BelowKernel string
}
