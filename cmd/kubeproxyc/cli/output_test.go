package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOutputFiles: both writers leave a file only when the producer
// succeeds, whole, with mode 0644 and no temporary file beside it; a
// failing producer leaves the previous file as it was.
func TestOutputFiles(t *testing.T) {
	big := strings.Repeat("-A KUBE-SERVICES -j ACCEPT\n", 3*outputBufferSize/27)
	for _, tc := range []struct {
		name  string
		write func(path string, stdout io.Writer, produce func(io.Writer) error) error
	}{{"writeOutput", writeOutput}, {"streamOutput", streamOutput}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rules.txt")
			if err := tc.write(path, nil, func(w io.Writer) error {
				_, err := io.WriteString(w, big)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			err := tc.write(path, nil, func(w io.Writer) error {
				io.WriteString(w, "half a ruleset")
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("failing producer: got %v, want %v", err, boom)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != big {
				t.Errorf("file holds %d bytes, want the %d of the successful run", len(got), len(big))
			}
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"rules.txt"}, names); diff != "" {
				t.Errorf("directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutputStdout: writeOutput holds stdout until the producer succeeds;
// streamOutput passes the output through whole, in few large writes.
func TestOutputStdout(t *testing.T) {
	big := strings.Repeat("x", 3*outputBufferSize+5)
	var held bytes.Buffer
	err := writeOutput("-", &held, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	})
	if err == nil || held.Len() != 0 {
		t.Errorf("writeOutput with a failing producer: err %v, stdout %q", err, held.String())
	}
	var sw countingWriter
	if err := streamOutput("", &sw, func(w io.Writer) error {
		for i := 0; i < len(big); i += 1000 {
			if _, err := io.WriteString(w, big[i:min(i+1000, len(big))]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if sw.buf.String() != big {
		t.Errorf("stdout got %d bytes, want %d", sw.buf.Len(), len(big))
	}
	if want := len(big)/outputBufferSize + 1; sw.writes > want {
		t.Errorf("%d writes to stdout, want at most %d", sw.writes, want)
	}
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.buf.Write(p)
}
