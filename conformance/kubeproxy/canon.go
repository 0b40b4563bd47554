package kubeproxy

// Canonical order of an iptables payload.
//
// syncProxyRules writes one block of lines per service port while ranging
// over proxier.svcPortMap, a Go map. Everything one iteration writes
// depends on that service port alone, so any permutation of the blocks is
// a payload kube-proxy could have written. The proxier's four LineBuffers
// (filterChains, filterRules, natChains, natRules) are replaced by
// blockRecorder buffers, which let the real LineBuffer format each line and
// note which iteration wrote it. The payload is then re-assembled with the
// blocks in ascending ServicePortName order: exactly what kube-proxy
// writes when the map happens to be visited in that order.
//
// An iteration always begins with the service port's ClusterIP rule in
// KUBE-SERVICES: in nat ("<name> cluster IP") when internal traffic has
// endpoints, in filter ("<name> has no endpoints" or "<name> has no local
// endpoints") when it does not. The code after the loop begins either with
// the "kubernetes service nodeports" jump (nat) or with the KUBE-FORWARD
// rules (filter, always written).
//
// Within a block the endpoint chains come in the order of
// CategorizeEndpoints' allReachable list, which is built from a map when
// both traffic policies and topology or terminating fallback are involved;
// they are put in ascending "ip:port" order, the order kube-proxy uses
// otherwise.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	proxyutil "k8s.io/kubernetes/pkg/proxy/util"
)

const (
	bufFilterChains = iota
	bufFilterRules
	bufNATChains
	bufNATRules
	numBufs
)

// The block of lines written before the loop and after it.
const (
	prologue = -1
	epilogue = 1 << 30
)

type taggedLine struct {
	block int
	text  string
}

// blockRecorder tags every line written to its buffers with the loop
// iteration that wrote it.
type blockRecorder struct {
	block int
	keys  []string // keys[i]: the service port name of block i
	lines [numBufs][]taggedLine
	bufs  [numBufs]*recBuffer
}

func newBlockRecorder() *blockRecorder {
	r := &blockRecorder{block: prologue}
	for i := range r.bufs {
		r.bufs[i] = &recBuffer{rec: r, id: i, inner: proxyutil.NewLineBuffer()}
	}
	return r
}

// install replaces the proxier's four line buffers.
func (r *blockRecorder) install(proxier any) {
	for i, name := range [numBufs]string{"filterChains", "filterRules", "natChains", "natRules"} {
		setField(proxier, name, proxyutil.LineBuffer(r.bufs[i]))
	}
}

const servicesRulePrefix = `-A KUBE-SERVICES -m comment --comment "`

// note records one line and advances the iteration state.
func (r *blockRecorder) note(buf int, line string) {
	if r.block != epilogue {
		switch {
		case buf == bufNATRules && strings.HasPrefix(line, servicesRulePrefix+"kubernetes service nodeports;"),
			buf == bufFilterRules && strings.HasPrefix(line, "-A KUBE-FORWARD "):
			r.block = epilogue
		case buf == bufNATRules || buf == bufFilterRules:
			if name, what, ok := servicesComment(line); ok &&
				(buf == bufNATRules && what == "cluster IP" ||
					buf == bufFilterRules && (what == "has no endpoints" || what == "has no local endpoints")) {
				r.keys = append(r.keys, name)
				r.block = len(r.keys) - 1
			}
		}
	}
	r.lines[buf] = append(r.lines[buf], taggedLine{r.block, line})
}

// servicesComment splits the comment of a KUBE-SERVICES rule,
// `"ns/name:port cluster IP"`, into the service port name and the rest.
func servicesComment(line string) (name, rest string, ok bool) {
	if !strings.HasPrefix(line, servicesRulePrefix) {
		return "", "", false
	}
	c := line[len(servicesRulePrefix):]
	end := strings.IndexByte(c, '"')
	if end < 0 {
		return "", "", false
	}
	name, rest, ok = strings.Cut(c[:end], " ")
	return name, rest, ok
}

func (r *blockRecorder) reset(buf int) {
	r.lines[buf] = nil
	for _, l := range r.lines {
		if len(l) > 0 {
			return
		}
	}
	r.block, r.keys = prologue, nil
}

// recBuffer is a proxyutil.LineBuffer that lets the real implementation
// format the line and reports it to the recorder.
type recBuffer struct {
	rec   *blockRecorder
	id    int
	inner proxyutil.LineBuffer
}

var _ proxyutil.LineBuffer = (*recBuffer)(nil)

func (b *recBuffer) Write(args ...any) {
	n := len(b.inner.Bytes())
	b.inner.Write(args...)
	b.noteFrom(n)
}

func (b *recBuffer) WriteBytes(p []byte) {
	n := len(b.inner.Bytes())
	b.inner.WriteBytes(p)
	b.noteFrom(n)
}

func (b *recBuffer) noteFrom(n int) {
	all := b.inner.Bytes()
	b.rec.note(b.id, string(all[n:len(all)-1]))
}

func (b *recBuffer) Reset()         { b.inner.Reset(); b.rec.reset(b.id) }
func (b *recBuffer) Bytes() []byte  { return b.inner.Bytes() }
func (b *recBuffer) String() string { return b.inner.String() }
func (b *recBuffer) Lines() int     { return b.inner.Lines() }

// frame assembles buffers the way syncProxyRules does.
func frame(bufs [numBufs][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("*filter\n")
	b.Write(bufs[bufFilterChains])
	b.Write(bufs[bufFilterRules])
	b.WriteString("COMMIT\n*nat\n")
	b.Write(bufs[bufNATChains])
	b.Write(bufs[bufNATRules])
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// canonical returns the payload with blocks in ServicePortName order.
// raw is what the proxier passed to iptables-restore; it must be what the
// recorded buffers frame to, or the proxier's layout changed.
func (r *blockRecorder) canonical(raw []byte) ([]byte, error) {
	var rawBufs [numBufs][]byte
	for i, b := range r.bufs {
		rawBufs[i] = b.Bytes()
	}
	if !bytes.Equal(frame(rawBufs), raw) {
		return nil, fmt.Errorf("the recorded line buffers do not frame to the restore payload: kube-proxy's payload layout changed")
	}
	order := make([]int, len(r.keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.keys[order[a]] < r.keys[order[b]] })
	for i := 1; i < len(order); i++ {
		if r.keys[order[i]] == r.keys[order[i-1]] {
			return nil, fmt.Errorf("two loop iterations for service port %q", r.keys[order[i]])
		}
	}
	var out [numBufs][]byte
	for buf, lines := range r.lines {
		var pro, epi []string
		blocks := make([][]string, len(r.keys))
		for _, l := range lines {
			switch l.block {
			case prologue:
				pro = append(pro, l.text)
			case epilogue:
				epi = append(epi, l.text)
			default:
				blocks[l.block] = append(blocks[l.block], l.text)
			}
		}
		sortNodePortJumps(epi)
		var b bytes.Buffer
		emit := func(ls []string) {
			for _, l := range ls {
				b.WriteString(l)
				b.WriteByte('\n')
			}
		}
		emit(pro)
		for _, i := range order {
			emit(blocks[i])
		}
		emit(epi)
		out[buf] = b.Bytes()
	}
	sortEndpointChains(r, &out)
	return frame(out), nil
}

// sortNodePortJumps orders the per-address "kubernetes service nodeports"
// jumps (written for a --nodeport-addresses other than 0.0.0.0/0 from the
// map NodePortAddresses.GetNodeIPs returns) as strings.
func sortNodePortJumps(epi []string) {
	isJump := func(l string) bool {
		return strings.HasPrefix(l, servicesRulePrefix+"kubernetes service nodeports;") && strings.Contains(l, " -d ")
	}
	for i := 0; i < len(epi); {
		j := i
		for j < len(epi) && isJump(epi[j]) {
			j++
		}
		if j > i {
			sort.Strings(epi[i:j])
			i = j
		} else {
			i++
		}
	}
}

// sortEndpointChains puts, within every block, the KUBE-SEP chain
// declarations and the KUBE-SEP rule groups in ascending order of the
// endpoint each chain DNATs to. It rebuilds the two nat buffers of out.
func sortEndpointChains(r *blockRecorder, out *[numBufs][]byte) {
	// endpoint of every SEP chain, from its DNAT rule
	ep := map[string]string{}
	for _, l := range r.lines[bufNATRules] {
		if !strings.HasPrefix(l.text, "-A KUBE-SEP-") {
			continue
		}
		if i := strings.Index(l.text, " --to-destination "); i >= 0 {
			chain, _, _ := strings.Cut(l.text[3:], " ")
			ep[chain] = strings.Fields(l.text[i:])[1]
		}
	}
	less := func(a, b string) bool {
		if ep[a] != ep[b] {
			return ep[a] < ep[b]
		}
		return a < b
	}
	for _, buf := range []int{bufNATChains, bufNATRules} {
		lines := strings.SplitAfter(string(out[buf]), "\n")
		// Runs of SEP lines never span two blocks: every block's nat
		// rules begin with a KUBE-SERVICES rule, and its chain lines
		// with the EXT/FW/SVC/SVL chains before the SEP chains (blocks
		// without those have no SEP chains either).
		for i := 0; i < len(lines); {
			if !isSEPLine(lines[i]) {
				i++
				continue
			}
			j := i
			for j < len(lines) && isSEPLine(lines[j]) {
				j++
			}
			sortSEPRun(lines[i:j], less)
			i = j
		}
		out[buf] = []byte(strings.Join(lines, ""))
	}
}

func isSEPLine(l string) bool {
	return strings.HasPrefix(l, ":KUBE-SEP-") || strings.HasPrefix(l, "-A KUBE-SEP-")
}

// sortSEPRun sorts a run of SEP chain declarations, or of SEP rules
// grouped by chain (keeping the order of the rules within a chain).
func sortSEPRun(run []string, less func(a, b string) bool) {
	chainOf := func(l string) string {
		if l[0] == ':' {
			c, _, _ := strings.Cut(l[1:], " ")
			return c
		}
		c, _, _ := strings.Cut(l[3:], " ")
		return c
	}
	type group struct {
		chain string
		lines []string
	}
	var groups []group
	for _, l := range run {
		c := chainOf(l)
		if len(groups) == 0 || groups[len(groups)-1].chain != c {
			groups = append(groups, group{chain: c})
		}
		groups[len(groups)-1].lines = append(groups[len(groups)-1].lines, l)
	}
	sort.SliceStable(groups, func(a, b int) bool { return less(groups[a].chain, groups[b].chain) })
	k := 0
	for _, g := range groups {
		k += copy(run[k:], g.lines)
	}
}
