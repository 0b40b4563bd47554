package compiler

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubeproxyc/kubeproxyc/internal/benchgen"
)

// loadBoth loads src with the fast path and without it, checks that both
// agree, and returns how many objects the fast path took.
func loadBoth(t *testing.T, name string, data []byte) int {
	t.Helper()
	src := []Source{{Name: name, Data: data}}
	fast, errFast := load(src, true)
	fastOff = true
	slow, errSlow := load(src, true)
	fastOff = false
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Errorf("%s: snapshot differs (-full path +fast path):\n%s", name, diff)
	}
	if diff := cmp.Diff(errText(errSlow), errText(errFast)); diff != "" {
		t.Errorf("%s: errors differ (-full path +fast path):\n%s", name, diff)
	}
	for _, pipe := range pipelines {
		got, errGot := loadPipelined(src, pipe)
		if diff := cmp.Diff(fast, got); diff != "" {
			t.Errorf("%s: snapshot differs (-sequential +pipelined, %s):\n%s", name, pipe.name, diff)
		}
		if diff := cmp.Diff(errText(errFast), errText(errGot)); diff != "" {
			t.Errorf("%s: errors differ (-sequential +pipelined, %s):\n%s", name, pipe.name, diff)
		}
	}
	return fastHits(src)
}

// pipeline is a way of loading JSON Lists on two goroutines
// (load_parallel.go).
type pipeline struct {
	name   string
	batch  int
	decode func(queued int) bool
}

var pipelines = []pipeline{
	{"one-item batches, decoded ahead", 1, func(int) bool { return true }},
	{"two-item batches, decoded by the loader", 2, func(int) bool { return false }},
	{"default batches, alternating", 64, func(q int) bool { return q%2 == 0 }},
}

// loadPipelined loads src with every JSON List pipelined as pipe says.
func loadPipelined(src []Source, pipe pipeline) (*Snapshot, error) {
	defer func(batch int, decode func(int) bool) {
		forceParallelItems, loadBatchItems, decodeAhead = false, batch, decode
	}(loadBatchItems, decodeAhead)
	forceParallelItems, loadBatchItems, decodeAhead = true, pipe.batch, pipe.decode
	return load(src, true)
}

// fastHits counts the objects the fast path loads.
func fastHits(src []Source) int {
	l := &loader{snap: &Snapshot{}}
	for _, s := range src {
		l.size += len(s.Data)
	}
	l.total = l.totalBudget()
	for _, s := range src {
		l.source(s)
	}
	if l.fast == nil {
		return 0
	}
	return l.fast.hits
}

// asJSONList turns a YAML stream into the JSON List kubectl prints, or
// returns nil if sigs.k8s.io/yaml cannot read it.
func asJSONList(t *testing.T, data []byte) []byte {
	t.Helper()
	var items []any
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil
		}
		if obj == nil {
			continue
		}
		if it, ok := obj["items"].([]any); ok {
			items = append(items, it...)
		} else {
			items = append(items, obj)
		}
	}
	out, err := yaml.YAMLToJSON(mustYAML(t, map[string]any{"apiVersion": "v1", "kind": "List", "items": items}))
	if err != nil {
		return nil
	}
	return out
}

func mustYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastPathSameAsFullPath loads every golden input and every bad
// input of the error tests, as written and as a JSON List, and the
// benchmark cluster, both ways.
func TestFastPathSameAsFullPath(t *testing.T) {
	files, _ := filepath.Glob("../testdata/cases/*/input.yaml")
	bad, _ := filepath.Glob("../testdata/errors/*/input.*")
	total := 0
	for _, p := range append(files, bad...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		total += loadBoth(t, p, data)
		if j := asJSONList(t, data); j != nil {
			total += loadBoth(t, p+".json", j)
		}
	}
	if total == 0 {
		t.Error("the fast path took no object of the golden inputs")
	}
	for _, gen := range []func(w *bytes.Buffer) error{
		func(w *bytes.Buffer) error { return benchgen.YAML(w, 30, 3) },
		func(w *bytes.Buffer) error { return benchgen.JSON(w, 30, 3) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			t.Fatal(err)
		}
		if got := loadBoth(t, "bench", b.Bytes()); got != 60 {
			t.Errorf("fast path took %d of the 60 benchmark objects", got)
		}
	}
}

// fastPathCase is an object at the edge of what the fast path reads.
type fastPathCase struct {
	name string
	in   string
	take bool // the fast path must take it
}

func svcYAML(body string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: ns\nspec:\n" + body
}

var fastPathCases = []fastPathCase{
	{"plain", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n"), true},
	{"comments and blank lines", "# head\n---\n" + svcYAML("  # c\n\n  clusterIP: 10.0.0.1 # ip\n  ports:\n    - port: 80   # p\n      name: http\n"), true},
	{"quoted", svcYAML("  clusterIP: '10.0.0.1'\n  ports:\n  - port: 80\n    name: \"http\"\n"), true},
	{"escapes", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    x: \"a\\\"b\\u00e9\"\n    y: 'it''s'\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", true},
	{"null and empty", svcYAML("  clusterIP: 10.0.0.1\n  selector: {}\n  externalIPs: []\n  loadBalancerIP: ~\n  ports:\n  - port: 80\nstatus:\n"), true},
	{"quoted port", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: \"80\"\n"), false},
	{"octal port", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: 0o120\n"), false},
	{"float port", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: 8e1\n"), false},
	{"duplicate key", svcYAML("  clusterIP: 10.0.0.1\n  clusterIP: 10.0.0.2\n  ports:\n  - port: 80\n"), false},
	{"unknown field", svcYAML("  clusterIP: 10.0.0.1\n  colour: blue\n  ports:\n  - port: 80\n"), false},
	{"wrong case", svcYAML("  ClusterIP: 10.0.0.1\n  ports:\n  - port: 80\n"), false},
	{"anchor", svcYAML("  clusterIP: &ip 10.0.0.1\n  ports:\n  - port: 80\n"), false},
	{"block scalar", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    x: |\n      line\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", false},
	{"multi-line plain", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    x: one\n      two\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", false},
	{"flow mapping", svcYAML("  clusterIP: 10.0.0.1\n  ports: [{port: 80}]\n"), false},
	{"invalid", svcYAML("  clusterIP: 10.0.0.300\n  ports:\n  - port: 80\n"), false},
	{"bad port", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: 70000\n"), false},
	{"boolean string", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    x: true\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", false},
	{"yes is a string", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    x: yes\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", true},
	{"merge key", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    <<: {a: b}\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", false},
	{"timestamp", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  creationTimestamp: \"2024-01-02T03:04:05Z\"\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", true},
	{"null timestamp", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  creationTimestamp: null\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", true},
	{"targetPort name and number", svcYAML("  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n    name: a\n    targetPort: http\n  - port: 81\n    name: b\n    targetPort: 8081\n"), true},
	{"json", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","annotations":{"k":"v\u00e9\n\\\"\t"}},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`, true},
	{"json slash escape", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","annotations":{"k":"a\/b"}},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`, false},
	{"json surrogate pair", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","annotations":{"k":"\ud83d\ude00"}},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`, false},
	{"line separator", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    x: a\u2028b\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n", false},
	{"json duplicate", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","name":"b"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`, false},
	{"json float", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80.0}]}}`, false},
	{"json lone surrogate", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","labels":{"k":"\ud800"}},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`, false},
	{"slice", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: a-1\n  namespace: ns\n  labels:\n    kubernetes.io/service-name: a\naddressType: IPv4\nendpoints:\n- addresses:\n  - 10.1.0.1\n  conditions:\n    ready: false\n    terminating: true\n  nodeName: n1\n  zone: z\n  hints:\n    forZones:\n    - name: z\nports:\n- port: 8080\n  protocol: UDP\n", true},
	{"slice ipv6", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: a-1\n  namespace: ns\n  labels:\n    kubernetes.io/service-name: a\naddressType: IPv6\nendpoints:\n- addresses:\n  - fd00::1\nports:\n- port: 8080\n", true},
}

// TestFastPathCases checks each case, alone and as an item of a List: the
// fast path must agree with the full path, and take the object when it
// should.
func TestFastPathCases(t *testing.T) {
	for _, tc := range fastPathCases {
		t.Run(tc.name, func(t *testing.T) {
			got := loadBoth(t, "in.yaml", []byte(tc.in))
			if took := got > 0; took != tc.take {
				t.Errorf("fast path took the object: %v, want %v", took, tc.take)
			}
			if got := loadBoth(t, "list", []byte(asListItem(tc.in))); (got > 0) != tc.take {
				t.Errorf("in a List: fast path took the object: %v, want %v", got > 0, tc.take)
			}
		})
	}
}

// asListItem wraps an object in a List of the same format.
func asListItem(in string) string {
	if strings.HasPrefix(in, "{") {
		return `{"apiVersion": "v1", "items": [` + in + `], "kind": "List"}`
	}
	in = strings.TrimPrefix(in, "# head\n---\n")
	return "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSuffix(in, "\n"), "\n", "\n  ") + "\n"
}

// FuzzFastPath checks that loading with the fast path gives what the
// full path gives, from the edge cases above.
func FuzzFastPath(f *testing.F) {
	for _, tc := range fastPathCases {
		f.Add([]byte(tc.in))
		f.Add([]byte(asListItem(tc.in)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		loadBoth(t, "in.yaml", data)
	})
}

// TestKindWithSlash: the type is apiVersion and kind, and a kind never
// holds a slash; an apiVersion cut one slash early does not name a type
// kube-proxy reads, in either path.
func TestKindWithSlash(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"slice", `{"apiVersion": "discovery.k8s.io", "kind": "v1/EndpointSlice", "metadata": {"name": "s", "namespace": "ns", "labels": {"kubernetes.io/service-name": "a"}}, "addressType": "IPv4", "endpoints": [], "ports": []}`},
		{"service without apiVersion", `{"apiVersion": "", "kind": "v1/Service", "metadata": {"name": "a", "namespace": "ns"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range []string{tc.in, asListItem(tc.in)} {
				if n := loadBoth(t, "in.json", []byte(in)); n != 0 {
					t.Errorf("the fast path took %d objects", n)
				}
				snap, err := Load([]Source{{Name: "in.json", Data: []byte(in)}})
				if err != nil {
					t.Fatal(err)
				}
				if len(snap.Services) != 0 || len(snap.Slices) != 0 {
					t.Errorf("loaded %d services and %d slices, want none", len(snap.Services), len(snap.Slices))
				}
			}
		})
	}
}

// TestPipelinedListEdges loads JSON Lists at the edges of what the
// pipelined loader (load_parallel.go) sees, sequentially and pipelined
// (loadBoth): empty, broken between or inside items, an item that stops
// the List's fast reading with more items after it.
func TestPipelinedListEdges(t *testing.T) {
	svc := func(name string) string {
		return `{"apiVersion":"v1","kind":"Service","metadata":{"name":"` + name + `"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`
	}
	// noted has an annotation, which the fast path takes as it is.
	noted := func(note string) string {
		return `{"apiVersion":"v1","kind":"Service","metadata":{"name":"n","annotations":{"k":"` + note + `"}},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}`
	}
	list := func(items string) string { return `{"apiVersion": "v1", "kind": "List", "items": [` + items + "]}" }
	for _, tc := range []struct{ name, in string }{
		{"empty", list("")},
		{"empty with blanks", list("\n  \n")},
		{"two", list(svc("a") + ",\n" + svc("b"))},
		{"bad separator", list(svc("a") + " x " + svc("b"))},
		{"unclosed", `{"apiVersion": "v1", "kind": "List", "items": [` + svc("a") + ","},
		{"broken item", list(svc("a") + `, {"a": }, ` + svc("b"))},
		{"repeated key, then more", list(svc("a") + `, {"a": 1, "a": 2}, ` + svc("b") + "," + svc("c") + "," + svc("d"))},
		{"invalid, then more", list(strings.Replace(svc("a"), "10.0.0.1", "10.0.0.300", 1) + "," + svc("b") + "," + svc("c"))},
		{"not an object", list(`1, "x", null, ` + svc("a"))},
		{"items not a list", `{"apiVersion": "v1", "kind": "List", "items": 1}`},
		// what the characters' check finds while the List is read
		{"DEL in an annotation", list(svc("a") + ",\n" + noted("\x7f") + ",\n" + svc("c"))},
		{"bad UTF-8 in an annotation", list(svc("a") + ",\n" + noted("\xff") + ",\n" + svc("c"))},
		{"C1 control character in an annotation", list(svc("a") + ",\n" + noted("\u0080"))},
		{"next line character in an annotation", list(svc("a") + ",\n" + noted("\u0085"))},
		{"line separator in an annotation", list(svc("a") + ",\n" + noted("\u2028"))},
		{"not ASCII in an annotation", list(svc("a") + ",\n" + noted("\u00e9"))},
		{"DEL in a name", list(svc("a") + ",\n" + svc("b\x7f") + ",\n" + svc("c"))},
		{"bad UTF-8 in a name", list(svc("a") + ",\n" + svc("b\xff") + ",\n" + svc("c"))},
		{"two bad characters and a syntax error", list(svc("a\x01") + ",\n" + svc("b\xff") + ",\n" + `{"a": }`)},
		{"C1 control character", list(svc("a") + ",\n" + svc("b\u0080"))},
		{"next line character", list(svc("a") + ",\n" + svc("b\u0085"))},
		{"line separator", list(svc("a") + ",\n" + svc("b\u2028"))},
		{"not ASCII", list(svc("a") + ",\n" + svc("b\u00e9"))},
		{"a second document", list(svc("a")) + "\n---\n" + svc("b")},
		{"a directive line", list(svc("a")) + "\n%YAML 1.2\n"},
		{"YAML cannot read an item, then more", list(svc("a") + `, {"a": "\ud800"}` + strings.Repeat(", "+svc("b"), 20))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadBoth(t, "list.json", []byte(tc.in))
		})
	}
}
