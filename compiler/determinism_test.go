package compiler

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/render"
)

// renderAll compiles a snapshot in every mode for both families and
// returns the rendered texts, keyed by mode and family.
func renderAll(t *testing.T, srcs []Source, opts Options) map[string]string {
	t.Helper()
	snap, err := Load(srcs)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	out := map[string]string{}
	for _, mode := range []Mode{ModeIPTables, ModeNFTables, ModeIPVS} {
		for _, fam := range []Family{IPv4, IPv6} {
			o := opts
			o.Mode, o.Family = mode, fam
			prog, err := Compile(snap, o, CompileOptions{})
			if err != nil {
				t.Fatalf("%s %s: %v", mode, fam, err)
			}
			var buf bytes.Buffer
			switch mode {
			case ModeIPTables:
				err = render.IPTablesRestore(&buf, prog.IPTables)
			case ModeNFTables:
				err = render.NFT(&buf, prog.NFT)
			case ModeIPVS:
				err = render.IPVSState(&buf, prog.IPVS)
			}
			if err != nil {
				t.Fatal(err)
			}
			out[string(mode)+"/"+string(fam)] = buf.String()
		}
	}
	return out
}

// asList writes documents as one kind: List, which the loader reads item
// by item.
func asList(docs []string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for _, d := range docs {
		for i, line := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
			if i == 0 {
				b.WriteString("- ")
			} else {
				b.WriteString("  ")
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// TestDeterminism is the determinism property on random snapshots: the
// documents in another order, as one List instead of several documents,
// split over two files given in the other order, and GOMAXPROCS 1 or 2
// give the same bytes in every mode and family.
func TestDeterminism(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 8))
		docs := genSnapshot(rngChooser{rng})
		opts := genOptions(rngChooser{rng})
		runtime.GOMAXPROCS(1)
		want := renderAll(t, []Source{{Name: "in.yaml", Data: []byte(strings.Join(docs, "---\n"))}}, opts)
		for round := 0; round < 4; round++ {
			rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
			runtime.GOMAXPROCS(1 + round%2)
			srcs := []Source{{Name: "in.yaml", Data: []byte(strings.Join(docs, "---\n"))}}
			switch round {
			case 2:
				srcs[0].Data = asList(docs)
			case 3:
				// two files, the later one given first
				half := len(docs) / 2
				srcs = []Source{{Name: "b.yaml", Data: []byte(strings.Join(docs[half:], "---\n"))}, {Name: "a.yaml", Data: []byte(strings.Join(docs[:half], "---\n"))}}
			}
			got := renderAll(t, srcs, opts)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d, round %d: output changed (-first +reordered):\n%s\ninput:\n%s", seed, round, diff, srcs)
			}
		}
	}
}
