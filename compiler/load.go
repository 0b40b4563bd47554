package compiler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Source is one input file's content.
type Source struct {
	Name string
	Data []byte
}

// Service is a loaded Service with its position.
type Service struct {
	Obj *v1.Service
	Pos Pos
}

// Slice is a loaded (or mirrored) EndpointSlice with its position.
type Slice struct {
	Obj *discovery.EndpointSlice
	Pos Pos
	// Mirrored is set for slices converted from a legacy Endpoints object.
	Mirrored bool
}

// EndpointsObj is a loaded legacy v1 Endpoints object.
type EndpointsObj struct {
	Obj *v1.Endpoints
	Pos Pos
}

// NodeObj is a loaded v1 Node.
type NodeObj struct {
	Obj *v1.Node
	Pos Pos
}

// ServiceCIDRObj is a loaded networking.k8s.io/v1 ServiceCIDR.
type ServiceCIDRObj struct {
	Name  string
	CIDRs []string
	Pos   Pos
}

// Snapshot is everything read from the input, defaulted and validated.
type Snapshot struct {
	Services     []*Service
	Slices       []*Slice
	Endpoints    []*EndpointsObj
	Nodes        []*NodeObj
	ServiceCIDRs []*ServiceCIDRObj
	Warnings     []Diagnostic
}

// Limits on input, so that hostile input gets an error, not a hang.
const (
	maxYAMLNodes = 50_000_000 // nodes after alias expansion, per document
	maxDepth     = 200
)

// ReadSources reads the -f arguments: files, directories (every *.yaml,
// *.yml and *.json below, in name order) and "-" for stdin.
func ReadSources(args []string, stdin io.Reader) ([]Source, error) {
	var out []Source
	for _, a := range args {
		if a == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			out = append(out, Source{Name: "<stdin>", Data: data})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("reading input: %w", err)
		}
		if !st.IsDir() {
			data, err := os.ReadFile(a)
			if err != nil {
				return nil, fmt.Errorf("reading input: %w", err)
			}
			out = append(out, Source{Name: a, Data: data})
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", a, err)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading input: %w", err)
			}
			out = append(out, Source{Name: f, Data: data})
		}
	}
	return out, nil
}

// loader accumulates objects and diagnostics over all sources.
type loader struct {
	snap   *Snapshot
	errs   []Diagnostic
	warns  []Diagnostic
	budget int
}

// Load parses, defaults and validates the sources. On bad input it returns
// the snapshot read so far and an Errors value listing every problem.
func Load(srcs []Source) (*Snapshot, error) {
	l := &loader{snap: &Snapshot{}}
	for _, s := range srcs {
		l.source(s)
	}
	mirrorAll(l)
	checkDuplicates(l)
	sortDiagnostics(l.warns)
	l.snap.Warnings = l.warns
	if len(l.errs) > 0 {
		sortDiagnostics(l.errs)
		return l.snap, Errors(l.errs)
	}
	return l.snap, nil
}

func (l *loader) errorf(pos Pos, object, field, format string, args ...any) {
	l.errs = append(l.errs, Diagnostic{Pos: pos, Object: object, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(pos Pos, object, field, format string, args ...any) {
	l.warns = append(l.warns, Diagnostic{Pos: pos, Severity: SeverityWarning, Object: object, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) source(s Source) {
	if bytes.IndexByte(s.Data, 0) >= 0 {
		l.errorf(Pos{File: s.Name, Line: 1}, "", "", "input contains a NUL byte: not a YAML or JSON file")
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(s.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.errorf(Pos{File: s.Name, Line: yamlErrorLine(err)}, "", "", "%s", yamlErrorText(err))
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		l.node(s.Name, doc.Content[0], 0)
	}
}

// node handles one object node (a document or a List item).
func (l *loader) node(file string, n *yaml.Node, depth int) {
	pos := Pos{File: file, Line: n.Line}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(pos, "", "", "expected a Kubernetes object (a mapping with apiVersion and kind), found %s", kindName(n))
		return
	}
	apiVersion, kind := scalarField(n, "apiVersion"), scalarField(n, "kind")
	if strings.HasSuffix(kind, "List") {
		items := field(n, "items")
		if items == nil {
			return
		}
		if items.Kind == yaml.AliasNode {
			items = items.Alias
		}
		if items.Kind != yaml.SequenceNode {
			l.errorf(Pos{File: file, Line: items.Line}, kind, "items", "expected a list, found %s", kindName(items))
			return
		}
		if depth > 8 {
			l.errorf(pos, kind, "items", "Lists nested more than 8 deep")
			return
		}
		for _, it := range items.Content {
			l.node(file, it, depth+1)
		}
		return
	}
	if apiVersion == "" || kind == "" {
		l.warnf(pos, "", "", "object without apiVersion and kind ignored")
		return
	}
	var buf bytes.Buffer
	l.budget = maxYAMLNodes
	if err := l.toJSON(&buf, n, 0); err != nil {
		l.errorf(pos, kind, "", "%v", err)
		return
	}
	loc := &locator{file: file, root: n}
	switch apiVersion + "/" + kind {
	case "v1/Service":
		var svc v1.Service
		if !l.decode(buf.Bytes(), &svc, loc, "Service") {
			return
		}
		defaultService(&svc)
		if validateService(l, &svc, loc) {
			l.snap.Services = append(l.snap.Services, &Service{Obj: &svc, Pos: pos})
		}
	case "discovery.k8s.io/v1/EndpointSlice":
		var es discovery.EndpointSlice
		if !l.decode(buf.Bytes(), &es, loc, "EndpointSlice") {
			return
		}
		defaultSlice(&es)
		if validateSlice(l, &es, loc) {
			l.snap.Slices = append(l.snap.Slices, &Slice{Obj: &es, Pos: pos})
		}
	case "v1/Endpoints":
		var ep v1.Endpoints
		if !l.decode(buf.Bytes(), &ep, loc, "Endpoints") {
			return
		}
		if validateEndpoints(l, &ep, loc) {
			l.snap.Endpoints = append(l.snap.Endpoints, &EndpointsObj{Obj: &ep, Pos: pos})
		}
	case "v1/Node":
		var node v1.Node
		if !l.decode(buf.Bytes(), &node, loc, "Node") {
			return
		}
		l.snap.Nodes = append(l.snap.Nodes, &NodeObj{Obj: &node, Pos: pos})
	case "networking.k8s.io/v1/ServiceCIDR":
		var sc struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				CIDRs []string `json:"cidrs"`
			} `json:"spec"`
		}
		if !l.decode(buf.Bytes(), &sc, loc, "ServiceCIDR") {
			return
		}
		obj := "ServiceCIDR " + sc.Metadata.Name
		for i, c := range sc.Spec.CIDRs {
			if _, ok := ParseCIDRSloppy(c); !ok {
				l.errorf(loc.pos("spec", "cidrs", i), obj, fmt.Sprintf("spec.cidrs[%d]", i), "Invalid value: %q: must be a valid CIDR", c)
			}
		}
		l.snap.ServiceCIDRs = append(l.snap.ServiceCIDRs, &ServiceCIDRObj{Name: sc.Metadata.Name, CIDRs: sc.Spec.CIDRs, Pos: pos})
	default:
		l.warnf(pos, "", "", "%s %s is not used by kube-proxy; skipped", apiVersion, kind)
	}
}

// decode unmarshals the object's JSON into a typed value, reporting type
// errors at the field's line.
func (l *loader) decode(data []byte, v any, loc *locator, kind string) bool {
	err := json.Unmarshal(data, v)
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	obj := kind + " " + objectName(loc.root)
	if errors.As(err, &te) {
		path := te.Field
		l.errorf(loc.posDotted(path), obj, jsonPathToField(path), "Invalid value: expected %s, found a JSON %s", te.Type.String(), te.Value)
		return false
	}
	l.errorf(Pos{File: loc.file, Line: loc.root.Line}, obj, "", "%v", err)
	return false
}

func objectName(n *yaml.Node) string {
	md := field(n, "metadata")
	if md == nil {
		return ""
	}
	ns, name := scalarField(md, "namespace"), scalarField(md, "name")
	if ns == "" {
		ns = "default"
	}
	return ns + "/" + name
}

// jsonPathToField turns encoding/json's "spec.ports.0.port" into
// "spec.ports[0].port".
func jsonPathToField(p string) string {
	parts := strings.Split(p, ".")
	var b strings.Builder
	for i, s := range parts {
		if _, err := strconv.Atoi(s); err == nil && i > 0 {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "the scalar " + strconv.Quote(truncate(n.Value, 40))
	}
	return "nothing"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode {
				return v.Alias
			}
			return v
		}
	}
	return nil
}

func scalarField(n *yaml.Node, key string) string {
	v := field(n, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// toJSON converts a YAML node to JSON, resolving aliases within a budget
// of nodes so that alias bombs end in an error.
func (l *loader) toJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	l.budget--
	if l.budget < 0 {
		return fmt.Errorf("document too large after alias expansion (more than %d nodes)", maxYAMLNodes)
	}
	if depth > maxDepth {
		return fmt.Errorf("line %d: nesting deeper than %d levels", n.Line, maxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return l.toJSON(b, n.Alias, depth+1)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			writeJSONString(b, k.Value)
			b.WriteByte(':')
			if err := l.toJSON(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := l.toJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return scalarJSON(b, n)
	default:
		b.WriteString("null")
	}
	return nil
}

func scalarJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			b.WriteString("true")
		default:
			b.WriteString("false")
		}
	case "!!int":
		v := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(v, 0, 64); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
		} else if u, err := strconv.ParseUint(v, 0, 64); err == nil {
			b.WriteString(strconv.FormatUint(u, 10))
		} else if strings.HasPrefix(v, "0o") {
			i, err := strconv.ParseInt(v[2:], 8, 64)
			if err != nil {
				return fmt.Errorf("line %d: invalid integer %q", n.Line, truncate(n.Value, 40))
			}
			b.WriteString(strconv.FormatInt(i, 10))
		} else {
			return fmt.Errorf("line %d: invalid integer %q", n.Line, truncate(n.Value, 40))
		}
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: number %q cannot be represented in JSON", n.Line, truncate(n.Value, 40))
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		writeJSONString(b, n.Value)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// yamlErrorLine extracts the line from a yaml.v3 error ("yaml: line N: ...").
func yamlErrorLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		rest := s[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil {
			return n
		}
	}
	return 1
}

func yamlErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(s, "line ") {
		if i := strings.Index(s, ": "); i >= 0 {
			s = s[i+2:]
		}
	}
	return "invalid YAML: " + s
}

// locator maps a field path of one object to its line in the file.
type locator struct {
	file string
	root *yaml.Node
}

// pos finds the line of a path made of mapping keys (string) and sequence
// indexes (int); it stops at the deepest element that exists.
func (lc *locator) pos(path ...any) Pos {
	n := lc.root
	line := n.Line
	for _, p := range path {
		if n == nil {
			break
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		switch k := p.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
			n = next
		case int:
			var next *yaml.Node
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
			n = next
		}
	}
	return Pos{File: lc.file, Line: line}
}

// posDotted is pos for encoding/json's dotted paths ("spec.ports.0.port").
func (lc *locator) posDotted(p string) Pos {
	var path []any
	for _, s := range strings.Split(p, ".") {
		if i, err := strconv.Atoi(s); err == nil {
			path = append(path, i)
		} else if s != "" {
			path = append(path, s)
		}
	}
	return lc.pos(path...)
}
