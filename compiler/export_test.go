package compiler

// SetParallelMinEndpoints sets the model size from which lowering is split
// across CPUs, for tests; restore puts the old one back.
func SetParallelMinEndpoints(n int) (restore func()) {
	old := parallelMinEndpoints
	parallelMinEndpoints = n
	return func() { parallelMinEndpoints = old }
}
