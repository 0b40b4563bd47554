package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// NewCmdRender returns the render command.
func NewCmdRender() *cobra.Command {
	var (
		out        string
		standalone bool
		emit       string
	)
	cmd := &cobra.Command{
		Use:   "render -f FILE...",
		Short: "Write what kube-proxy would program on the node",
		Long: `render compiles the input for one node, one proxy mode and one IP family.

iptables mode writes the payload kube-proxy hands to "iptables-restore --noflush"
on a full sync. With --standalone the payload also declares the built-in chains
and carries the jump rules kube-proxy installs from them, so that
"iptables-restore < rules" on a host without kube-proxy gives a complete ruleset
and can be applied again and again. nftables mode writes kube-proxy's table as
"nft -f" input; with --standalone it first deletes any earlier copy of the
table, so that the file can be applied again and again too.

ipvs mode writes four artifacts: the virtual and real servers (ipvsadm -R
input), the ipsets (ipset restore input), the addresses bound to kube-ipvs0
and the iptables-restore payload. Without --emit and -o they go to stdout in
one stream, each after a "# ..." header line; --emit NAME writes only one;
-o DIR writes each to its own file plus apply.sh, which applies them on a node.`,
		Args: cobra.NoArgs,
	}
	nf := addNodeFlags(cmd, true)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (atomically) instead of stdout; in ipvs mode without --emit, a directory that gets the four artifacts and apply.sh")
	cmd.Flags().BoolVar(&standalone, "standalone", false, "for a host without kube-proxy: iptables: add built-in chains and kube-proxy's jump rules; nftables: replace the table when applied again")
	cmd.Flags().StringVar(&emit, "emit", "", "ipvs: write only this artifact: ipvsadm, ipset, addresses or iptables")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		snap, opts, err := nf.loadNode(cmd)
		if err != nil {
			return err
		}
		if standalone && !nf.set("nfacct") {
			// kube-proxy creates its nfacct counters at start; a host
			// without kube-proxy has none, and iptables-restore rejects
			// rules that name a missing counter.
			opts.NFAcct = false
		}
		prog, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: standalone})
		if err != nil {
			return usageErrorf("%w", err)
		}
		if prog.Options.Mode == compiler.ModeIPVS || emit != "" {
			return renderIPVS(cmd.OutOrStdout(), prog, emit, out)
		}
		return streamOutput(out, cmd.OutOrStdout(), func(w io.Writer) error {
			if prog.Options.Mode == compiler.ModeNFTables {
				if standalone {
					return render.NFTStandalone(w, prog.NFT)
				}
				return render.NFT(w, prog.NFT)
			}
			return render.IPTablesRestore(w, prog.IPTables)
		})
	}
	return cmd
}
