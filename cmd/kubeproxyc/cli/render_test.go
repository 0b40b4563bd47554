package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderExitCodesAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(casesDir, "shop", "input.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 70000}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reason     string
		args       []string
		wantCode   int
		wantStdout bool
		wantErr    string
		wantFile   bool
	}{
		{"a good input renders", []string{"render", "-f", good}, ExitOK, true, "", false},
		{"bad input exits 1 with a positioned error", []string{"render", "-f", bad}, ExitBadInput, false, "bad.yaml:6: Service default/x: spec.ports[0].port: Invalid value: 70000", false},
		{"an unknown flag exits 2", []string{"render", "--no-such-flag"}, ExitBadUsage, false, "unknown flag", false},
		{"no input exits 2", []string{"render"}, ExitBadUsage, false, "no input", false},
		{"a bad mode exits 2", []string{"render", "-f", good, "--proxy-mode", "userspace"}, ExitBadUsage, false, "--proxy-mode", false},
		{"-o writes the file", []string{"render", "-f", good, "-o", filepath.Join(dir, "out.txt")}, ExitOK, false, "", true},
		{"-o with bad input leaves no file", []string{"render", "-f", bad, "-o", filepath.Join(dir, "none.txt")}, ExitBadInput, false, "Invalid value", false},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if (out != "") != tc.wantStdout {
				t.Errorf("stdout empty = %v, want %v", out == "", !tc.wantStdout)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.wantErr)
			}
			for i, a := range tc.args {
				if a == "-o" {
					_, err := os.Stat(tc.args[i+1])
					if exists := err == nil; exists != tc.wantFile {
						t.Errorf("output file exists = %v, want %v", exists, tc.wantFile)
					}
				}
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
