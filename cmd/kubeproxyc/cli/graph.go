package cli

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/tools"
)

// NewCmdGraph returns the graph command.
func NewCmdGraph() *cobra.Command {
	var service, format, out string
	cmd := &cobra.Command{
		Use:   "graph -f FILE --service NS/NAME",
		Short: "Draw the chain graph of one Service (Graphviz DOT or SVG)",
		Long: `graph draws how one Service's traffic flows through the rules of the node's
proxy mode: the shared entry points (KUBE-SERVICES, KUBE-NODEPORTS, the
firewall chains, or nftables' dispatch maps), the Service's own chains
(KUBE-SVC, KUBE-SVL, KUBE-EXT, KUBE-FW, KUBE-SEP; or service-, external-,
firewall-, endpoint- chains; or IPVS virtual servers), and where packets
end: each endpoint with its share of new connections, REJECT or DROP, and
the masquerade mark.

--format dot (the default) writes Graphviz DOT; --format svg runs Graphviz's
dot to render it, which must then be installed.`,
		Example: `  kubeproxyc graph -f examples/shop.yaml --service shop/web > web.dot
  kubeproxyc graph -f examples/shop.yaml --service shop/web --format svg -o web.svg`,
		Args: cobra.NoArgs,
	}
	nf := addNodeFlags(cmd, true)
	cmd.Flags().StringVar(&service, "service", "", "the Service, namespace/name")
	cmd.Flags().StringVar(&format, "format", "dot", "dot or svg (svg needs Graphviz's dot)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (atomically) instead of stdout")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if ns, name, ok := strings.Cut(service, "/"); !ok || ns == "" || name == "" {
			return usageErrorf("--service: want namespace/name, got %q", service)
		}
		if format != "dot" && format != "svg" {
			return usageErrorf("--format: unsupported value %q: must be dot or svg", format)
		}
		snap, opts, err := nf.loadNode(cmd)
		if err != nil {
			return err
		}
		prog, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
		if err != nil {
			return usageErrorf("%w", err)
		}
		g, err := tools.ServiceGraph(prog, service)
		if err != nil {
			return inputError(err)
		}
		return writeOutput(out, cmd.OutOrStdout(), func(w io.Writer) error {
			if format == "dot" {
				return g.WriteDOT(w)
			}
			return renderSVG(cmd, g, w)
		})
	}
	return cmd
}

// renderSVG pipes the DOT text through Graphviz's dot.
func renderSVG(cmd *cobra.Command, g *tools.ChainGraph, w io.Writer) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return usageErrorf("--format svg needs Graphviz's dot, which is not installed; use --format dot")
	}
	var in, stderr bytes.Buffer
	if err := g.WriteDOT(&in); err != nil {
		return err
	}
	c := exec.CommandContext(cmd.Context(), dot, "-Tsvg")
	c.Stdin, c.Stdout, c.Stderr = &in, w, &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("running dot -Tsvg: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
