package compiler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStreamList checks which Lists are read item by item, and that the
// result is always what reading them whole gives.
func TestStreamList(t *testing.T) {
	svc := func(name string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: 10.96.0." + name[len(name)-1:] + ", ports: [{port: 80}]}"
	}
	item := func(indent, obj string) string {
		lines := strings.Split(obj, "\n")
		out := indent + "- " + lines[0] + "\n"
		for _, l := range lines[1:] {
			out += indent + "  " + l + "\n"
		}
		return out
	}
	tests := []struct {
		name     string
		input    string
		streamed bool
	}{
		{"block list", "apiVersion: v1\nkind: List\nitems:\n" + item("", svc("a1")) + item("", svc("a2")), true},
		{"indented dashes", "kind: List\nitems:\n" + item("  ", svc("a1")) + item("  ", svc("a2")) + "metadata: {}\n", true},
		{"CRLF", strings.ReplaceAll("kind: List\nitems:\n"+item("", svc("a1"))+item("", svc("a2")), "\n", "\r\n"), true},
		{"comments and blank lines between items", "kind: List\nitems:\n# one\n" + item("", svc("a1")) + "\n  # two\n" + item("", svc("a2")), true},
		{"an empty item", "kind: List\nitems:\n-\n" + item("", svc("a1")), true},
		{"items before kind, then more keys", "apiVersion: v1\nitems:\n" + item("", svc("a1")) + "kind: List\nmetadata:\n  resourceVersion: \"\"\n", true},
		{"a nested List", "kind: List\nitems:\n" + item("", "kind: List\nitems:\n- "+strings.ReplaceAll(svc("a1"), "\n", "\n  ")), true},
		{"JSON", `{"apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a1"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}}], "kind": "List"}`, true},
		{"JSON that is no List", `{"apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a1"}}], "kind": "Service", "metadata": {"name": "x"}}`, false},
		{"JSON with a key twice", `{"kind": "List", "items": [], "kind": "List"}`, false},
		{"an anchor shared between items", "kind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: &m {name: a1}\n  spec: {clusterIP: None}\n- apiVersion: v1\n  kind: Endpoints\n  metadata: *m\n", false},
		{"flow items", "kind: List\nitems: [{apiVersion: v1, kind: Service, metadata: {name: a1}, spec: {clusterIP: None}}]\n", false},
		{"not a List", "kind: Service\nitems:\n- a\n", false},
		{"a tab in the indentation", "kind: List\nitems:\n-\tapiVersion: v1\n", false},
		{"items twice", "kind: List\nitems:\n- {}\nitems:\n- {}\n", false},
		{"items twice, the second after another key", "kind: List\nitems:\n- {}\nmetadata: {}\nitems:\n- {}\n", false},
		{"a syntax error in an item", "kind: List\nitems:\n" + item("", svc("a1")) + "- apiVersion: [\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loader{snap: &Snapshot{}, size: len(tc.input)}
			l.total = l.totalBudget()
			if got := l.streamList("in.yaml", document{data: []byte(tc.input), line: 1}); got != tc.streamed {
				t.Errorf("read item by item: %v, want %v", got, tc.streamed)
			}
			if !tc.streamed && (len(l.snap.Services) > 0 || len(l.errs) > 0 || len(l.warns) > 0) {
				t.Errorf("a List not read item by item left %d services, %d errors, %d warnings", len(l.snap.Services), len(l.errs), len(l.warns))
			}
			src := []Source{{Name: "in.yaml", Data: []byte(tc.input)}}
			s1, err1 := load(src, true)
			s2, err2 := load(src, false)
			if diff := cmp.Diff(s2, s1); diff != "" {
				t.Errorf("(-whole +item by item):\n%s", diff)
			}
			if diff := cmp.Diff(errText(err2), errText(err1)); diff != "" {
				t.Errorf("errors (-whole +item by item):\n%s", diff)
			}
		})
	}
}
