package cli

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

// nodeFlags are the input and node-context flags shared by every command
// that compiles: named as kube-proxy names them.
type nodeFlags struct {
	files      []string
	config     string
	mode       string
	family     string
	hostname   string
	nodeIPs    string
	zone       string
	clusterCID string
	detectMode string
	bridge     string
	ifPrefix   string
	podCIDRs   string
	masqAll    bool
	masqBit    int
	localhost  bool
	npAddrs    string
	random     bool
	nfacct     bool
	liberal    bool
	ipvsSched  string
	ipvsARP    bool
	ipvsExcl   string
	svcCIDRs   string
	gates      string
	fs         *pflag.FlagSet
}

func addNodeFlags(cmd *cobra.Command, withFiles bool) *nodeFlags {
	d := compiler.DefaultOptions()
	f := &nodeFlags{fs: cmd.Flags()}
	fs := cmd.Flags()
	if withFiles {
		fs.StringArrayVarP(&f.files, "filename", "f", nil, "input: a file, a directory (every *.yaml, *.yml, *.json below it) or - for stdin; repeatable")
	}
	fs.StringVar(&f.config, "config", "", "a kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration file; flags override it")
	fs.StringVar(&f.mode, "proxy-mode", string(d.Mode), "iptables, ipvs or nftables")
	fs.StringVar(&f.family, "ip-family", string(d.Family), "IPv4 or IPv6: the family of the single-stack proxier to compile (kube-proxy runs one per family)")
	fs.StringVar(&f.hostname, "hostname-override", d.NodeName, "the node's name: decides which endpoints are local, and which Node object of the input describes the node")
	fs.StringVar(&f.nodeIPs, "node-ip", "", "comma list: the primary node IP first, then the node's other local addresses (default 192.168.0.2, or fd00::2 for IPv6, unless a Node object supplies them)")
	fs.StringVar(&f.zone, "node-zone", "", "the node's topology.kubernetes.io/zone label (for topology hints)")
	fs.StringVar(&f.clusterCID, "cluster-cidr", strings.Join(d.ClusterCIDRs, ","), "comma list, one CIDR per family: the pod network (empty: no local-traffic detector)")
	fs.StringVar(&f.detectMode, "detect-local-mode", d.DetectLocalMode, "ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix")
	fs.StringVar(&f.bridge, "pod-bridge-interface", "", "the bridge of pods (--detect-local-mode=BridgeInterface)")
	fs.StringVar(&f.ifPrefix, "pod-interface-name-prefix", "", "the interface name prefix of pods (--detect-local-mode=InterfaceNamePrefix)")
	fs.StringVar(&f.podCIDRs, "pod-cidr", "", "comma list: the node's spec.podCIDRs (--detect-local-mode=NodeCIDR), if no Node object supplies them")
	fs.BoolVar(&f.masqAll, "masquerade-all", d.MasqueradeAll, "SNAT all traffic sent to ClusterIPs")
	fs.IntVar(&f.masqBit, "iptables-masquerade-bit", d.MasqueradeBit, "the fwmark bit (0-31) marking packets to SNAT")
	fs.BoolVar(&f.localhost, "iptables-localhost-nodeports", d.LocalhostNodePorts, "accept NodePort connections on 127.0.0.1 (IPv4 iptables mode)")
	fs.StringVar(&f.npAddrs, "nodeport-addresses", "", "comma list of CIDRs, or primary: the node addresses that accept NodePorts (empty: all, or primary in nftables mode)")
	fs.BoolVar(&f.random, "random-fully", d.RandomFully, "host fact: iptables supports --random-fully (iptables >= 1.6.2)")
	fs.BoolVar(&f.nfacct, "nfacct", d.NFAcct, "host fact: the kernel has nfnetlink_acct, so kube-proxy adds its nfacct counter matches (off by default with --standalone)")
	fs.BoolVar(&f.liberal, "conntrack-tcp-be-liberal", d.ConntrackTCPBeLiberal, "host fact: net.netfilter.nf_conntrack_tcp_be_liberal is set (no INVALID drop rule)")
	fs.StringVar(&f.ipvsSched, "ipvs-scheduler", d.IPVSScheduler, "IPVS scheduler: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq or mh")
	fs.BoolVar(&f.ipvsARP, "ipvs-strict-arp", d.IPVSStrictARP, "IPVS: set arp_ignore=1 and arp_announce=2")
	fs.StringVar(&f.ipvsExcl, "ipvs-exclude-cidrs", "", "IPVS: comma list of CIDRs whose virtual servers are left alone")
	fs.StringVar(&f.svcCIDRs, "service-cidrs", strings.Join(d.ServiceCIDRs, ","), "nftables: the ServiceCIDRs (ServiceCIDR objects in the input override this)")
	fs.StringVar(&f.gates, "feature-gates", "", "kube-proxy feature gates, e.g. AllowServiceExternalIPs=false")
	return f
}

func (f *nodeFlags) set(name string) bool { return f.fs.Changed(name) }

// load reads the input files.
func (f *nodeFlags) load(stdin io.Reader, stderr io.Writer) (*compiler.Snapshot, error) {
	if len(f.files) == 0 {
		return nil, usageErrorf("no input: use -f FILE, -f DIR or -f - for stdin")
	}
	srcs, err := compiler.ReadSources(f.files, stdin)
	if err != nil {
		return nil, inputError(err)
	}
	return loadSources(srcs, stderr)
}

// loadNode reads the input files and resolves the node context from
// them (load, then options): what the commands that take -f start with.
func (f *nodeFlags) loadNode(cmd *cobra.Command) (*compiler.Snapshot, compiler.Options, error) {
	snap, err := f.load(cmd.InOrStdin(), cmd.ErrOrStderr())
	if err != nil {
		return nil, compiler.Options{}, err
	}
	opts, err := f.options(snap)
	if err != nil {
		return nil, compiler.Options{}, err
	}
	return snap, opts, nil
}

// options resolves the node context: defaults, then the --config file,
// then the Node object of the input, then flags.
func (f *nodeFlags) options(snap *compiler.Snapshot) (compiler.Options, error) {
	o := compiler.DefaultOptions()
	if f.set("proxy-mode") {
		// The file's mode-specific sections depend on the mode in force.
		o.Mode = compiler.Mode(f.mode)
	}
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return o, usageErrorf("--config: %w", err)
		}
		if err := compiler.ApplyKubeProxyConfiguration(f.config, data, &o, f.set); err != nil {
			return o, usageErrorf("--config: %w", err)
		}
	}
	if f.set("proxy-mode") || f.config == "" {
		o.Mode = compiler.Mode(f.mode)
	}
	o.Family = compiler.Family(f.family)
	switch strings.ToLower(f.family) {
	case "ipv4", "4":
		o.Family = compiler.IPv4
	case "ipv6", "6":
		o.Family = compiler.IPv6
	}
	if f.set("hostname-override") || f.config == "" {
		o.NodeName = strings.ToLower(strings.TrimSpace(f.hostname))
	}
	for _, s := range splitComma(f.nodeIPs) {
		ip, ok := compiler.ParseIPSloppy(s)
		if !ok {
			return o, usageErrorf("--node-ip: invalid IP address %q", s)
		}
		o.NodeIPs = append(o.NodeIPs, ip)
	}
	o.NodeZone = f.zone
	if f.set("pod-cidr") {
		o.PodCIDRs = splitComma(f.podCIDRs)
	}
	if snap != nil {
		compiler.ApplyNode(snap, &o, f.set)
	}
	type override struct {
		flag  string
		apply func()
	}
	for _, ov := range []override{
		{"cluster-cidr", func() { o.ClusterCIDRs = splitComma(f.clusterCID) }},
		{"detect-local-mode", func() { o.DetectLocalMode = f.detectMode }},
		{"pod-bridge-interface", func() { o.BridgeInterface = f.bridge }},
		{"pod-interface-name-prefix", func() { o.InterfaceNamePrefix = f.ifPrefix }},
		{"masquerade-all", func() { o.MasqueradeAll = f.masqAll }},
		{"iptables-masquerade-bit", func() { o.MasqueradeBit = f.masqBit }},
		{"iptables-localhost-nodeports", func() { o.LocalhostNodePorts = f.localhost }},
		{"nodeport-addresses", func() { o.NodePortAddresses = splitComma(f.npAddrs) }},
		{"random-fully", func() { o.RandomFully = f.random }},
		{"nfacct", func() { o.NFAcct = f.nfacct }},
		{"conntrack-tcp-be-liberal", func() { o.ConntrackTCPBeLiberal = f.liberal }},
		{"ipvs-scheduler", func() { o.IPVSScheduler = f.ipvsSched }},
		{"ipvs-strict-arp", func() { o.IPVSStrictARP = f.ipvsARP }},
		{"ipvs-exclude-cidrs", func() { o.IPVSExcludeCIDRs = splitComma(f.ipvsExcl) }},
		{"service-cidrs", func() { o.ServiceCIDRs = splitComma(f.svcCIDRs) }},
	} {
		if f.set(ov.flag) {
			ov.apply()
		}
	}
	// ServiceCIDR objects replace the flag, but a bad value is still refused.
	for _, c := range splitComma(f.svcCIDRs) {
		if _, ok := compiler.ParseCIDRSloppy(c); !ok {
			return o, usageErrorf("--service-cidrs: invalid CIDR %q", c)
		}
	}
	if snap != nil && len(snap.ServiceCIDRs) > 0 {
		o.ServiceCIDRs = compiler.SnapshotServiceCIDRs(snap)
	}
	if err := applyGates(&o, f.gates); err != nil {
		return o, err
	}
	if err := o.Check(); err != nil {
		return o, usageErrorf("%w", err)
	}
	return o, nil
}

func applyGates(o *compiler.Options, gates string) error {
	for _, g := range splitComma(gates) {
		k, v, ok := strings.Cut(g, "=")
		if !ok || (v != "true" && v != "false") {
			return usageErrorf("--feature-gates: %q: expected Name=true or Name=false", g)
		}
		switch k {
		case "AllowServiceExternalIPs":
			o.AllowServiceExternalIPs = v == "true"
		case "PreferSameTrafficDistribution":
			if v != "true" {
				return usageErrorf("--feature-gates: PreferSameTrafficDistribution is GA and locked to true in kube-proxy v1.36")
			}
		default:
			return usageErrorf("--feature-gates: unrecognized feature gate %q (kubeproxyc knows AllowServiceExternalIPs and PreferSameTrafficDistribution)", k)
		}
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
