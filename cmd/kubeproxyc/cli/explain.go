package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/tools"
)

// NewCmdExplain returns the explain command.
func NewCmdExplain() *cobra.Command {
	var from, to, rules, format string
	cmd := &cobra.Command{
		Use:   "explain -f FILE --from IP[:PORT] --to IP:PORT/PROTO",
		Short: "Trace one packet through the rules, step by step",
		Long: `explain follows the first packet of a connection through the ruleset of the
node (--proxy-mode picks it) the way the kernel would: every rule it matches,
in order, with the object the rule came from; then every way the packet can
end, with its probability (the product of the statistic matches on the way),
the endpoint it is sent to, whether it is masqueraded, ClientIP affinity,
and why a packet is dropped or rejected.

Whether the source is this node, a pod on it or another host decides the
path (OUTPUT or PREROUTING) and the addrtype matches; it is read from the
node flags (--node-ip, the Node object) and the endpoints of the input.

--rules FILE traces an iptables-save dump (or a kube-proxy payload) instead
of compiling; -f is then optional and only names the objects.`,
		Example: `  kubeproxyc explain -f examples/shop.yaml --from 10.244.1.5 --to 10.96.0.10:80/tcp
  kubeproxyc explain -f examples/shop.yaml --from 198.51.100.1 --to 192.168.0.2:30080/tcp
  kubeproxyc explain --rules node1.iptables-save --from 10.244.1.5 --to 10.96.0.53:53/udp`,
		Args: cobra.NoArgs,
	}
	nf := addNodeFlags(cmd, true)
	cmd.Flags().StringVar(&from, "from", "", "source address, IP or IP:PORT")
	cmd.Flags().StringVar(&to, "to", "", "destination, IP:PORT/PROTO (tcp, udp or sctp)")
	cmd.Flags().StringVar(&rules, "rules", "", "trace this iptables-save dump instead of compiling the input")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if format != "text" && format != "json" {
			return usageErrorf("--format: unsupported value %q: must be text or json", format)
		}
		probe, err := tools.ParseProbe(from, to)
		if err != nil {
			return usageErrorf("%w", err)
		}
		var snap *compiler.Snapshot
		if rules == "" || len(nf.files) > 0 {
			if snap, err = nf.load(cmd.InOrStdin(), cmd.ErrOrStderr()); err != nil {
				return err
			}
		}
		opts, err := nf.options(snap)
		if err != nil {
			return err
		}
		ex, err := newExplainer(snap, opts, nf.files, rules)
		if err != nil {
			return err
		}
		x := ex.Explain(probe)
		if format == "json" {
			return x.WriteJSON(cmd.OutOrStdout())
		}
		return x.WriteText(cmd.OutOrStdout())
	}
	return cmd
}

// newExplainer compiles the input (with kube-proxy's jumps from the
// built-in chains, which explain needs) or reads the --rules dump.
func newExplainer(snap *compiler.Snapshot, opts compiler.Options, files []string, rules string) (*tools.Explainer, error) {
	name := "the input"
	if len(files) == 1 {
		name = files[0]
	}
	if rules != "" {
		data, err := os.ReadFile(rules)
		if err != nil {
			return nil, usageErrorf("--rules: %w", err)
		}
		var model *compiler.Model
		if snap != nil {
			model = compiler.BuildModel(snap, &opts)
		}
		ex, err := tools.NewDumpExplainer(opts, model, rules, data)
		if err != nil {
			return nil, inputError(err)
		}
		return ex, nil
	}
	prog, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: true})
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	ex, err := tools.NewExplainer(prog, name)
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	return ex, nil
}
