package compiler

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStringSlice checks the slices cut from one array: empty ones are
// not nil, and appending to one leaves its neighbours alone.
func TestStringSlice(t *testing.T) {
	var d fdecoder
	if s := d.stringSlice(0); s == nil || len(s) != 0 {
		t.Errorf("stringSlice(0) = %#v, want an empty non-nil slice", s)
	}
	a, b := d.stringSlice(2), d.stringSlice(1)
	a[0], a[1], b[0] = "a0", "a1", "b0"
	a = append(a, "a2")
	if diff := cmp.Diff([]string{"b0"}, b); diff != "" {
		t.Errorf("append to a neighbour changed b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a0", "a1", "a2"}, a); diff != "" {
		t.Errorf("a (-want +got):\n%s", diff)
	}
	if big := d.stringSlice(strSlab); len(big) != strSlab || cap(big) != strSlab {
		t.Errorf("stringSlice(%d): len %d cap %d", strSlab, len(big), cap(big))
	}
	for range strSlab { // across arrays
		if s := d.stringSlice(3); len(s) != 3 || cap(s) != 3 {
			t.Fatalf("stringSlice(3): len %d cap %d", len(s), cap(s))
		}
	}
}

// TestDecodersBuiltConcurrently decodes on two goroutines with no decoder
// built yet: one must not call the other's half-built decoder (the
// indirection a type's decoder has while it is being built).
func TestDecodersBuiltConcurrently(t *testing.T) {
	const svc = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"ns","labels":{"k":"v"}},` +
		`"spec":{"clusterIP":"10.0.0.1","ports":[{"name":"p","port":80,"targetPort":"http"}],"selector":{"app":"a"}}}`
	for round := range 200 {
		decoders, ready = sync.Map{}, sync.Map{}
		var start, done sync.WaitGroup
		start.Add(1)
		got := make([]any, 2)
		for g := range got {
			done.Add(1)
			go func() {
				defer done.Done()
				var tree ftree
				if !parseJSONTree(&tree, []byte(svc)) {
					return
				}
				start.Wait()
				got[g] = decodeFast(&fdecoder{arena: &stringArena{}}, &tree)
			}()
		}
		start.Done()
		done.Wait()
		if got[0] == nil || got[1] == nil {
			t.Fatalf("round %d: a goroutine did not decode the Service: %v", round, got)
		}
		if diff := cmp.Diff(got[0], got[1]); diff != "" {
			t.Fatalf("round %d: the goroutines decoded different Services (-first +second):\n%s", round, diff)
		}
	}
}
