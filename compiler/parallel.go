package compiler

import (
	"runtime"
	"sync"
)

// parallelMinEndpoints is the model size from which model building and
// lowering are split across CPUs; below it starting goroutines costs more
// than it saves. (A variable so that tests can split small models.)
var parallelMinEndpoints = 20000

// run is a range of items, [from, to).
type run struct{ from, to int }

// splitRuns cuts n items into at most procs runs of consecutive items of
// about equal weight, where item i weighs weight(i) and all weigh total;
// a total under parallelMinEndpoints, or one CPU, gives one run.
func splitRuns(n, total, procs int, weight func(i int) int) []run {
	if procs < 2 || total < parallelMinEndpoints {
		return []run{{0, n}}
	}
	var out []run
	from, acc := 0, 0
	for i := range n {
		acc += weight(i)
		if len(out) < procs-1 && acc*procs >= total*(len(out)+1) {
			out = append(out, run{from, i + 1})
			from = i + 1
		}
	}
	if from < n || len(out) == 0 {
		out = append(out, run{from, n})
	}
	return out
}

// inParallel calls do for every run, the first on the calling goroutine
// and each other on its own, and returns when all have returned. do gets
// the run's index, so that results can be put together in run order.
func inParallel(runs []run, do func(k int, r run)) {
	var wg sync.WaitGroup
	for k := 1; k < len(runs); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(k, runs[k])
		}()
	}
	do(0, runs[0])
	wg.Wait()
}

// procs is the number of CPUs work is split across.
func procs() int { return runtime.GOMAXPROCS(0) }
