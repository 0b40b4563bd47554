// Command kubeproxyc compiles Kubernetes Services and EndpointSlices into
// the packet-filter rules kube-proxy would program on a node.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/kubeproxyc/kubeproxyc/cmd/kubeproxyc/cli"
)

func main() {
	cli.PaceGC()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Execute(ctx, cli.New(), os.Stderr)
	cancel()
	os.Exit(code)
}
