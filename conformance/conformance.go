// Package conformance checks kubeproxyc against kube-proxy itself.
//
// This is a separate Go module, so that the main module never links
// k8s.io/kubernetes: it requires kubeproxyc through a replace directive
// and k8s.io/kubernetes at the pinned kube-proxy release. Package
// kubeproxy runs the real proxiers; package gen generates random
// snapshots and shrinks failing ones. This package puts the two sides of a
// comparison together: for a mode, an IP family, a node (kubeproxyc's node
// flags) and a YAML input it returns what kube-proxy programs and what
// kubeproxyc renders, through the same compiler and render functions the
// kubeproxyc CLI calls.
//
// The tests are TestDifferential (random seeds, -seeds N) and TestGolden
// (every golden file under testdata/cases checked against kube-proxy).
// docs/testing.md describes how to run them and what to do with a
// difference.
package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"

	v1 "k8s.io/api/core/v1"
	nodeutil "k8s.io/kubernetes/pkg/util/node"
	netutils "k8s.io/utils/net"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/conformance/gen"
	"github.com/kubeproxyc/kubeproxyc/conformance/kubeproxy"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// Mode is one proxy mode both sides implement.
type Mode struct {
	Name      string // --proxy-mode
	KubeProxy func(*kubeproxy.Config, *kubeproxy.Objects) ([]byte, error)
	Render    func(io.Writer, *compiler.Program) error
}

// Modes lists the modes compared. Adding one takes a kube-proxy driver
// function and kubeproxyc's renderer for it.
var Modes = []Mode{
	{
		Name:      "iptables",
		KubeProxy: kubeproxy.IPTables,
		Render:    func(w io.Writer, p *compiler.Program) error { return render.IPTablesRestore(w, p.IPTables) },
	},
	{
		Name:      "nftables",
		KubeProxy: kubeproxy.NFTables,
		Render:    func(w io.Writer, p *compiler.Program) error { return render.NFT(w, p.NFT) },
	},
	{
		Name:      "ipvs",
		KubeProxy: kubeproxy.IPVS,
		Render:    func(w io.Writer, p *compiler.Program) error { return render.IPVSState(w, p.IPVS) },
	},
}

// Families are the single-stack proxiers kube-proxy runs on a dual-stack
// node, named as kubeproxyc's --ip-family names them.
var Families = []compiler.Family{compiler.IPv4, compiler.IPv6}

// Input is one snapshot, loaded by both sides.
type Input struct {
	YAML []byte
	Node gen.Node
	// KubeProxy is what kube-proxy's informers deliver; Snapshot is
	// kubeproxyc's loaded input (nil with LoadErr when kubeproxyc rejects
	// the input).
	KubeProxy *kubeproxy.Objects
	Snapshot  *compiler.Snapshot
	LoadErr   error
}

// Load decodes the YAML for both sides. An error means the kube-proxy side
// could not read it (the input is not what an API server would store).
func Load(yaml []byte, node gen.Node) (*Input, error) {
	objs, err := kubeproxy.Decode(yaml)
	if err != nil {
		return nil, fmt.Errorf("kube-proxy side: decoding the input: %w", err)
	}
	in := &Input{YAML: yaml, Node: node, KubeProxy: objs}
	in.Snapshot, in.LoadErr = compiler.Load([]compiler.Source{{Name: "input.yaml", Data: yaml}})
	return in, nil
}

// Outcome of one comparison.
type Outcome struct {
	Want []byte // kube-proxy's output
	Got  []byte // kubeproxyc's output
	// Failure is "" when both sides agree, else "differ",
	// "kubeproxyc-error" or "kube-proxy-error" (with Err).
	Failure string
	Err     error
}

// Compare runs both sides for one mode and family.
func Compare(m Mode, fam compiler.Family, in *Input) Outcome {
	var o Outcome
	cfg := KubeProxyConfig(in.Node, m.Name, fam, in.KubeProxy)
	o.Want, o.Err = m.KubeProxy(&cfg, in.KubeProxy)
	if o.Err != nil {
		o.Failure = "kube-proxy-error"
		return o
	}
	o.Got, o.Err = Kubeproxyc(m, fam, in)
	switch {
	case o.Err != nil:
		o.Failure = "kubeproxyc-error"
	case !bytes.Equal(o.Want, o.Got):
		o.Failure = "differ"
	}
	return o
}

// Kubeproxyc compiles and renders the input like "kubeproxyc render".
func Kubeproxyc(m Mode, fam compiler.Family, in *Input) ([]byte, error) {
	if in.LoadErr != nil {
		return nil, in.LoadErr
	}
	opts, err := CompilerOptions(in.Node, m.Name, fam, in.Snapshot)
	if err != nil {
		return nil, err
	}
	prog, err := compiler.Compile(in.Snapshot, opts, compiler.CompileOptions{})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := m.Render(&b, prog); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CompilerOptions resolves the node context the way kubeproxyc's node
// flags do: defaults, the Node object of the input for what the flags
// leave unset, then the flags.
func CompilerOptions(n gen.Node, mode string, fam compiler.Family, snap *compiler.Snapshot) (compiler.Options, error) {
	o := compiler.DefaultOptions()
	o.Mode = compiler.Mode(mode)
	o.Family = fam
	o.NodeName = strings.ToLower(strings.TrimSpace(n.Hostname))
	for _, s := range n.NodeIPs {
		ip, ok := compiler.ParseIPSloppy(s)
		if !ok {
			return o, fmt.Errorf("--node-ip: invalid IP address %q", s)
		}
		o.NodeIPs = append(o.NodeIPs, ip)
	}
	o.NodeZone = n.Zone
	o.PodCIDRs = n.PodCIDRs
	set := func(flag string) bool {
		switch flag {
		case "node-ip":
			return len(n.NodeIPs) > 0
		case "node-zone":
			return n.Zone != ""
		}
		return false
	}
	compiler.ApplyNode(snap, &o, set)
	o.ClusterCIDRs = n.ClusterCIDRs
	o.DetectLocalMode = n.DetectLocalMode
	o.BridgeInterface = n.BridgeInterface
	o.InterfaceNamePrefix = n.InterfaceNamePrefix
	o.MasqueradeAll = n.MasqueradeAll
	o.MasqueradeBit = n.MasqueradeBit
	o.LocalhostNodePorts = n.LocalhostNodePorts
	o.NodePortAddresses = n.NodePortAddresses
	o.RandomFully = n.RandomFully
	o.NFAcct = n.NFAcct
	o.ConntrackTCPBeLiberal = n.TCPBeLiberal
	o.IPVSScheduler = n.IPVSScheduler
	o.IPVSStrictARP = n.IPVSStrictARP
	o.IPVSExcludeCIDRs = n.IPVSExcludeCIDRs
	o.ServiceCIDRs = n.ServiceCIDRs
	if len(snap.ServiceCIDRs) > 0 {
		o.ServiceCIDRs = nil
		for _, sc := range snap.ServiceCIDRs {
			o.ServiceCIDRs = append(o.ServiceCIDRs, sc.CIDRs...)
		}
	}
	o.AllowServiceExternalIPs = n.AllowServiceExternalIPs
	return o, o.Check()
}

// defaultNodeIP is kubeproxyc's node IP of a family when --node-ip names
// none (its documented example node).
func defaultNodeIP(fam compiler.Family) string {
	if fam == compiler.IPv6 {
		return "fd00::2"
	}
	return "192.168.0.2"
}

// KubeProxyConfig is what cmd/kube-proxy would hand the proxier of family
// fam on the node n describes. Where kubeproxyc's flags define the node
// (--node-ip), their meaning is kubeproxyc's: the first address of the
// family is the node IP (the example node's address when there is none)
// and all of them are the node's local addresses. A Node object in the
// input is read as kube-proxy reads it: node IPs by GetNodeHostIPs and
// detectNodeIPs (loopback for a family the Node has no address of), zone
// label and podCIDRs.
func KubeProxyConfig(n gen.Node, mode string, fam compiler.Family, objs *kubeproxy.Objects) kubeproxy.Config {
	hostname := strings.ToLower(strings.TrimSpace(n.Hostname))
	c := kubeproxy.Config{
		Family:                  v1.IPFamily(fam),
		Hostname:                hostname,
		Zone:                    n.Zone,
		DetectLocalMode:         n.DetectLocalMode,
		ClusterCIDRs:            n.ClusterCIDRs,
		PodCIDRs:                n.PodCIDRs,
		BridgeInterface:         n.BridgeInterface,
		InterfaceNamePrefix:     n.InterfaceNamePrefix,
		MasqueradeAll:           n.MasqueradeAll,
		MasqueradeBit:           n.MasqueradeBit,
		LocalhostNodePorts:      n.LocalhostNodePorts,
		RandomFully:             n.RandomFully,
		NFAcct:                  n.NFAcct,
		ConntrackTCPBeLiberal:   n.TCPBeLiberal,
		ServiceCIDRs:            n.ServiceCIDRs,
		IPVSScheduler:           n.IPVSScheduler,
		IPVSStrictARP:           n.IPVSStrictARP,
		IPVSExcludeCIDRs:        n.IPVSExcludeCIDRs,
		AllowServiceExternalIPs: n.AllowServiceExternalIPs,
	}
	nodeIPs := map[compiler.Family]string{}
	var node *v1.Node
	for _, o := range objs.Nodes {
		if o.Name == hostname {
			node = o
		}
	}
	switch {
	case len(n.NodeIPs) > 0:
		for _, s := range n.NodeIPs {
			ip := netutils.ParseIPSloppy(s)
			f := compiler.IPv4
			if ip.To4() == nil {
				f = compiler.IPv6
			}
			if nodeIPs[f] == "" {
				nodeIPs[f] = ip.String()
			}
			c.NodeAddresses = append(c.NodeAddresses, ip.String())
		}
		for _, f := range Families {
			if nodeIPs[f] == "" {
				nodeIPs[f] = defaultNodeIP(f)
			}
		}
	case node != nil:
		raw, _ := nodeutil.GetNodeHostIPs(node)
		nodeIPs[compiler.IPv4], nodeIPs[compiler.IPv6] = "127.0.0.1", "::1"
		for _, ip := range raw {
			f := compiler.IPv4
			if ip.To4() == nil {
				f = compiler.IPv6
			}
			nodeIPs[f] = ip.String()
		}
		for _, a := range node.Status.Addresses {
			if a.Type == v1.NodeInternalIP || a.Type == v1.NodeExternalIP {
				if ip := netutils.ParseIPSloppy(a.Address); ip != nil {
					c.NodeAddresses = append(c.NodeAddresses, ip.String())
				}
			}
		}
	default:
		for _, f := range Families {
			nodeIPs[f] = defaultNodeIP(f)
		}
	}
	if node != nil {
		if c.Zone == "" {
			c.Zone = node.Labels[v1.LabelTopologyZone]
		}
		if len(c.PodCIDRs) == 0 {
			c.PodCIDRs = node.Spec.PodCIDRs
			if len(c.PodCIDRs) == 0 && node.Spec.PodCIDR != "" {
				c.PodCIDRs = []string{node.Spec.PodCIDR}
			}
		}
	}
	c.NodeIP = nodeIPs[fam]
	if len(c.NodeAddresses) == 0 {
		c.NodeAddresses = []string{c.NodeIP}
	}

	// cmd/kube-proxy: nftables defaults --nodeport-addresses to "primary";
	// "primary" is the node IP of each family, unless it is loopback.
	npa := n.NodePortAddresses
	if len(npa) == 0 && mode == "nftables" {
		npa = []string{"primary"}
	}
	if len(npa) == 1 && npa[0] == "primary" {
		npa = nil
		for _, f := range Families {
			ip := net.ParseIP(nodeIPs[f])
			if ip == nil || ip.IsLoopback() {
				continue
			}
			bits := "/32"
			if f == compiler.IPv6 {
				bits = "/128"
			}
			npa = append(npa, ip.String()+bits)
		}
	}
	c.NodePortAddresses = npa
	return c
}
