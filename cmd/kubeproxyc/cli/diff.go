package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/tools"
)

// Exit codes of diff, as diff(1) has them (0 is equal).
const (
	exitDiffDifferent = 1
	exitDiffTrouble   = 2
)

// errDifferent is diff's "the inputs differ": exit 1, nothing more said.
var errDifferent = &exitError{code: exitDiffDifferent, err: errors.New("")}

// NewCmdDiff returns the diff command.
func NewCmdDiff() *cobra.Command {
	var format, oldFlags, newFlags string
	var behaviour bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Compare two rulesets, grouped by service port",
		Long: `diff compares two rulesets and prints the changes grouped by the service port
they belong to: chains, rules, set elements and virtual servers added,
removed or changed. Across proxy modes (or with --behaviour) it compares
behaviour instead: for every address of every service port, the first
packet from a pod, from another host and from the node is traced through
both sides, and differing outcomes (endpoints, probabilities, masquerade,
affinity, REJECT or DROP) are listed.

OLD and NEW are each a manifest file, a directory of manifests, "-" for
stdin, or a rule dump recognised by its content: iptables-save output (or an
iptables-restore payload) or nft list ruleset output. Manifests are compiled
with the node flags (as for render); --old-flags and --new-flags add flags
for one side only, to compare modes or flag sets.

A node's iptables-save dump compares equal to its prediction: the dump is
read into a canonical form that undoes what iptables-save rewrites, only
kube-proxy's chains are compared (and the built-in chains' jumps to them),
and host facts the dump shows (nfacct counters, --random-fully, the
conntrack INVALID drop rule) are taken from it unless given as flags. Rules
of different service ports in a shared chain such as KUBE-SERVICES are not
compared by their relative order: kube-proxy writes them in its map order.

Exit status: 0 equal, 1 different, 2 trouble.`,
		Example: `  kubeproxyc diff before.yaml after.yaml --format markdown
  kubeproxyc diff snapshot.yaml node1-iptables-save.txt --hostname-override node1
  kubeproxyc diff snapshot.yaml snapshot.yaml --new-flags "--masquerade-all"
  kubeproxyc diff snapshot.yaml snapshot.yaml --old-flags "--proxy-mode ipvs" --new-flags "--proxy-mode nftables"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("diff takes two arguments, OLD and NEW; got %d", len(args))
			}
			return nil
		},
	}
	addNodeFlags(cmd, false)
	cmd.Flags().StringVar(&format, "format", "text", "text, markdown or json")
	cmd.Flags().StringVar(&oldFlags, "old-flags", "", "extra node flags for OLD only, e.g. \"--proxy-mode nftables\"")
	cmd.Flags().StringVar(&newFlags, "new-flags", "", "extra node flags for NEW only")
	cmd.Flags().BoolVar(&behaviour, "behaviour", false, "compare what the rulesets do to packets (traced as explain does) instead of their rules; implied when OLD and NEW are of different proxy modes")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rep, err := runDiff(cmd, args, oldFlags, newFlags, behaviour)
		if err != nil {
			return &exitError{code: exitDiffTrouble, err: err}
		}
		w := cmd.OutOrStdout()
		switch format {
		case "text":
			err = rep.WriteText(w)
		case "markdown":
			err = rep.WriteMarkdown(w)
		case "json":
			err = rep.WriteJSON(w)
		default:
			err = fmt.Errorf("--format: unsupported value %q: must be text, markdown or json", format)
		}
		if err != nil {
			return &exitError{code: exitDiffTrouble, err: err}
		}
		if !rep.Equal() {
			return errDifferent
		}
		return nil
	}
	return cmd
}

// runDiff reads, compiles or parses both sides and compares them.
func runDiff(cmd *cobra.Command, args []string, oldFlags, newFlags string, behaviour bool) (*tools.DiffReport, error) {
	if args[0] == "-" && args[1] == "-" {
		return nil, fmt.Errorf("OLD and NEW cannot both be stdin")
	}
	var ins [2]*tools.DiffInput
	for i, a := range args {
		in, err := tools.ReadDiffInput(a, cmd.InOrStdin())
		if err != nil {
			return nil, err
		}
		ins[i] = in
	}
	sideFlags := [2]string{oldFlags, newFlags}
	var sides [2]*diffSide
	var notes []string
	for i, in := range ins {
		side, err := readSide(cmd, in, sideFlags[i], ins[1-i])
		if err != nil {
			return nil, err
		}
		sides[i] = side
		notes = append(notes, side.notes...)
	}
	if sides[0].rules.Mode != sides[1].rules.Mode {
		behaviour = true
		notes = append(notes, fmt.Sprintf("OLD is %s mode and NEW %s mode: their behaviour is compared, not their rules", sides[0].rules.Mode, sides[1].rules.Mode))
	}
	var rep *tools.DiffReport
	if behaviour {
		var bs [2]*tools.BehaviourSide
		for i, side := range sides {
			ex, err := side.explainer()
			if err != nil {
				return nil, err
			}
			bs[i] = &tools.BehaviourSide{Name: side.rules.Name, Explainer: ex}
		}
		rep = tools.BehaviourDiff(bs[0], bs[1])
	} else {
		rep = tools.Diff(sides[0].rules, sides[1].rules)
	}
	rep.Notes = append(notes, rep.Notes...)
	return rep, nil
}

// diffSide is one side of a diff, read.
type diffSide struct {
	rules     *tools.Ruleset
	notes     []string
	explainer func() (*tools.Explainer, error)
}

// readSide parses a dump or compiles manifests.
func readSide(cmd *cobra.Command, in *tools.DiffInput, extra string, other *tools.DiffInput) (*diffSide, error) {
	nf, err := sideNodeFlags(cmd, extra)
	if err != nil {
		return nil, err
	}
	if in.Kind != tools.InputManifests {
		opts, err := nf.options(nil)
		if err != nil {
			return nil, err
		}
		rs, err := tools.DumpRuleset(in, opts.Family)
		if err != nil {
			return nil, err
		}
		return &diffSide{rules: rs, explainer: func() (*tools.Explainer, error) {
			opts, err := nf.options(nil)
			if err != nil {
				return nil, err
			}
			if in.Kind != tools.InputIPTables {
				return nil, fmt.Errorf("%s: tracing a %s is not supported", in.Name, in.Kind)
			}
			return tools.NewDumpExplainer(opts, nil, in.Name, in.Data)
		}}, nil
	}
	snap, err := loadSources(in.Sources, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	opts, err := nf.options(snap)
	if err != nil {
		return nil, err
	}
	var co compiler.CompileOptions
	side := &diffSide{}
	if other.Kind == tools.InputIPTables {
		facts := tools.IPTablesHostFacts(other.Data)
		co.Standalone = facts.Standalone
		for _, f := range []struct {
			flag  string
			value *bool
			opt   *bool
		}{
			{"nfacct", facts.NFAcct, &opts.NFAcct},
			{"random-fully", facts.RandomFully, &opts.RandomFully},
			{"conntrack-tcp-be-liberal", facts.ConntrackTCPBeLiberal, &opts.ConntrackTCPBeLiberal},
		} {
			if f.value != nil && !nf.set(f.flag) && *f.value != *f.opt {
				*f.opt = *f.value
				side.notes = append(side.notes, fmt.Sprintf("%s compiled with --%s=%t, as %s shows", in.Name, f.flag, *f.value, other.Name))
			}
		}
	}
	prog, err := compiler.Compile(snap, opts, co)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s (%s, %s, node %s)", in.Name, opts.Mode, opts.Family, opts.NodeName)
	if side.rules, err = tools.ProgramRuleset(name, prog); err != nil {
		return nil, err
	}
	side.explainer = func() (*tools.Explainer, error) {
		p, err := compiler.Compile(snap, opts, compiler.CompileOptions{Standalone: true})
		if err != nil {
			return nil, err
		}
		return tools.NewExplainer(p, in.Name)
	}
	return side, nil
}

// sideNodeFlags parses the node flags given to the command again, plus
// one side's extra flags, into a fresh flag set.
func sideNodeFlags(cmd *cobra.Command, extra string) (*nodeFlags, error) {
	tmp := &cobra.Command{Use: "side"}
	nf := addNodeFlags(tmp, false)
	var args []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if tmp.Flags().Lookup(f.Name) != nil {
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	toks, err := ir.Tokenize(extra)
	if err != nil {
		return nil, fmt.Errorf("--old-flags/--new-flags: %w", err)
	}
	args = append(args, toks...)
	if err := tmp.Flags().Parse(args); err != nil {
		return nil, fmt.Errorf("--old-flags/--new-flags %q: %w", strings.TrimSpace(extra), err)
	}
	if tmp.Flags().NArg() > 0 {
		return nil, fmt.Errorf("--old-flags/--new-flags %q: unexpected argument %q", extra, tmp.Flags().Arg(0))
	}
	return nf, nil
}

// loadSources loads manifests, printing load warnings to stderr.
func loadSources(srcs []compiler.Source, stderr io.Writer) (*compiler.Snapshot, error) {
	snap, err := compiler.Load(srcs)
	if snap != nil {
		for _, w := range snap.Warnings {
			fmt.Fprintln(stderr, w.String())
		}
	}
	if err != nil {
		return nil, inputError(err)
	}
	return snap, nil
}
