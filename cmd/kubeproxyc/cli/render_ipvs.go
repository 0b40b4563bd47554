package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// renderIPVS writes an IPVS-mode program: one artifact (--emit) to stdout
// or a file, the combined four-section form to stdout, or with -o DIR the
// four artifacts and apply.sh into DIR.
func renderIPVS(stdout io.Writer, prog *compiler.Program, emit, out string) error {
	if prog.IPVS == nil {
		return usageErrorf("--emit %s: only for --proxy-mode ipvs", emit)
	}
	p := prog.IPVS
	if emit != "" {
		var buf bytes.Buffer
		ok, err := render.IPVSArtifact(&buf, p, emit)
		if err != nil {
			return err
		}
		if !ok {
			return usageErrorf("--emit: unsupported value %q: must be %s", emit, strings.Join(render.IPVSArtifacts, ", "))
		}
		return writeOutput(out, stdout, func(w io.Writer) error {
			_, err := w.Write(buf.Bytes())
			return err
		})
	}
	if out == "" || out == "-" {
		return streamOutput(out, stdout, func(w io.Writer) error { return render.IPVSState(w, p) })
	}
	// Everything is rendered before the first file is written, so an error
	// leaves the directory as it was.
	files := map[string][]byte{}
	for _, a := range render.IPVSArtifacts {
		var buf bytes.Buffer
		if _, err := render.IPVSArtifact(&buf, p, a); err != nil {
			return err
		}
		files[render.IPVSFiles[a]] = buf.Bytes()
	}
	var script bytes.Buffer
	if err := render.IPVSApplyScript(&script, p); err != nil {
		return err
	}
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return usageErrorf("-o %s: in ipvs mode -o names a directory (or use --emit for one artifact)", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("-o %s: %w", out, err)
	}
	for _, a := range render.IPVSArtifacts {
		name := render.IPVSFiles[a]
		if err := writeFileAtomic(filepath.Join(out, name), files[name]); err != nil {
			return err
		}
	}
	path := filepath.Join(out, render.IPVSApplyFile)
	if err := writeFileAtomic(path, script.Bytes()); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
