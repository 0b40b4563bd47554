package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent reads the GOGC setting without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestPaceGC: the starting heap's setting holds until the first
// collection, which hands back to the setting before it; a GOGC or
// GOMEMLIMIT in the environment turns the pacing off.
func TestPaceGC(t *testing.T) {
	before := gcPercent()
	defer debug.SetGCPercent(before)

	PaceGC()
	if got, want := gcPercent(), 100*startingHeap/(4<<20); got != want {
		t.Fatalf("after PaceGC: GOGC %d, want %d", got, want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != before {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections, want %d back", gcPercent(), before)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			PaceGC()
			if got := gcPercent(); got != before {
				t.Errorf("with %s set: GOGC %d, want %d (unchanged)", env, got, before)
			}
		})
	}
}
