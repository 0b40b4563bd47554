package compiler

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	kpconfig "github.com/kubeproxyc/kubeproxyc/compiler/kpconfig/v1alpha1"
)

// ApplyKubeProxyConfiguration reads a kubeproxy.config.k8s.io/v1alpha1
// KubeProxyConfiguration and sets the options it specifies, except those
// the user gave as flags (set reports those: flags override the file).
func ApplyKubeProxyConfiguration(name string, data []byte, opts *Options, set func(flag string) bool) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if head.Kind != "KubeProxyConfiguration" || head.APIVersion != "kubeproxy.config.k8s.io/v1alpha1" {
		return fmt.Errorf("%s: expected apiVersion kubeproxy.config.k8s.io/v1alpha1, kind KubeProxyConfiguration; found %q %q", name, head.APIVersion, head.Kind)
	}
	var c kpconfig.KubeProxyConfiguration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	apply := func(flag string, ok bool, f func()) {
		if ok && !set(flag) {
			f()
		}
	}
	apply("proxy-mode", c.Mode != "", func() { opts.Mode = Mode(c.Mode) })
	apply("hostname-override", c.HostnameOverride != "", func() { opts.NodeName = strings.ToLower(strings.TrimSpace(c.HostnameOverride)) })
	apply("cluster-cidr", c.ClusterCIDR != "", func() { opts.ClusterCIDRs = splitList(c.ClusterCIDR) })
	apply("detect-local-mode", c.DetectLocalMode != "", func() { opts.DetectLocalMode = string(c.DetectLocalMode) })
	apply("pod-bridge-interface", c.DetectLocal.BridgeInterface != "", func() { opts.BridgeInterface = c.DetectLocal.BridgeInterface })
	apply("pod-interface-name-prefix", c.DetectLocal.InterfaceNamePrefix != "", func() { opts.InterfaceNamePrefix = c.DetectLocal.InterfaceNamePrefix })
	apply("nodeport-addresses", len(c.NodePortAddresses) > 0, func() { opts.NodePortAddresses = c.NodePortAddresses })
	apply("ipvs-scheduler", c.IPVS.Scheduler != "", func() { opts.IPVSScheduler = c.IPVS.Scheduler })
	apply("ipvs-strict-arp", c.IPVS.StrictARP, func() { opts.IPVSStrictARP = true })
	apply("ipvs-exclude-cidrs", len(c.IPVS.ExcludeCIDRs) > 0, func() { opts.IPVSExcludeCIDRs = c.IPVS.ExcludeCIDRs })
	apply("conntrack-tcp-be-liberal", c.Conntrack.TCPBeLiberal, func() { opts.ConntrackTCPBeLiberal = true })
	apply("iptables-localhost-nodeports", c.IPTables.LocalhostNodePorts != nil, func() { opts.LocalhostNodePorts = *c.IPTables.LocalhostNodePorts })
	// masqueradeAll and masqueradeBit live in the section of the mode.
	bit, all := c.IPTables.MasqueradeBit, c.IPTables.MasqueradeAll
	if opts.Mode == ModeNFTables {
		bit, all = c.NFTables.MasqueradeBit, c.NFTables.MasqueradeAll
	}
	apply("iptables-masquerade-bit", bit != nil, func() { opts.MasqueradeBit = int(*bit) })
	apply("masquerade-all", all, func() { opts.MasqueradeAll = true })
	if v, ok := c.FeatureGates["AllowServiceExternalIPs"]; ok && !set("feature-gates") {
		opts.AllowServiceExternalIPs = v
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
