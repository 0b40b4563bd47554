package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// loadText loads one file and returns its errors and warnings as lines.
func loadText(t *testing.T, name, data string) (*Snapshot, []string, []string) {
	t.Helper()
	snap, err := Load([]Source{{Name: name, Data: []byte(data)}})
	var errs []string
	if err != nil {
		var es Errors
		if !errors.As(err, &es) {
			t.Fatalf("Load: %T %v", err, err)
		}
		for _, d := range es {
			errs = append(errs, d.String())
		}
	}
	var warns []string
	for _, w := range snap.Warnings {
		warns = append(warns, w.String())
	}
	return snap, errs, warns
}

const svcHead = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"

func TestLoadDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		file  string // default in.yaml
		input string
		errs  []string
		warns []string
	}{
		{
			name: "positions count in the file across documents and List items",
			input: "# a comment\n" + svcHead + "spec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 70000\n" +
				"---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec:\n    clusterIP: 10.96.0.2\n    ports:\n    - port: 0\n",
			errs: []string{
				"in.yaml:9: Service default/web: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
				"in.yaml:20: Service default/b: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
			},
		},
		{
			name: "JSON positions",
			file: "in.json",
			input: `{"apiVersion":"v1","kind":"List","items":[` + "\n" +
				`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},` + "\n" +
				`"spec":{"clusterIP":"10.96.0.1",` + "\n" + `"ports":[{"port":-1}]}}]}`,
			errs: []string{"in.json:4: Service default/a: spec.ports[0].port: Invalid value: -1: must be between 1 and 65535, inclusive"},
		},
		{
			// what jq '.items[]' prints: each object is a document
			name: "JSON objects one after another",
			file: "in.json",
			input: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":80}]}}` + "\n" +
				`{"apiVersion":"v1","kind":"Service","metadata":{"name":"b"},` + "\n" + `"spec":{"clusterIP":"10.96.0.2","ports":[{"port":70000}]}}` + "\n",
			errs: []string{"in.json:3: Service default/b: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
		},
		{
			name:  "a JSON object and then something else",
			file:  "in.json",
			input: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"None"}}` + "\n[1]\n",
			errs:  []string{"in.json:2: invalid YAML: did not find expected <document start>"},
		},
		{
			// The API server checks Service port names as DNS-1123 labels,
			// not as the IANA names of container ports (15 characters).
			name:  "long and numeric service port names are valid",
			input: svcHead + "spec:\n  clusterIP: 10.96.0.1\n  ports:\n  - {name: a-very-long-port-name, port: 80}\n  - {name: \"8080\", port: 81}\n  - {name: a--b, port: 82}\n",
		},
		{
			// RelaxedServiceNameValidation is on by default in v1.36:
			// Service names are DNS-1123 labels and may start with a digit.
			name:  "service name may start with a digit",
			input: "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\nspec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n",
		},
		{
			// kube-proxy skips a slice port of 0; the API server accepts it.
			name: "endpointslice port 0 is accepted",
			input: "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: default, labels: {kubernetes.io/service-name: web}}\n" +
				"addressType: IPv4\nports: [{name: x, port: 0}]\nendpoints: [{addresses: [10.0.0.1]}]\n",
		},
		{
			name:  "field names are case-sensitive",
			input: svcHead + "spec:\n  ClusterIP: 10.96.0.9\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n",
			warns: []string{`in.yaml:6: warning: Service default/web: spec.ClusterIP: unknown field, ignored (field names are case-sensitive: "clusterIP")`},
		},
		{
			name:  "a key given twice is an error",
			input: svcHead + "spec:\n  clusterIP: 10.96.0.1\n  clusterIP: 10.96.0.2\n  ports: [{port: 80}]\n",
			errs:  []string{`in.yaml:7: Service default/web: spec.clusterIP: Duplicate value: "clusterIP": the key is already set at line 6`},
		},
		{
			name:  "merge keys merge",
			input: svcHead + "  labels: &d {clusterIP: 10.96.0.1}\nspec:\n  <<: *d\n  ports: [{port: 80}]\n",
		},
		{
			name:  "values of the wrong type, and the rest of the object is still checked",
			input: svcHead + "  namespace: Bad\nspec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: \"80\"\n    protocol: tcp\n",
			errs: []string{
				`in.yaml:5: Service Bad/web: metadata.namespace: Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
				`in.yaml:9: Service Bad/web: spec.ports[0].port: Invalid value: "80": expected an integer (int32)`,
				`in.yaml:10: Service Bad/web: spec.ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`,
			},
		},
		{
			name:  "control characters in names are escaped in messages",
			input: "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"web\\nin.yaml:1: fake\\x1b[2J\"\nspec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n",
			errs: []string{
				`in.yaml:4: Service default/web\nin.yaml:1: fake\x1b[2J: metadata.name: Invalid value: "web\nin.yaml:1: fake\x1b[2J": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			},
		},
		{
			name:  "a NUL byte is refused at its line",
			input: svcHead + "spec:\n  clusterIP: \x00\n",
			errs:  []string{"in.yaml:6: control character U+0000 is not allowed in YAML or JSON input (is this a binary file?)"},
		},
		{
			name:  "invalid UTF-8 is refused at its line",
			input: svcHead + "spec:\n  clusterIP: \xff\n",
			errs:  []string{"in.yaml:6: invalid UTF-8 (byte 0xff): YAML and JSON input must be UTF-8 text"},
		},
		{
			name:  "YAML syntax errors count lines in the file",
			input: svcHead + "spec: {clusterIP: None}\n---\n" + svcHead + "spec:\n  ports: [\n",
			errs:  []string{"in.yaml:12: invalid YAML: did not find expected node content"},
		},
		{
			// yaml.v3 names the line where the enclosing mapping starts;
			// the error is on the badly indented key.
			name:  "a syntax error is reported on its line, not on its block's",
			input: svcHead + "spec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 80\n   protocol: TCP\n",
			errs:  []string{"in.yaml:9: invalid YAML: did not find expected key"},
		},
		{
			// Both were read, the first quietly ignored.
			name:  "a List with items twice",
			input: "kind: List\nitems:\n- {}\nmetadata: {}\nitems:\n- {}\n",
			errs:  []string{`in.yaml:5: List: items: Duplicate value: "items": the key is already set`},
		},
		{
			name: "two services cannot share a cluster IP or a node port",
			input: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: NodePort, clusterIP: 10.96.0.1, ports: [{port: 80, nodePort: 30001}]}\n---\n" +
				"apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {type: NodePort, clusterIP: 10.96.0.1, ports: [{port: 80, nodePort: 30001, protocol: UDP}]}\n",
			errs: []string{
				"in.yaml:9: Service default/b: spec.clusterIPs[0]: Duplicate value: cluster IP 10.96.0.1 is also spec.clusterIPs[0] of Service default/a (in.yaml:4): the API server allocates each one once",
				"in.yaml:9: Service default/b: spec.ports[0].nodePort: Duplicate value: node port 30001 is also spec.ports[0].nodePort of Service default/a (in.yaml:4): the API server allocates each one once",
			},
		},
		{
			// One Service may use a node port for two protocols, but not
			// as its health check node port as well.
			name: "a service's own node ports",
			input: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30001, clusterIP: 10.96.0.1,\n" +
				"  ports: [{name: t, port: 80, nodePort: 30001}, {name: u, port: 80, nodePort: 30001, protocol: UDP}]}\n",
			errs: []string{
				"in.yaml:4: Service default/a: spec.healthCheckNodePort: Duplicate value: node port 30001 is also spec.ports[0].nodePort",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "in.yaml"
			}
			_, errs, warns := loadText(t, file, tc.input)
			if diff := cmp.Diff(tc.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(svcHead + "spec:\n  clusterIP: 10.96.0.1\n  ports:\n")
	for i := 0; i < MaxReportedErrors+5; i++ {
		b.WriteString("  - {name: p" + strings.Repeat("x", i%3) + ", port: 0}\n")
	}
	_, err := Load([]Source{{Name: "in.yaml", Data: []byte(b.String())}})
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxReportedErrors+1 || !strings.HasPrefix(lines[len(lines)-1], "too many errors: ") {
		t.Errorf("got %d lines, last %q; want %d and a summary", len(lines), lines[len(lines)-1], MaxReportedErrors+1)
	}
}

// TestLargeList loads a kind: List bigger than maxDocumentBytes, which
// only reading it item by item can do, in YAML and in JSON.
func TestLargeList(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20 MiB input")
	}
	var y, j strings.Builder
	y.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	j.WriteString(`{"apiVersion": "v1", "kind": "List", "items": [`)
	endpoints := 0
	for s := 0; y.Len() < maxDocumentBytes+(1<<20); s++ {
		fmt.Fprintf(&y, "- apiVersion: v1\n  kind: Service\n  metadata: {name: svc-%d, namespace: ns}\n  spec:\n    clusterIP: 10.96.%d.%d\n    ports: [{port: 80}]\n", s, s/250, 1+s%250)
		fmt.Fprintf(&y, "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: svc-%d-1, namespace: ns, labels: {kubernetes.io/service-name: svc-%d}}\n  addressType: IPv4\n  ports: [{port: 8080}]\n  endpoints:\n", s, s)
		if s > 0 {
			j.WriteString(",")
		}
		fmt.Fprintf(&j, "\n{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"svc-%d\", \"namespace\": \"ns\"}, \"spec\": {\"clusterIP\": \"10.96.%d.%d\", \"ports\": [{\"port\": 80}]}}", s, s/250, 1+s%250)
		fmt.Fprintf(&j, ",\n{\"apiVersion\": \"discovery.k8s.io/v1\", \"kind\": \"EndpointSlice\", \"metadata\": {\"name\": \"svc-%d-1\", \"namespace\": \"ns\", \"labels\": {\"kubernetes.io/service-name\": \"svc-%d\"}}, \"addressType\": \"IPv4\", \"ports\": [{\"port\": 8080}], \"endpoints\": [", s, s)
		for e := 0; e < 100; e++ {
			n := s*100 + e
			ip := fmt.Sprintf("10.%d.%d.%d", 128+n>>16&127, n>>8&255, n&255)
			fmt.Fprintf(&y, "  - addresses: [%s]\n    nodeName: node%d\n", ip, e%7)
			if e > 0 {
				j.WriteString(", ")
			}
			fmt.Fprintf(&j, "{\"addresses\": [\"%s\"], \"nodeName\": \"node%d\"}", ip, e%7)
			endpoints++
		}
		j.WriteString("]}")
	}
	j.WriteString("]}\n")
	for name, data := range map[string]string{"list.yaml": y.String(), "list.json": j.String()} {
		snap, err := Load([]Source{{Name: name, Data: []byte(data)}})
		if err != nil {
			t.Fatalf("%s (%d MiB): %v", name, len(data)>>20, err)
		}
		if len(data) <= maxDocumentBytes {
			t.Fatalf("%s: only %d bytes", name, len(data))
		}
		if len(snap.Slices) == 0 {
			t.Fatalf("%s: no slices loaded", name)
		}
		if len(snap.Services) == 0 {
			t.Fatalf("%s: no services loaded", name)
		}
	}
	t.Logf("%d endpoints", endpoints)
}

// zeros is an endless stream of NUL bytes that counts what was read.
type zeros struct{ read int }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.read += len(p)
	return len(p), nil
}

// TestReadSourcesStopsAtNUL: a binary stream is not read to its end (or
// to MaxInputBytes) before Load refuses it.
func TestReadSourcesStopsAtNUL(t *testing.T) {
	z := &zeros{}
	srcs, err := ReadSources([]string{"-"}, z)
	if err != nil {
		t.Fatal(err)
	}
	if z.read > 1<<20 {
		t.Errorf("read %d bytes of an endless stream of NULs", z.read)
	}
	_, errs, _ := loadText(t, "<stdin>", string(srcs[0].Data))
	want := []string{"<stdin>:1: control character U+0000 is not allowed in YAML or JSON input (is this a binary file?)"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLargeListItem: an item of a List is an object, and no object the
// API server holds is near maxDocumentBytes; a larger one is refused
// before it is parsed, and the other items are still read.
func TestLargeListItem(t *testing.T) {
	in := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: big\n    annotations:\n      a: " +
		strings.Repeat("x", maxDocumentBytes) + "\n  spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n" +
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: ok}\n  spec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n"
	snap, errs, _ := loadText(t, "in.yaml", in)
	want := []string{"in.yaml:4: object is larger than 16 MiB (the API server takes at most 3 MiB)"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(snap.Services) != 1 || snap.Services[0].Obj.Name != "ok" {
		t.Errorf("services %v, want ok only", snap.Services)
	}
}

// TestReadAll: the size hint only sizes the first buffer; a hint that is
// too small, too large or absent reads the same bytes.
func TestReadAll(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 10000))
	for _, hint := range []int64{0, 1, 511, 512, int64(len(data)) - 1, int64(len(data)), int64(len(data)) + 1, 4 * int64(len(data))} {
		got, err := readAll(iotest.OneByteReader(bytes.NewReader(data[:50])), hint)
		if err != nil || !bytes.Equal(got, data[:50]) {
			t.Errorf("hint %d, one byte at a time: got %d bytes, %v", hint, len(got), err)
		}
		got, err = readAll(bytes.NewReader(data), hint)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("hint %d: got %d bytes, %v", hint, len(got), err)
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(iotest.ErrReader(boom), 10); !errors.Is(err, boom) {
		t.Errorf("read error: got %v, want %v", err, boom)
	}
}
