package cli

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

// addCompletions registers shell completions for the flags with a fixed
// set of values, on every command that has them, and for graph's
// --service (the Services of the -f input). Cobra's own "completion"
// command writes the bash, zsh, fish and PowerShell scripts.
func addCompletions(root *cobra.Command) {
	fixed := map[string][]string{
		"proxy-mode":        {"iptables", "ipvs", "nftables"},
		"ip-family":         {"IPv4", "IPv6"},
		"detect-local-mode": {"ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix"},
		"ipvs-scheduler":    {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"},
	}
	formats := map[string][]string{
		"diff":    {"text", "markdown", "json"},
		"explain": {"text", "json"},
		"lint":    {"text", "json"},
		"graph":   {"dot", "svg"},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range fixed {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if values, ok := formats[c.Name()]; ok && c.Flags().Lookup("format") != nil {
			_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
		if c.Flags().Lookup("service") != nil {
			_ = c.RegisterFlagCompletionFunc("service", completeServices)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeServices lists "namespace/name" of the Services in the -f input.
func completeServices(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	files, err := cmd.Flags().GetStringArray("filename")
	if err != nil || len(files) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	srcs, err := compiler.ReadSources(files, nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	snap, _ := compiler.Load(srcs)
	if snap == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range snap.Services {
		if name := s.Obj.Namespace + "/" + s.Obj.Name; strings.HasPrefix(name, prefix) && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
