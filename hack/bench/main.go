// Command bench measures kubeproxyc against kube-proxy on the oracle's
// synthetic clusters (N ClusterIP services x E endpoints) and prints one
// table of ratios from one run; `make bench` runs it.
//
// For every size and proxy mode it interleaves, round by round:
//   - the oracle's -bench: kube-proxy v1.36's own full sync on the same
//     objects (its generation time; iptables-restore is not run);
//   - kubeproxyc's compile + render of a snapshot already loaded, in this
//     process;
//   - "kubeproxyc render" as a child process from a JSON and from a YAML
//     file, wall time and peak RSS (getrusage of the child).
//
// It reports medians. At the smallest size it also checks that kubeproxyc's
// output equals the oracle's for the same file, byte for byte.
//
// The rounds are cold: between two timed compiles the child processes run
// for a second or more, and the Go runtime returns the freed heap to the
// system meanwhile, so each compile faults its memory back in, as the
// oracle's one sync in a fresh process does. With -warm-runs, each side is
// also timed back to back in one process: the oracle's -bench-runs with
// its first sync dropped, and kubeproxyc's compile + render repeated after
// a collection each.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
	"github.com/kubeproxyc/kubeproxyc/render"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	sizes      []int
	endpoints  int
	runs       int
	modes      []string
	oracle     string
	kubeproxyc string
	tsv        string
	workDir    string
	warmRuns   int
	// oracleMax caps the sizes the oracle is run at, per mode: its
	// nftables fake is quadratic (minutes at 100k services).
	oracleMax map[string]int
}

func run() error {
	var c config
	sizes := flag.String("sizes", "1000,10000,100000", "service counts")
	modes := flag.String("modes", "iptables,nftables,ipvs", "proxy modes")
	oracleMax := flag.String("oracle-max", "nftables=10000", "largest size to run the oracle at, per mode (mode=N,...)")
	flag.IntVar(&c.endpoints, "endpoints", 10, "endpoints per service")
	flag.IntVar(&c.runs, "runs", 3, "rounds per measurement (medians are reported)")
	flag.StringVar(&c.oracle, "oracle", "", "oracle binary (default: oracle on PATH)")
	flag.StringVar(&c.kubeproxyc, "kubeproxyc", "bin/kubeproxyc", "kubeproxyc binary")
	flag.StringVar(&c.tsv, "tsv", "", "also write the measurements as tab-separated values to this file")
	flag.StringVar(&c.workDir, "work", "", "directory for the generated inputs and outputs (default: a temporary one, removed)")
	flag.IntVar(&c.warmRuns, "warm-runs", 3, "also time each side this many times back to back in one process (0: do not)")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-sizes: bad size %q", s)
		}
		c.sizes = append(c.sizes, n)
	}
	c.modes = strings.Split(*modes, ",")
	c.oracleMax = map[string]int{}
	for _, kv := range strings.Split(*oracleMax, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return fmt.Errorf("-oracle-max: bad entry %q", kv)
		}
		c.oracleMax[k] = n
	}
	if c.oracle == "" {
		p, err := exec.LookPath("oracle")
		if err != nil {
			return errors.New("no oracle on PATH; build it from ../shared/oracle or pass -oracle")
		}
		c.oracle = p
	}
	if c.workDir == "" {
		d, err := os.MkdirTemp("", "kubeproxyc-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.workDir = d
	}
	var results []result
	for i, n := range c.sizes {
		rs, err := c.size(n, i == 0)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	printTable(os.Stdout, c, results)
	if c.tsv != "" {
		return writeTSV(c.tsv, results)
	}
	return nil
}

// result is one (mode, size) row.
type result struct {
	mode           string
	services       int
	endpoints      int
	kubeProxy      time.Duration // oracle full sync, median; 0 if not run
	compileRender  time.Duration // in-process compile + render, median
	compileCPU     time.Duration // its CPU time, median
	kubeProxyWarm  time.Duration // oracle, syncs after the first in one process, median; 0 if not run
	compileWarm    time.Duration // compile + render back to back, median
	renderJSON     time.Duration // kubeproxyc render, JSON input
	renderYAML     time.Duration // kubeproxyc render, YAML input
	rssJSON        int64         // peak RSS of the JSON run, bytes
	rssYAML        int64
	outputBytes    int64
	oracleBytes    int64 // payload bytes the oracle reports
	inputJSONBytes int64
	inputYAMLBytes int64
	identical      string // "yes", "NO", or "" when not checked
}

// size measures every mode at one size.
func (c config) size(n int, check bool) ([]result, error) {
	jsonPath := filepath.Join(c.workDir, fmt.Sprintf("bench-%d.json", n))
	yamlPath := filepath.Join(c.workDir, fmt.Sprintf("bench-%d.yaml", n))
	// The oracle's objects, except that above 13,840 services its node
	// ports repeat, which kubeproxyc refuses: there the services with a
	// repeated one stay ClusterIP (benchgen's Valid variants). JSON is
	// indented as jq prints it: kubectl's four spaces make 100k services
	// over 512 MiB, more than kubeproxyc reads.
	if err := writeInput(jsonPath, benchgen.ValidJSON2, n, c.endpoints); err != nil {
		return nil, err
	}
	if err := writeInput(yamlPath, benchgen.ValidYAML, n, c.endpoints); err != nil {
		return nil, err
	}
	defer os.Remove(jsonPath)
	defer os.Remove(yamlPath)
	jsonSize, yamlSize := fileSize(jsonPath), fileSize(yamlPath)

	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	snap, err := compiler.Load([]compiler.Source{{Name: jsonPath, Data: data}})
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", jsonPath, err)
	}
	data = nil

	var out []result
	for _, mode := range c.modes {
		fmt.Fprintf(os.Stderr, "bench: %s, %d services x %d endpoints\n", mode, n, c.endpoints)
		r := result{mode: mode, services: n, endpoints: c.endpoints, inputJSONBytes: jsonSize, inputYAMLBytes: yamlSize}
		var kp, cr, crCPU, rj, ry []time.Duration
		runOracle := c.oracleMax[mode] == 0 || n <= c.oracleMax[mode]
		if _, _, _, err := compileRender(snap, mode); err != nil { // warm-up
			return nil, err
		}
		for round := 0; round < c.runs; round++ {
			if runOracle {
				ds, size, err := c.oracleSyncs(mode, n, 1)
				if err != nil {
					return nil, err
				}
				kp = append(kp, ds[0])
				r.oracleBytes = size
			}
			d, cpu, size, err := compileRender(snap, mode)
			if err != nil {
				return nil, err
			}
			cr, crCPU = append(cr, d), append(crCPU, cpu)
			r.outputBytes = size
			d, rss, err := c.renderChild(mode, jsonPath)
			if err != nil {
				return nil, err
			}
			rj, r.rssJSON = append(rj, d), max(r.rssJSON, rss)
			d, rss, err = c.renderChild(mode, yamlPath)
			if err != nil {
				return nil, err
			}
			ry, r.rssYAML = append(ry, d), max(r.rssYAML, rss)
		}
		if c.warmRuns > 0 {
			var warm []time.Duration
			for range c.warmRuns {
				d, _, _, err := compileRender(snap, mode)
				if err != nil {
					return nil, err
				}
				warm = append(warm, d)
			}
			r.compileWarm = median(warm)
			if runOracle {
				// the syncs after the first in one process
				ds, _, err := c.oracleSyncs(mode, n, c.warmRuns+1)
				if err != nil {
					return nil, err
				}
				r.kubeProxyWarm = median(ds[1:])
			}
		}
		r.kubeProxy, r.compileRender, r.compileCPU = median(kp), median(cr), median(crCPU)
		r.renderJSON, r.renderYAML = median(rj), median(ry)
		if check {
			same, err := c.sameAsOracle(mode, yamlPath)
			if err != nil {
				return nil, err
			}
			r.identical = "NO"
			if same {
				r.identical = "yes"
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func writeInput(path string, gen func(io.Writer, int, int) error, n, e int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gen(f, n, e); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

var (
	reSync     = regexp.MustCompile(`(?m)^full_sync_ms .*runs=\[([^\]]*)\]`)
	reSyncNFT  = regexp.MustCompile(`(?m)^full_sync_excluding_fake_nft_run_ms .*runs=\[([^\]]*)\]`)
	rePayload  = regexp.MustCompile(`(?m)payload_bytes=([0-9]+)`)
	oracleFlag = map[string]string{"iptables": "iptables", "nftables": "nftables", "ipvs": "ipvs"}
)

// oracleSyncs runs the given number of kube-proxy full syncs in one
// oracle process and returns the time of each, in order, and the payload
// size. For nftables the time without the in-memory nft fake's Run is
// taken (the fake, not kube-proxy, is what is slow there).
func (c config) oracleSyncs(mode string, n, runs int) ([]time.Duration, int64, error) {
	cmd := exec.Command(c.oracle, "-mode", oracleFlag[mode], "-bench", fmt.Sprintf("%d,%d", n, c.endpoints), "-bench-runs", strconv.Itoa(runs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("oracle -bench %d: %w: %s", n, err, stderr.String())
	}
	re := reSync
	if mode == "nftables" {
		re = reSyncNFT
	}
	m := re.FindSubmatch(out)
	if m == nil {
		return nil, 0, fmt.Errorf("oracle -bench: no sync times in %q", out)
	}
	var ds []time.Duration
	for _, f := range strings.Fields(string(m[1])) {
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, 0, fmt.Errorf("oracle -bench: run %q: %w", f, err)
		}
		ds = append(ds, d)
	}
	if len(ds) != runs {
		return nil, 0, fmt.Errorf("oracle -bench: %d sync times, want %d", len(ds), runs)
	}
	var size int64
	if p := rePayload.FindSubmatch(out); p != nil {
		size, _ = strconv.ParseInt(string(p[1]), 10, 64)
	}
	return ds, size, nil
}

// compileRender times compile + render of a loaded snapshot. The heap is
// collected first, so that the run does not pay for the garbage of the
// one before (the oracle, too, times a sync in a process that has built
// its inputs).
func compileRender(snap *compiler.Snapshot, mode string) (time.Duration, time.Duration, int64, error) {
	opts := compiler.DefaultOptions()
	opts.Mode = compiler.Mode(mode)
	runtime.GC()
	cpu0, t0 := cpuTime(), time.Now()
	p, err := compiler.Compile(snap, opts, compiler.CompileOptions{})
	if err != nil {
		return 0, 0, 0, err
	}
	var cw countWriter
	switch p.Options.Mode {
	case compiler.ModeIPTables:
		err = render.IPTablesRestore(&cw, p.IPTables)
	case compiler.ModeNFTables:
		err = render.NFT(&cw, p.NFT)
	case compiler.ModeIPVS:
		err = render.IPVSState(&cw, p.IPVS)
	default:
		err = fmt.Errorf("no renderer for mode %s", mode)
	}
	return time.Since(t0), cpuTime() - cpu0, int64(cw), err
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// renderChild runs "kubeproxyc render" on one file, writing the output to
// a file, and returns its wall time and peak RSS.
func (c config) renderChild(mode, input string) (time.Duration, int64, error) {
	outPath := filepath.Join(c.workDir, "out")
	defer os.Remove(outPath)
	f, err := os.Create(outPath)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cmd := exec.Command(c.kubeproxyc, "render", "--proxy-mode", mode, "-f", input)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = f, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("kubeproxyc render -f %s: %w: %s", input, err, stderr.String())
	}
	d := time.Since(t0)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return d, 0, nil
	}
	return d, ru.Maxrss * 1024, nil
}

// sameAsOracle compares kubeproxyc's output with the oracle's for a file.
func (c config) sameAsOracle(mode, input string) (bool, error) {
	want, err := exec.Command(c.oracle, "-mode", oracleFlag[mode], "-f", input).Output()
	if err != nil {
		return false, fmt.Errorf("oracle -f %s: %w", input, err)
	}
	got, err := exec.Command(c.kubeproxyc, "render", "--proxy-mode", mode, "-f", input).Output()
	if err != nil {
		return false, fmt.Errorf("kubeproxyc render -f %s: %w", input, err)
	}
	return bytes.Equal(want, got), nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func ratio(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(a)/float64(b), 'f', 2, 64) + "x"
}

func mb(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64)
}

func mbOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return mb(n)
}

func printTable(w io.Writer, c config, rs []result) {
	fmt.Fprintf(w, "\nkube-proxy = oracle -bench N,%d (kube-proxy v1.36 full sync, generation only); medians of %d rounds; %s, GOMAXPROCS=%d\n",
		c.endpoints, c.runs, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "speedup = kube-proxy time / kubeproxyc time (higher is better); RSS/out = peak RSS of `kubeproxyc render` / output size")
	fmt.Fprintln(w, "above 13,840 services kubeproxyc's input has the oracle's objects except repeated node ports (those services stay ClusterIP; see internal/benchgen)")
	fmt.Fprintln(w)
	header := []string{"mode", "services", "kube-proxy ms", "compile+render ms", "speedup", "render JSON ms", "speedup", "render YAML ms", "speedup", "out MB (kube-proxy)", "RSS MB (JSON/YAML)", "RSS/out", "same as oracle"}
	rows := [][]string{header}
	for _, r := range rs {
		rows = append(rows, []string{
			r.mode, strconv.Itoa(r.services),
			ms(r.kubeProxy),
			ms(r.compileRender), ratio(r.kubeProxy, r.compileRender),
			ms(r.renderJSON), ratio(r.kubeProxy, r.renderJSON),
			ms(r.renderYAML), ratio(r.kubeProxy, r.renderYAML),
			mb(r.outputBytes) + " (" + mbOrDash(r.oracleBytes) + ")",
			mb(r.rssJSON) + "/" + mb(r.rssYAML),
			strconv.FormatFloat(float64(r.rssJSON)/float64(max(r.outputBytes, 1)), 'f', 2, 64),
			r.identical,
		})
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for j, cell := range row {
			if j > 0 {
				b.WriteString("  ")
			}
			if j < 1 {
				b.WriteString(cell + strings.Repeat(" ", widths[j]-len(cell)))
			} else {
				b.WriteString(strings.Repeat(" ", widths[j]-len(cell)) + cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i == 0 {
			fmt.Fprintln(w, strings.Repeat("-", len(b.String())))
		}
	}
	if c.warmRuns > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Warm, back to back in one process (medians of %d): kube-proxy's syncs after its first, kubeproxyc's compile+render after a collection each\n", c.warmRuns)
		for _, r := range rs {
			fmt.Fprintf(w, "  %-9s %7d  kube-proxy %9s ms  compile+render %8s ms  speedup %7s\n", r.mode, r.services, ms(r.kubeProxyWarm), ms(r.compileWarm), ratio(r.kubeProxyWarm, r.compileWarm))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per service (linearity): microseconds per service, compile+render / render JSON / kube-proxy")
	for _, r := range rs {
		per := func(d time.Duration) string {
			if d == 0 {
				return "-"
			}
			return strconv.FormatFloat(float64(d.Nanoseconds())/1000/float64(r.services), 'f', 2, 64)
		}
		fmt.Fprintf(w, "  %-9s %7d  %8s  %8s  %8s\n", r.mode, r.services, per(r.compileRender), per(r.renderJSON), per(r.kubeProxy))
	}
}

func writeTSV(path string, rs []result) error {
	var b strings.Builder
	b.WriteString("mode\tservices\tendpoints\tkube_proxy_ms\tcompile_render_ms\tcompile_render_cpu_ms\trender_json_ms\trender_yaml_ms\trss_json_bytes\trss_yaml_bytes\toutput_bytes\toracle_payload_bytes\tinput_json_bytes\tinput_yaml_bytes\tidentical\tkube_proxy_warm_ms\tcompile_render_warm_ms\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n",
			r.mode, r.services, r.endpoints, ms(r.kubeProxy), ms(r.compileRender), ms(r.compileCPU),
			ms(r.renderJSON), ms(r.renderYAML), r.rssJSON, r.rssYAML, r.outputBytes, r.oracleBytes,
			r.inputJSONBytes, r.inputYAMLBytes, r.identical, ms(r.kubeProxyWarm), ms(r.compileWarm))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
