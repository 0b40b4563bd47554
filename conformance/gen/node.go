package gen

import (
	"fmt"
	"strconv"
	"strings"
)

// Node is the node context of a case, with kubeproxyc's flag semantics:
// every field is one kubeproxyc command-line flag.
type Node struct {
	Hostname            string   // --hostname-override
	NodeIPs             []string // --node-ip: primary IP(s) first, then other local addresses
	Zone                string   // --node-zone
	ClusterCIDRs        []string // --cluster-cidr (empty: no local-traffic detector)
	DetectLocalMode     string   // --detect-local-mode
	PodCIDRs            []string // --pod-cidr
	BridgeInterface     string   // --pod-bridge-interface
	InterfaceNamePrefix string   // --pod-interface-name-prefix
	MasqueradeAll       bool     // --masquerade-all
	MasqueradeBit       int      // --iptables-masquerade-bit
	LocalhostNodePorts  bool     // --iptables-localhost-nodeports
	NodePortAddresses   []string // --nodeport-addresses (CIDRs, or "primary")
	RandomFully         bool     // --random-fully
	NFAcct              bool     // --nfacct
	TCPBeLiberal        bool     // --conntrack-tcp-be-liberal
	ServiceCIDRs        []string // --service-cidrs
	IPVSScheduler       string   // --ipvs-scheduler
	IPVSStrictARP       bool     // --ipvs-strict-arp
	IPVSExcludeCIDRs    []string // --ipvs-exclude-cidrs
	// AllowServiceExternalIPs is --feature-gates AllowServiceExternalIPs=...
	AllowServiceExternalIPs bool
}

// DefaultNode returns kubeproxyc's defaults (those of a flag-less run).
func DefaultNode() Node {
	return Node{
		Hostname:                "node1",
		ClusterCIDRs:            []string{"10.244.0.0/16", "fd00:10:244::/56"},
		DetectLocalMode:         "ClusterCIDR",
		MasqueradeBit:           14,
		LocalhostNodePorts:      true,
		RandomFully:             true,
		NFAcct:                  true,
		ServiceCIDRs:            []string{"10.96.0.0/12", "fd00:10:96::/112"},
		IPVSScheduler:           "rr",
		AllowServiceExternalIPs: true,
	}
}

// nodeFlag binds one flag name to its field.
type nodeFlag struct {
	name string
	kind byte // 's' string, 'l' comma list, 'b' bool, 'i' int, 'g' feature gates
	ptr  any
}

func (n *Node) flags() []nodeFlag {
	return []nodeFlag{
		{"hostname-override", 's', &n.Hostname},
		{"node-ip", 'l', &n.NodeIPs},
		{"node-zone", 's', &n.Zone},
		{"cluster-cidr", 'l', &n.ClusterCIDRs},
		{"detect-local-mode", 's', &n.DetectLocalMode},
		{"pod-cidr", 'l', &n.PodCIDRs},
		{"pod-bridge-interface", 's', &n.BridgeInterface},
		{"pod-interface-name-prefix", 's', &n.InterfaceNamePrefix},
		{"masquerade-all", 'b', &n.MasqueradeAll},
		{"iptables-masquerade-bit", 'i', &n.MasqueradeBit},
		{"iptables-localhost-nodeports", 'b', &n.LocalhostNodePorts},
		{"nodeport-addresses", 'l', &n.NodePortAddresses},
		{"random-fully", 'b', &n.RandomFully},
		{"nfacct", 'b', &n.NFAcct},
		{"conntrack-tcp-be-liberal", 'b', &n.TCPBeLiberal},
		{"service-cidrs", 'l', &n.ServiceCIDRs},
		{"ipvs-scheduler", 's', &n.IPVSScheduler},
		{"ipvs-strict-arp", 'b', &n.IPVSStrictARP},
		{"ipvs-exclude-cidrs", 'l', &n.IPVSExcludeCIDRs},
		{"feature-gates", 'g', &n.AllowServiceExternalIPs},
	}
}

func (f nodeFlag) value() string {
	switch p := f.ptr.(type) {
	case *string:
		return *p
	case *[]string:
		return strings.Join(*p, ",")
	case *int:
		return strconv.Itoa(*p)
	case *bool:
		if f.kind == 'g' {
			return "AllowServiceExternalIPs=" + strconv.FormatBool(*p)
		}
		return strconv.FormatBool(*p)
	}
	panic("unreachable")
}

func (f nodeFlag) set(v string) error {
	switch p := f.ptr.(type) {
	case *string:
		*p = v
	case *[]string:
		*p = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				*p = append(*p, s)
			}
		}
	case *int:
		i, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.name, err)
		}
		*p = i
	case *bool:
		if f.kind == 'g' {
			for _, g := range strings.Split(v, ",") {
				k, val, _ := strings.Cut(strings.TrimSpace(g), "=")
				if k != "AllowServiceExternalIPs" {
					return fmt.Errorf("--feature-gates: %q is not supported here", g)
				}
				b, err := strconv.ParseBool(val)
				if err != nil {
					return fmt.Errorf("--feature-gates: %w", err)
				}
				*p = b
			}
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.name, err)
		}
		*p = b
	}
	return nil
}

// Args returns the kubeproxyc flags that select this node: only those
// that differ from DefaultNode, as "--name=value" (the form a golden
// case's flags file holds).
func (n Node) Args() []string {
	d := DefaultNode()
	df := d.flags()
	var out []string
	for i, f := range n.flags() {
		if v := f.value(); v != df[i].value() {
			out = append(out, "--"+f.name+"="+v)
		}
	}
	return out
}

// ParseArgs reads kubeproxyc flags (as in a golden case's flags file) on
// top of DefaultNode. It accepts "--name=value", "--name value" and, for
// booleans, "--name". --proxy-mode and --ip-family are ignored (the
// caller picks them); any other flag is an error.
func ParseArgs(args []string) (Node, error) {
	n := DefaultNode()
	byName := map[string]nodeFlag{}
	for _, f := range n.flags() {
		byName[f.name] = f
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") {
			return n, fmt.Errorf("unexpected argument %q", a)
		}
		f, known := byName[name]
		ignored := name == "proxy-mode" || name == "ip-family"
		if !known && !ignored {
			return n, fmt.Errorf("flag --%s is not supported by the conformance driver", name)
		}
		if !hasVal {
			if known && f.kind == 'b' {
				val = "true"
			} else if i+1 < len(args) {
				i++
				val = args[i]
			} else {
				return n, fmt.Errorf("flag --%s needs a value", name)
			}
		}
		if ignored {
			continue
		}
		if err := f.set(val); err != nil {
			return n, err
		}
	}
	return n, nil
}
