package compiler

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// Program is the result of compiling a snapshot for one node, one mode and
// one IP family.
type Program struct {
	Options  Options
	Model    *Model
	IPTables *ir.IPTables // iptables mode
	NFT      *ir.NFT      // nftables mode
	IPVS     *ir.IPVS     // ipvs mode
}

// CompileOptions select the shape of the output.
type CompileOptions struct {
	// Standalone adds the built-in chains and kube-proxy's jump rules to
	// the iptables payload.
	Standalone bool
}

// ApplyNode fills the options that a Node object of the snapshot supplies
// (addresses, podCIDRs, zone label) where the flags left them unset; set
// tells which options the user gave explicitly.
func ApplyNode(snap *Snapshot, opts *Options, set func(flag string) bool) {
	for _, n := range snap.Nodes {
		if n.Obj.Name != opts.NodeName {
			continue
		}
		if !set("node-ip") {
			var ips []string
			for _, t := range []string{"InternalIP", "ExternalIP"} {
				for _, a := range n.Obj.Status.Addresses {
					if string(a.Type) == t {
						ips = append(ips, a.Address)
					}
				}
			}
			for _, s := range ips {
				if ip, ok := ParseIPSloppy(s); ok {
					opts.NodeIPs = append(opts.NodeIPs, ip)
				}
			}
			// kube-proxy (detectNodeIPs) takes the loopback address as
			// the node IP of a family the Node has no address of.
			for _, lo := range []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()} {
				fam := IPv4
				if lo.Is6() {
					fam = IPv6
				}
				if !slices.ContainsFunc(opts.NodeIPs, fam.Is) {
					opts.NodeIPs = append(opts.NodeIPs, lo)
				}
			}
		}
		if !set("node-zone") {
			if z, ok := n.Obj.Labels["topology.kubernetes.io/zone"]; ok {
				opts.NodeZone = z
			}
		}
		if len(opts.PodCIDRs) == 0 {
			opts.PodCIDRs = n.Obj.Spec.PodCIDRs
			if len(opts.PodCIDRs) == 0 && n.Obj.Spec.PodCIDR != "" {
				opts.PodCIDRs = []string{n.Obj.Spec.PodCIDR}
			}
		}
	}
}

// Compile builds the model for opts.Family and lowers it for opts.Mode.
func Compile(snap *Snapshot, opts Options, co CompileOptions) (*Program, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	m := BuildModel(snap, &opts)
	p := &Program{Options: opts, Model: m}
	switch opts.Mode {
	case ModeIPTables:
		p.IPTables = LowerIPTables(m, &opts, co.Standalone)
	case ModeNFTables:
		t, err := LowerNFT(m, &opts)
		if err != nil {
			return nil, err
		}
		p.NFT = t
	case ModeIPVS:
		v, err := LowerIPVS(m, &opts)
		if err != nil {
			return nil, err
		}
		p.IPVS = v
	default:
		return nil, fmt.Errorf("--proxy-mode %s: not implemented yet", opts.Mode)
	}
	return p, nil
}
