package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// errorsDir holds one directory per kind of bad input: input.yaml (or
// input.json) and stderr.golden, what render prints for it. The paths
// are relative to the project root, where the test runs the command.
const errorsDir = "testdata/errors"

// TestBadInput renders each bad input with -o pointing at an existing
// file: the exit code must be 1, stdout empty, stderr the golden one
// (one positioned line per problem) and the -o file untouched.
func TestBadInput(t *testing.T) {
	t.Chdir("../../..")
	dirs, err := os.ReadDir(errorsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join(errorsDir, d.Name())
			inputs, _ := filepath.Glob(filepath.Join(dir, "input.*"))
			if len(inputs) != 1 {
				t.Fatalf("%s: want one input.yaml or input.json, have %v", dir, inputs)
			}
			target := filepath.Join(t.TempDir(), "out.rules")
			const previous = "previous content\n"
			if err := os.WriteFile(target, []byte(previous), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := runCLI(t, nil, "render", "-f", inputs[0], "-o", target)
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d", code, ExitBadInput)
			}
			if out != "" {
				t.Errorf("stdout is not empty: %q", out)
			}
			if data, err := os.ReadFile(target); err != nil || string(data) != previous {
				t.Errorf("-o target changed: %q, %v", data, err)
			}
			for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
				if !strings.HasPrefix(line, inputs[0]+":") && !strings.HasPrefix(line, "too many errors") {
					t.Errorf("line without the input's position: %q", line)
				}
			}
			golden := filepath.Join(dir, "stderr.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(stderr), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), stderr); diff != "" {
				t.Errorf("stderr differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestErrorsDoc runs every "$ kubeproxyc ..." example of docs/errors.md
// and compares what it prints on stderr with the lines the page shows.
func TestErrorsDoc(t *testing.T) {
	t.Chdir("../../..")
	data, err := os.ReadFile("docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := 0
	blocks := strings.Split(string(data), "```console\n")
	for _, b := range blocks[1:] {
		block, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("unclosed console block: %q", b)
		}
		cmdLine, want, _ := strings.Cut(block, "\n")
		args, ok := strings.CutPrefix(cmdLine, "$ kubeproxyc ")
		if !ok {
			t.Fatalf("console block does not start with $ kubeproxyc: %q", cmdLine)
		}
		examples++
		t.Run(args, func(t *testing.T) {
			_, stderr, _ := runCLI(t, nil, strings.Fields(args)...)
			if diff := cmp.Diff(want, stderr); diff != "" {
				t.Errorf("docs/errors.md shows another output (-doc +real):\n%s", diff)
			}
		})
	}
	if examples == 0 {
		t.Fatal("no examples in docs/errors.md")
	}
}
