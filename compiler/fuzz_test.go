package compiler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// addSeeds adds every golden case's input and the shipped examples to f.
func addSeeds(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob("../testdata/cases/*/input.yaml")
	ex, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range append(files, ex...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// watchdog crashes the fuzzing process if one input takes longer than
// limit, so that the fuzzer records it: Go's fuzzer has no time limit per
// input, and a hang would otherwise go unreported.
func watchdog(limit time.Duration) (stop func() bool) {
	t := time.AfterFunc(limit, func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		panic(fmt.Sprintf("one input took longer than %v:\n%s", limit, buf[:n]))
	})
	return t.Stop
}

// FuzzLoad feeds arbitrary bytes to Load: it must not panic or hang, and
// every diagnostic must be positioned, on one line, and sorted.
func FuzzLoad(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(10 * time.Second)()
		snap, err := Load([]Source{{Name: "in.yaml", Data: data}})
		if snap == nil {
			t.Fatal("Load returned a nil snapshot")
		}
		checkDiagnostics(t, snap.Warnings)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error is %T, not Errors: %v", err, err)
			}
			if len(errs) == 0 {
				t.Fatal("Load returned an empty Errors")
			}
			checkDiagnostics(t, errs)
		}
	})
}

func checkDiagnostics(t *testing.T, ds []Diagnostic) {
	t.Helper()
	for i, d := range ds {
		if d.Pos.File != "in.yaml" || d.Pos.Line < 1 {
			t.Errorf("diagnostic without a position: %q", d.String())
		}
		if s := d.String(); strings.ContainsAny(s, "\n\r\x00") {
			t.Errorf("diagnostic spans lines or holds NUL: %q", s)
		}
		if i > 0 && ds[i-1].Pos.Line > d.Pos.Line {
			t.Errorf("diagnostics not sorted: %q before %q", ds[i-1].String(), d.String())
		}
	}
}

// FuzzLoadStream checks that reading List documents item by item gives
// what reading them whole gives: the same objects and diagnostics.
func FuzzLoadStream(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n-\n- &x {apiVersion: v1, kind: Service, metadata: {name: b}}\n- *x\n"))
	f.Add([]byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}],"kind":"List"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(10 * time.Second)()
		src := []Source{{Name: "in.yaml", Data: data}}
		s1, err1 := load(src, true)
		s2, err2 := load(src, false)
		if diff := cmp.Diff(s2, s1); diff != "" {
			t.Errorf("snapshot read item by item differs from whole (-whole +stream):\n%s", diff)
		}
		if diff := cmp.Diff(errText(err2), errText(err1)); diff != "" {
			t.Errorf("errors read item by item differ from whole (-whole +stream):\n%s", diff)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
