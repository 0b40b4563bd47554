package cli

import (
	"os"
	"runtime"
	"runtime/debug"
)

// startingHeap is the heap kubeproxyc grows to before its first garbage
// collection.
const startingHeap = 64 << 20

// PaceGC lets the heap grow to startingHeap before the first collection
// and then hands back to the default pacing (GOGC=100), as the Go compiler
// does for itself. A small run (a cluster of a thousand Services) then
// never collects: with the runtime's 4 MB starting heap it collected
// several times while reading its input, a quarter of its time. Big runs
// are paced as before after their first collection. A GOGC or GOMEMLIMIT
// in the environment is left to govern alone.
func PaceGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	// The runtime's smallest heap goal is 4 MB scaled by GOGC/100.
	old := debug.SetGCPercent(100 * startingHeap / (4 << 20))
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) { debug.SetGCPercent(old) })
}
