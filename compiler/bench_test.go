package compiler_test

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// Stage benchmarks on the oracle's synthetic cluster (benchgen): N ClusterIP
// services with 10 endpoints each. `make bench` runs the whole pipeline
// side by side with kube-proxy; these isolate one stage each, so that a
// profile (-cpuprofile, -memprofile) shows one stage's cost:
//
//	go test ./compiler -run '^$' -bench 'Lower/iptables/10k' -cpuprofile cpu.out

var benchSizes = []struct {
	name string
	n    int
}{{"1k", 1000}, {"10k", 10000}}

const benchEndpoints = 10

var (
	inputMu    sync.Mutex
	inputCache = map[string][]byte{}
	snapCache  = map[int]*compiler.Snapshot{}
)

// benchInput returns the synthetic cluster in the given format.
func benchInput(b *testing.B, format string, n int) []byte {
	b.Helper()
	inputMu.Lock()
	defer inputMu.Unlock()
	key := fmt.Sprintf("%s/%d", format, n)
	if data, ok := inputCache[key]; ok {
		return data
	}
	var buf bytes.Buffer
	write := benchgen.YAML
	if format == "json" {
		write = benchgen.JSON
	}
	if err := write(&buf, n, benchEndpoints); err != nil {
		b.Fatal(err)
	}
	inputCache[key] = buf.Bytes()
	return buf.Bytes()
}

// benchSnapshot returns the loaded synthetic cluster.
func benchSnapshot(b *testing.B, n int) *compiler.Snapshot {
	b.Helper()
	data := benchInput(b, "json", n)
	inputMu.Lock()
	defer inputMu.Unlock()
	if s, ok := snapCache[n]; ok {
		return s
	}
	snap, err := compiler.Load([]compiler.Source{{Name: "bench.json", Data: data}})
	if err != nil {
		b.Fatal(err)
	}
	snapCache[n] = snap
	return snap
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs the benchmark loop body and reports services/s and the CPU
// time per operation (all threads, GC included): on a shared machine the
// CPU time is steadier than the wall time.
func measure(b *testing.B, n int, body func()) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		body()
	}
	cpu := cpuTime() - start
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "services/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkLoad measures parsing, defaulting and validation; MB/s is input
// bytes per second.
func BenchmarkLoad(b *testing.B) {
	for _, format := range []string{"json", "yaml"} {
		for _, sz := range benchSizes {
			b.Run(format+"/"+sz.name, func(b *testing.B) {
				data := benchInput(b, format, sz.n)
				b.SetBytes(int64(len(data)))
				measure(b, sz.n, func() {
					if _, err := compiler.Load([]compiler.Source{{Name: "bench." + format, Data: data}}); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkBuildModel measures the backend-neutral model (service ports,
// endpoint de-duplication and ordering).
func BenchmarkBuildModel(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			snap := benchSnapshot(b, sz.n)
			opts := compiler.DefaultOptions()
			measure(b, sz.n, func() { compiler.BuildModel(snap, &opts) })
		})
	}
}

// benchModes are the proxy modes the pipeline benchmarks cover.
var benchModes = []compiler.Mode{compiler.ModeIPTables, compiler.ModeNFTables, compiler.ModeIPVS}

// renderProgram writes a compiled program in its mode's output format.
func renderProgram(w io.Writer, p *compiler.Program) error {
	switch p.Options.Mode {
	case compiler.ModeIPTables:
		return render.IPTablesRestore(w, p.IPTables)
	case compiler.ModeNFTables:
		return render.NFT(w, p.NFT)
	case compiler.ModeIPVS:
		return render.IPVSState(w, p.IPVS)
	}
	return fmt.Errorf("no renderer for mode %s", p.Options.Mode)
}

func compileBench(b *testing.B, snap *compiler.Snapshot, mode compiler.Mode) *compiler.Program {
	b.Helper()
	opts := compiler.DefaultOptions()
	opts.Mode = mode
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// outputSize renders once to size the output (for MB/s).
func outputSize(b *testing.B, p *compiler.Program) int64 {
	b.Helper()
	var cw countWriter
	if err := renderProgram(&cw, p); err != nil {
		b.Fatal(err)
	}
	return int64(cw)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// BenchmarkCompile measures model + lowering for each mode; MB/s is output
// bytes per second.
func BenchmarkCompile(b *testing.B) {
	for _, mode := range benchModes {
		for _, sz := range benchSizes {
			b.Run(string(mode)+"/"+sz.name, func(b *testing.B) {
				snap := benchSnapshot(b, sz.n)
				b.SetBytes(outputSize(b, compileBench(b, snap, mode)))
				measure(b, sz.n, func() { compileBench(b, snap, mode) })
			})
		}
	}
}

// BenchmarkRender measures writing a compiled program.
func BenchmarkRender(b *testing.B) {
	for _, mode := range benchModes {
		for _, sz := range benchSizes {
			b.Run(string(mode)+"/"+sz.name, func(b *testing.B) {
				p := compileBench(b, benchSnapshot(b, sz.n), mode)
				b.SetBytes(outputSize(b, p))
				measure(b, sz.n, func() {
					if err := renderProgram(io.Discard, p); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkCompileRender is the goal's "objects already parsed" number:
// compile and render, compared with kube-proxy's full sync by `make bench`.
func BenchmarkCompileRender(b *testing.B) {
	for _, mode := range benchModes {
		for _, sz := range benchSizes {
			b.Run(string(mode)+"/"+sz.name, func(b *testing.B) {
				snap := benchSnapshot(b, sz.n)
				b.SetBytes(outputSize(b, compileBench(b, snap, mode)))
				measure(b, sz.n, func() {
					if err := renderProgram(io.Discard, compileBench(b, snap, mode)); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
