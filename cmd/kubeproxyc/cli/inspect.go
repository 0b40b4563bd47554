package cli

import (
	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/tools"
)

// NewCmdInspect returns the inspect command.
func NewCmdInspect() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect -f FILE...",
		Short: "Describe each service port on the node, and compare the proxy modes' cost",
		Long: `inspect prints one table per service port: its type and traffic policies,
the addresses it is reached at, the chains (sets, maps, virtual servers) of
the proxy mode that serve it, how many rules they hold, and every endpoint
with whether this node uses it (for cluster-IP traffic, external traffic or
both) and, if not, why not: not ready, terminating while others are ready,
another zone or node by topology hints, or not local under a Local policy.

Then it compares the three proxy modes for this node: rules, set elements,
virtual and real servers, the size of the program, and how many rules the
first packet of a connection is evaluated against in the worst case and on
average over every service address (traced as explain does, from a pod,
another host and the node). iptables scans KUBE-SERVICES linearly, so its
worst case grows with the number of services; nftables dispatches through
verdict maps.`,
		Example: `  kubeproxyc inspect -f examples/shop.yaml
  kubectl get svc,endpointslices -A -o yaml | kubeproxyc inspect -f - --hostname-override node1`,
		Args: cobra.NoArgs,
	}
	nf := addNodeFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		snap, opts, err := nf.loadNode(cmd)
		if err != nil {
			return err
		}
		ins, err := tools.Inspect(snap, opts)
		if err != nil {
			return usageErrorf("%w", err)
		}
		return ins.WriteText(cmd.OutOrStdout())
	}
	return cmd
}
