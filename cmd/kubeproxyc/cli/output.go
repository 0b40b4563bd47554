package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// outputBufferSize is the write buffer between a renderer and its file or
// stdout: large enough that a big ruleset goes out in few system calls.
const outputBufferSize = 256 << 10

// writeOutput writes what produce writes to path atomically (a temporary
// file beside it, renamed on success), or to stdout when path is empty or
// "-". On error nothing is written: for stdout the output is held until
// produce succeeds. Use it for producers that can fail half-way (graph's
// call to Graphviz); streamOutput does not hold the output.
func writeOutput(path string, stdout io.Writer, produce func(w io.Writer) error) error {
	if path != "" && path != "-" {
		return writeFileAtomicFunc(path, produce)
	}
	var buf bytes.Buffer
	if err := produce(&buf); err != nil {
		return err
	}
	_, err := stdout.Write(buf.Bytes())
	return err
}

// streamOutput is writeOutput for producers that fail only when writing
// fails (the renderers, whose input was checked before): the output
// streams through a buffer into the temporary file or to stdout, and is
// never held whole in memory. A file still appears only when complete.
func streamOutput(path string, stdout io.Writer, produce func(w io.Writer) error) error {
	if path != "" && path != "-" {
		return writeFileAtomicFunc(path, produce)
	}
	bw := bufio.NewWriterSize(stdout, outputBufferSize)
	if err := produce(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// writeFileAtomic writes data to a temporary file in path's directory and
// renames it over path.
func writeFileAtomic(path string, data []byte) error {
	return writeFileAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomicFunc streams what produce writes into a temporary file in
// path's directory and renames it over path when produce succeeds; on any
// error the temporary file is removed and path is left as it was.
func writeFileAtomicFunc(path string, produce func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	bw := bufio.NewWriterSize(tmp, outputBufferSize)
	if err := produce(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
