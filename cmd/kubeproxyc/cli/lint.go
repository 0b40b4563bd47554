package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/tools"
)

// NewCmdLint returns the lint command.
func NewCmdLint() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "lint -f FILE...",
		Short: "Find objects that compile but are probably not what was meant",
		Long: `lint checks Services and EndpointSlices for what compiles but is probably a
mistake, or what kube-proxy ignores: slices for no Service, slice ports that
match no Service port, Services without usable endpoints, Local traffic
policies without an endpoint on this node, deprecated externalIPs, a source
range of 0.0.0.0/0, node port and cluster IP collisions, load-balancer
ingresses, Services and slices kube-proxy skips, and a Service count at
which iptables mode is known to slow down.

Every finding has a stable ID (KPC001, ...) documented with a bad and a good
example in docs/lint.md. Exit status 1 when a finding is an error.`,
		Example: `  kubeproxyc lint -f examples/shop.yaml
  kubeproxyc lint -f manifests/ --format json`,
		Args: cobra.NoArgs,
	}
	nf := addNodeFlags(cmd, true)
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if format != "text" && format != "json" {
			return usageErrorf("--format: unsupported value %q: must be text or json", format)
		}
		snap, opts, err := nf.loadNode(cmd)
		if err != nil {
			return err
		}
		fs := tools.Lint(snap, opts)
		if format == "json" {
			err = tools.WriteLintJSON(cmd.OutOrStdout(), fs)
		} else {
			err = tools.WriteLintText(cmd.OutOrStdout(), fs)
		}
		if err != nil {
			return err
		}
		if errs, _, _ := tools.LintSummary(fs); errs > 0 {
			return &exitError{code: ExitBadInput, err: errors.New("")}
		}
		return nil
	}
	return cmd
}
