package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
	"github.com/kubeproxyc/kubeproxyc/render"
)

// addSeeds adds every golden case's input and the shipped examples to f.
func addSeeds(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob("../testdata/cases/*/input.yaml")
	ex, _ := filepath.Glob("../examples/*.yaml")
	for _, p := range append(files, ex...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// watchdog crashes the fuzzing process if one input takes longer than
// limit, so that the fuzzer records it: Go's fuzzer has no time limit per
// input, and a hang would otherwise go unreported.
func watchdog(limit time.Duration) (stop func() bool) {
	t := time.AfterFunc(limit, func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		panic(fmt.Sprintf("one input took longer than %v:\n%s", limit, buf[:n]))
	})
	return t.Stop
}

// FuzzLoad feeds arbitrary bytes to Load: it must not panic or hang, and
// every diagnostic must be positioned, on one line, and sorted.
func FuzzLoad(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(10 * time.Second)()
		snap, err := Load([]Source{{Name: "in.yaml", Data: data}})
		if snap == nil {
			t.Fatal("Load returned a nil snapshot")
		}
		checkDiagnostics(t, snap.Warnings)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error is %T, not Errors: %v", err, err)
			}
			if len(errs) == 0 {
				t.Fatal("Load returned an empty Errors")
			}
			checkDiagnostics(t, errs)
		}
	})
}

func checkDiagnostics(t *testing.T, ds []Diagnostic) {
	t.Helper()
	for i, d := range ds {
		if d.Pos.File != "in.yaml" || d.Pos.Line < 1 {
			t.Errorf("diagnostic without a position: %q", d.String())
		}
		if s := d.String(); strings.ContainsAny(s, "\n\r\x00") {
			t.Errorf("diagnostic spans lines or holds NUL: %q", s)
		}
		if i > 0 && ds[i-1].Pos.Line > d.Pos.Line {
			t.Errorf("diagnostics not sorted: %q before %q", ds[i-1].String(), d.String())
		}
	}
}

// FuzzLoadStream checks that reading List documents item by item gives
// what reading them whole gives: the same objects and diagnostics.
func FuzzLoadStream(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n-\n- &x {apiVersion: v1, kind: Service, metadata: {name: b}}\n- *x\n"))
	f.Add([]byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}],"kind":"List"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(10 * time.Second)()
		src := []Source{{Name: "in.yaml", Data: data}}
		s1, err1 := load(src, true)
		s2, err2 := load(src, false)
		if diff := cmp.Diff(s2, s1); diff != "" {
			t.Errorf("snapshot read item by item differs from whole (-whole +stream):\n%s", diff)
		}
		if diff := cmp.Diff(errText(err2), errText(err1)); diff != "" {
			t.Errorf("errors read item by item differ from whole (-whole +stream):\n%s", diff)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// loadGenerated loads a generated snapshot; the generator only writes
// valid input, so any error is a bug (in it or in the loader).
func loadGenerated(t *testing.T, docs []string) *Snapshot {
	t.Helper()
	snap, err := Load([]Source{{Name: "gen.yaml", Data: []byte(strings.Join(docs, "---\n"))}})
	if err != nil {
		t.Fatalf("generated input refused: %v\n%s", err, strings.Join(docs, "---\n"))
	}
	return snap
}

// fuzzGenerated is the frame of the fuzz targets over generated input:
// two seeds, a watchdog, and the snapshot and options generated from the
// fuzzer's two byte strings, handed to check.
func fuzzGenerated(f *testing.F, check func(t *testing.T, snap *Snapshot, opts Options)) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte("\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"), []byte("\x01\x02"))
	f.Fuzz(func(t *testing.T, snapBytes, optBytes []byte) {
		defer watchdog(10 * time.Second)()
		check(t, loadGenerated(t, genSnapshot(&byteChooser{data: snapBytes})), genOptions(&byteChooser{data: optBytes}))
	})
}

// FuzzModel builds the model of generated snapshots and checks its
// invariants: service ports sorted and unique, endpoints of the family,
// sorted and unique, the endpoint count, and categorization subsets.
func FuzzModel(f *testing.F) {
	fuzzGenerated(f, func(t *testing.T, snap *Snapshot, opts Options) {
		for _, fam := range []Family{IPv4, IPv6} {
			opts.Family = fam
			checkModel(t, BuildModel(snap, &opts), &opts)
		}
	})
}

func checkModel(t *testing.T, m *Model, opts *Options) {
	t.Helper()
	total := 0
	for i, sp := range m.ServicePorts {
		if i > 0 {
			prev := m.ServicePorts[i-1]
			if prev.NameString > sp.NameString || (prev.NameString == sp.NameString && prev.Protocol >= sp.Protocol) {
				t.Errorf("service ports out of order or repeated: %s/%s then %s/%s", prev.NameString, prev.Protocol, sp.NameString, sp.Protocol)
			}
		}
		if !opts.Family.Is(sp.ClusterIP) {
			t.Errorf("%s: cluster IP %s is not %s", sp.NameString, sp.ClusterIP, opts.Family)
		}
		for j, ep := range sp.Endpoints {
			if !opts.Family.Is(ep.IP) {
				t.Errorf("%s: endpoint %s is not %s", sp.NameString, ep.String, opts.Family)
			}
			if j > 0 && sp.Endpoints[j-1].String >= ep.String {
				t.Errorf("%s: endpoints out of order or repeated: %s then %s", sp.NameString, sp.Endpoints[j-1].String, ep.String)
			}
			if ep.String != JoinHostPort(ep.IP, ep.Port) {
				t.Errorf("%s: endpoint %s has key %s", sp.NameString, JoinHostPort(ep.IP, ep.Port), ep.String)
			}
		}
		total += len(sp.Endpoints)
		cat := CategorizeEndpoints(sp, opts.NodeName, opts.NodeZone)
		in := map[*Endpoint]bool{}
		for _, ep := range sp.Endpoints {
			in[ep] = true
		}
		for _, list := range [][]*Endpoint{cat.Cluster, cat.Local, cat.AllReachable} {
			for _, ep := range list {
				if !in[ep] {
					t.Errorf("%s: categorized endpoint %s is not one of the port's", sp.NameString, ep.String)
				}
			}
		}
		for _, ep := range cat.Local {
			if !ep.IsLocal {
				t.Errorf("%s: local endpoint %s is not on this node", sp.NameString, ep.String)
			}
		}
	}
	if total != m.TotalEndpoints {
		t.Errorf("TotalEndpoints %d, endpoints %d", m.TotalEndpoints, total)
	}
}

// FuzzIPTables compiles generated snapshots in iptables mode and checks
// the program and its rendered text: CheckIPTables on both, and the text
// reads back (ir.ParseIPTablesSave) with the same tables, chains and
// rules.
func FuzzIPTables(f *testing.F) {
	f.Add([]byte{}, []byte{}, false)
	f.Add([]byte("\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"), []byte("\x01\x02"), true)
	f.Fuzz(func(t *testing.T, snapBytes, optBytes []byte, standalone bool) {
		defer watchdog(10 * time.Second)()
		snap := loadGenerated(t, genSnapshot(&byteChooser{data: snapBytes}))
		opts := genOptions(&byteChooser{data: optBytes})
		opts.Mode = ModeIPTables
		prog, err := Compile(snap, opts, CompileOptions{Standalone: standalone})
		if err != nil {
			t.Fatal(err)
		}
		checkIPTablesText(t, prog.IPTables)
	})
}

func checkIPTablesText(t *testing.T, p *ir.IPTables) {
	t.Helper()
	if err := ir.CheckIPTables(p); err != nil {
		t.Fatalf("program: %v", err)
	}
	var buf bytes.Buffer
	if err := render.IPTablesRestore(&buf, p); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if !(strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, ":") || strings.HasPrefix(line, "*") ||
			line == "COMMIT" || strings.HasPrefix(line, "# ")) {
			t.Fatalf("unexpected line in payload: %q", line)
		}
	}
	back, err := ir.ParseIPTablesSave(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("rendered payload does not read back: %v\n%s", err, buf.String())
	}
	if err := ir.CheckIPTables(back); err != nil {
		t.Fatalf("rendered payload: %v", err)
	}
	if len(back.Tables) != len(p.Tables) {
		t.Fatalf("%d tables read back, %d written", len(back.Tables), len(p.Tables))
	}
	for i, tb := range p.Tables {
		b := back.Tables[i]
		if b.Name != tb.Name || len(b.Chains) != len(tb.Chains) || len(b.Rules) != len(tb.Rules) {
			t.Fatalf("table %s: read back %s with %d chains and %d rules, wrote %d and %d",
				tb.Name, b.Name, len(b.Chains), len(b.Rules), len(tb.Chains), len(tb.Rules))
		}
	}
}

// FuzzNFT compiles generated snapshots in nftables mode: CheckNFT on the
// table; every rendered line is one "add" command, one per object; and
// the text reads back (ir.ParseNFT) into a table that passes CheckNFT
// with as many objects.
func FuzzNFT(f *testing.F) {
	fuzzGenerated(f, func(t *testing.T, snap *Snapshot, opts Options) {
		opts.Mode = ModeNFTables
		prog, err := Compile(snap, opts, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkNFTText(t, prog.NFT)
	})
}

var nftLine = regexp.MustCompile(`^add (table|chain|set|map|rule|element) (ip|ip6) kube-proxy( |$)`)

func checkNFTText(t *testing.T, p *ir.NFT) {
	t.Helper()
	if err := ir.CheckNFT(p); err != nil {
		t.Fatalf("table: %v", err)
	}
	var buf bytes.Buffer
	if err := render.NFT(&buf, p); err != nil {
		t.Fatal(err)
	}
	want := nftObjects(p)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != want {
		t.Fatalf("%d lines rendered for %d objects", len(lines), want)
	}
	for _, line := range lines {
		if !nftLine.MatchString(line) {
			t.Fatalf("unexpected line: %q", line)
		}
	}
	back, err := ir.ParseNFT(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("rendered table does not read back: %v\n%s", err, buf.String())
	}
	if len(back) != 1 {
		t.Fatalf("%d tables read back", len(back))
	}
	if err := ir.CheckNFT(back[0]); err != nil {
		t.Fatalf("rendered table: %v", err)
	}
	if count := nftObjects(back[0]); count != want {
		t.Fatalf("read back %d objects, wrote %d", count, want)
	}
}

// nftObjects counts a table's commands: the table, chains, sets, maps,
// rules and elements.
func nftObjects(p *ir.NFT) int {
	n := 1 + len(p.Chains) + len(p.Sets) + len(p.Maps)
	for _, c := range p.Chains {
		n += len(c.Rules)
	}
	for _, s := range append(append([]*ir.NFTSet{}, p.Sets...), p.Maps...) {
		n += len(s.Elements)
	}
	return n
}

// FuzzIPVS compiles generated snapshots in ipvs mode: CheckIPVS on the
// state and its iptables payload read back from text.
func FuzzIPVS(f *testing.F) {
	fuzzGenerated(f, func(t *testing.T, snap *Snapshot, opts Options) {
		opts.Mode = ModeIPVS
		prog, err := Compile(snap, opts, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ir.CheckIPVS(prog.IPVS); err != nil {
			t.Fatalf("ipvs state: %v", err)
		}
		checkIPTablesText(t, prog.IPVS.IPTables)
		var buf bytes.Buffer
		if err := render.IPVSState(&buf, prog.IPVS); err != nil {
			t.Fatal(err)
		}
	})
}
