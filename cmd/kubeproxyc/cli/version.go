package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = ""

// KubeProxyVersion is the kube-proxy release whose output kubeproxyc
// reproduces.
const KubeProxyVersion = "v1.36.3"

// NewCmdVersion returns the version command.
func NewCmdVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kubeproxyc's version and the kube-proxy release it reproduces",
		Long:  "version prints kubeproxyc's version and the kube-proxy release whose output it reproduces. The format is not a contract.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := Version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kubeproxyc %s\nkube-proxy %s\n", v, KubeProxyVersion)
			return err
		},
	}
}
