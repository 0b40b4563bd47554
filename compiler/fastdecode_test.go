package compiler

import (
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
