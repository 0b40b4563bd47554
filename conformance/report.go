package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/kubeproxyc/kubeproxyc/cmd/kubeproxyc/cli"
	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/conformance/gen"
)

// UnifiedDiff returns a unified diff from kube-proxy's output (want) to
// kubeproxyc's (got), with three lines of context.
func UnifiedDiff(want, got []byte, wantName, gotName string) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(want)),
		B:        difflib.SplitLines(string(got)),
		FromFile: wantName,
		ToFile:   gotName,
		Context:  3,
	})
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)", err)
	}
	return d
}

// goldenName is the golden file name of a mode and family.
func goldenName(mode string, fam compiler.Family) string {
	return mode + "-" + strings.ToLower(string(fam)) + ".golden"
}

// Failure is a shrunk failing case, ready to become a golden case.
type Failure struct {
	Seed    uint64
	Mode    string
	Family  compiler.Family
	Case    *gen.Case
	Outcome Outcome
	// CLI is what "kubeproxyc render" prints for the shrunk case with its
	// flags line, or the error; it must equal Outcome.Got, or the flags
	// line does not describe the node the comparison used.
	CLI    []byte
	CLIErr error
	// Flaky is set when the shrunk case did not fail again; Case is then
	// the unshrunk one.
	Flaky bool
}

// NewFailure shrinks c (which fails for mode m and family fam with
// outcome o) to a small case that fails the same way.
func NewFailure(c *gen.Case, m Mode, fam compiler.Family, o Outcome, maxTries int) *Failure {
	fails := func(cand *gen.Case) bool {
		in, err := Load(cand.YAML(), cand.Node)
		if err != nil {
			return false
		}
		n := Compare(m, fam, in)
		return n.Failure == o.Failure && (o.Err == nil || errorClass(n.Err) == errorClass(o.Err))
	}
	small := gen.Shrink(c, fails, maxTries)
	f := &Failure{Seed: c.Seed, Mode: m.Name, Family: fam, Case: small}
	if in, err := Load(small.YAML(), small.Node); err == nil {
		f.Outcome = Compare(m, fam, in)
	}
	if f.Outcome.Failure != o.Failure {
		// The shrunk case passed when run again: one side is not
		// deterministic on it. Report the whole case.
		f.Case, f.Outcome, f.Flaky = c, o, true
	}
	f.CLI, f.CLIErr = runCLI(f.Case.YAML(), m.Name, fam, f.Case.Node.Args())
	return f
}

// errorClass is an error's text without positions and numbers, so that a
// shrunk case keeps failing with the same error, not just any error.
func errorClass(err error) string {
	if err == nil {
		return ""
	}
	return digits.ReplaceAllString(err.Error(), "N")
}

var digits = regexp.MustCompile(`[0-9]+`)

// runCLI runs "kubeproxyc render" in-process on stdin.
func runCLI(input []byte, mode string, fam compiler.Family, flags []string) ([]byte, error) {
	cmd := cli.New()
	var out, errb bytes.Buffer
	cmd.SetArgs(append([]string{"render", "-f", "-", "--proxy-mode", mode, "--ip-family", string(fam)}, flags...))
	cmd.SetIn(bytes.NewReader(input))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if code := cli.Execute(context.Background(), cmd, &errb); code != 0 {
		return nil, fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Report is the human-readable account of the failure.
func (f *Failure) Report() string {
	var b strings.Builder
	o := f.Outcome
	fmt.Fprintf(&b, "seed %d, --proxy-mode %s --ip-family %s: %s\n", f.Seed, f.Mode, f.Family, o.Failure)
	fmt.Fprintf(&b, "reproduce: go test -run 'TestDifferential' -first-seed %d -seeds 1 (in conformance/)\n", f.Seed)
	if f.Flaky {
		b.WriteString("note: the shrunk case did not fail when run again, so kube-proxy or kubeproxyc is not\n" +
			"deterministic on this input (see the determinism rules in docs/testing.md); this is the unshrunk case\n")
	}
	flags := f.Case.Flags()
	if flags == "" {
		flags = "(none)"
	}
	fmt.Fprintf(&b, "flags: %s\n", flags)
	fmt.Fprintf(&b, "input.yaml:\n%s", indent(clip(f.Case.YAML(), 150)))
	switch o.Failure {
	case "differ":
		fmt.Fprintf(&b, "diff (-kube-proxy +kubeproxyc):\n%s", clip([]byte(UnifiedDiff(o.Want, o.Got, "kube-proxy", "kubeproxyc")), 300))
	default:
		fmt.Fprintf(&b, "error: %v\n", o.Err)
	}
	switch {
	case f.CLIErr != nil && o.Failure != "kubeproxyc-error":
		fmt.Fprintf(&b, "note: kubeproxyc render with these flags fails: %v\n", f.CLIErr)
	case f.CLIErr == nil && !bytes.Equal(f.CLI, o.Got) && o.Failure == "differ":
		fmt.Fprintf(&b, "note: kubeproxyc render with these flags prints something else than the compiler path compared here:\n%s",
			UnifiedDiff(o.Got, f.CLI, "compiler", "render"))
	}
	return b.String()
}

// clip keeps the first max lines of a long text (the case directory has
// the whole input).
func clip(b []byte, max int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) <= max {
		return b
	}
	out := bytes.Join(lines[:max], nil)
	return append(out, fmt.Sprintf("... %d more lines\n", len(lines)-max)...)
}

func indent(b []byte) string {
	var s strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			s.WriteString("    " + l)
		}
	}
	if !strings.HasSuffix(s.String(), "\n") {
		s.WriteByte('\n')
	}
	return s.String()
}

// WriteCase writes the shrunk case as a golden case directory: input.yaml,
// flags and kube-proxy's output as <mode>-<family>.golden. Copied to
// testdata/cases/<name>/ it is a regression test.
func (f *Failure) WriteCase(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"input.yaml": f.Case.YAML(),
		"flags":      []byte(f.Case.Flags() + "\n"),
	}
	if f.Outcome.Want != nil {
		files[goldenName(f.Mode, f.Family)] = f.Outcome.Want
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing the failing case: %w", err)
		}
	}
	return nil
}
