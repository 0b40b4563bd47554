// Package cli holds kubeproxyc's cobra command tree: one file per command.
// The commands parse flags and call the compiler and render packages; they
// hold no compilation logic of their own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubeproxyc/kubeproxyc/compiler"
)

// Exit codes.
const (
	ExitOK         = 0
	ExitBadInput   = 1 // the input is wrong (also: diff found differences)
	ExitBadUsage   = 2 // the command line is wrong
	exitCodeUnused = -1
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is an error in the command line (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitBadUsage, err: fmt.Errorf(format, args...)}
}

// inputError marks an error in the input (exit 1).
func inputError(err error) error {
	return &exitError{code: ExitBadInput, err: err}
}

// New returns the root command.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeproxyc",
		Short: "Compile Kubernetes Services into the rules kube-proxy programs on a node",
		Long: `kubeproxyc reads Service, EndpointSlice, Endpoints and Node objects and writes,
byte for byte, what kube-proxy v1.36 would program on one node: an
iptables-restore payload, IPVS state, or an nftables ruleset.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErrorf("%w", err)
	})
	root.AddCommand(
		NewCmdRender(),
		NewCmdDiff(),
		NewCmdExplain(),
		NewCmdInspect(),
		NewCmdLint(),
		NewCmdGraph(),
		NewCmdVersion(),
	)
	addCompletions(root)
	return root
}

// Execute runs the command and returns the process exit code. Errors are
// printed to stderr, one per line, prefixed with "kubeproxyc: ".
func Execute(ctx context.Context, cmd *cobra.Command, stderr io.Writer) int {
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitBadUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	var diags compiler.Errors
	if errors.As(err, &diags) {
		// Input errors go out as they are, one "file:line: ..." per line,
		// the form editors and CI annotations understand.
		fmt.Fprintln(stderr, diags.Error())
		return code
	}
	if err.Error() != "" {
		fmt.Fprintf(stderr, "kubeproxyc: %v\n", err)
	}
	return code
}
