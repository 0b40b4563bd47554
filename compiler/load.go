package compiler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// Limits on the input, so that hostile or broken input gets an error and
// not a hang or an exhausted memory. docs/errors.md lists them.
const (
	// MaxInputBytes bounds all input files together.
	MaxInputBytes = 512 << 20
	// maxDocumentBytes bounds a YAML document (or JSON value) read as a
	// whole: yaml.v3 builds a node tree of about twenty times its size.
	// Larger documents must be Lists that are read item by item.
	maxDocumentBytes = 16 << 20
	// maxObjectNodes and maxObjectBytes bound one object once its YAML
	// aliases are expanded, against "billion laughs" documents. A real
	// object is far smaller: the API server takes at most 3 MiB.
	maxObjectNodes = 2_000_000
	maxObjectBytes = 16 << 20
	// maxObjectDepth bounds the nesting of one object; Kubernetes
	// objects nest a dozen levels deep. (yaml.v3 itself stops at 10000.)
	maxObjectDepth = 100
	// maxListDepth bounds Lists nested in Lists.
	maxListDepth = 8
	// maxKeptErrors bounds the diagnostics kept; the rest are counted.
	maxKeptErrors = 10000
)

// ReadSources reads the -f arguments: files, directories (every *.yaml,
// *.yml and *.json below, in name order) and "-" for stdin. It refuses
// more than MaxInputBytes in all.
func ReadSources(args []string, stdin io.Reader) ([]Source, error) {
	var out []Source
	total := int64(0)
	read := func(name string, r io.Reader, sizeHint int64) error {
		data, err := readAll(&untilNUL{r: io.LimitReader(r, MaxInputBytes-total+1)}, min(sizeHint, MaxInputBytes-total+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		total += int64(len(data))
		if total > MaxInputBytes {
			return fmt.Errorf("reading %s: the input is larger than %d MiB in all", name, MaxInputBytes>>20)
		}
		out = append(out, Source{Name: name, Data: data})
		return nil
	}
	readFile := func(path string) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reading input: %w", err)
		}
		defer f.Close()
		hint := int64(0)
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			hint = st.Size()
		}
		return read(path, f, hint)
	}
	for _, a := range args {
		if a == "-" {
			if err := read("<stdin>", stdin, 0); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("reading input: %w", err)
		}
		if !st.IsDir() {
			if err := readFile(a); err != nil {
				return nil, err
			}
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
			if err := readFile(f); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readAll is io.ReadAll with a first buffer of sizeHint bytes (a regular
// file's size), so that a large file is read into one allocation instead
// of a doubling series whose copies are garbage.
func readAll(r io.Reader, sizeHint int64) ([]byte, error) {
	b := make([]byte, 0, max(sizeHint+1, 512))
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// untilNUL reads up to and including the first NUL byte: text input has
// none, and Load reports it at its line, so that a binary file (or
// /dev/zero) is not read to the end first.
type untilNUL struct {
	r    io.Reader
	done bool
}

func (u *untilNUL) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	n, err := u.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		u.done = true
		return i + 1, nil
	}
	return n, err
}

// loader accumulates objects and diagnostics over all sources.
type loader struct {
	snap  *Snapshot
	errs  []Diagnostic
	warns []Diagnostic
	// dropped counts the errors not kept once maxKeptErrors were.
	dropped int
	// budget is what is left of the nodes and bytes one object may expand
	// to (toJSON); total is what is left for the whole input, which
	// aliases to whole objects or Lists could otherwise multiply.
	budget, byteBudget, total int
	// overBudget is set once total ran out (and reported).
	overBudget bool
	// size is the input's size in bytes.
	size int
	// streamErr is the syntax error that stopped streamList, if any.
	streamErr *yamlError
	// noStream reads Lists as whole documents.
	noStream bool
	// badPaths are the fields of the object being loaded whose values
	// had the wrong type (convert.go).
	badPaths []string
	// fast is the fast path's state (load_fast.go).
	fast *fastState
	// ascii is set while reading a source that is all ASCII.
	ascii bool
	// fieldPos keeps, for each object loaded, where the fields that
	// checkDuplicates compares across objects are (the node tree is
	// dropped after each object).
	fieldPos map[*metav1.ObjectMeta][]fieldAt
}

// fieldAt is the position of one field of an object.
type fieldAt struct {
	field string
	pos   Pos
}

// notePositions records where an object's name and the given fields are.
func (l *loader) notePositions(m *metav1.ObjectMeta, loc *locator, fields []string) {
	if l.fieldPos == nil {
		l.fieldPos = map[*metav1.ObjectMeta][]fieldAt{}
	}
	out := make([]fieldAt, 0, 1+len(fields))
	written := clusterIPField(loc)
	for _, f := range append([]string{"metadata.name"}, fields...) {
		at := f
		if written == "clusterIP" && f == "spec.clusterIPs[0]" {
			at = "spec.clusterIP" // defaulting copied it to clusterIPs
		}
		out = append(out, fieldAt{f, loc.posField(at)})
	}
	l.fieldPos[m] = out
}

// posOf is where the object has field f, or def if not recorded.
func (l *loader) posOf(m *metav1.ObjectMeta, f string, def Pos) Pos {
	for _, fa := range l.fieldPos[m] {
		if fa.field == f {
			return fa.pos
		}
	}
	return def
}

// accept reports whether the object being loaded may join the snapshot:
// it validated and had no value of the wrong type.
func (l *loader) accept(valid bool) bool { return valid && len(l.badPaths) == 0 }

// totalBudget is how many nodes the whole input may expand to: a fixed
// allowance plus a few per input byte (a node takes at least two bytes
// to write, so input without aliases never reaches it).
func (l *loader) totalBudget() int { return maxObjectNodes + 2*l.size }

// spend takes n nodes from the input's budget; once it runs out it
// reports that once and returns false.
func (l *loader) spend(pos Pos, n int) bool {
	l.total -= n
	if l.total >= 0 {
		return true
	}
	if !l.overBudget {
		l.overBudget = true
		l.errorf(pos, "", "", "input too large once YAML aliases are expanded (more than %d nodes in all)", l.totalBudget())
	}
	return false
}

// Load parses, defaults and validates the sources. On bad input it returns
// the snapshot read so far and an Errors value listing every problem.
func Load(srcs []Source) (*Snapshot, error) {
	return load(srcs, true)
}

// load is Load; stream false reads every document as a whole (the
// fuzz tests compare both ways).
func load(srcs []Source, stream bool) (*Snapshot, error) {
	l := &loader{snap: &Snapshot{}, noStream: !stream}
	size := 0
	for _, s := range srcs {
		size += len(s.Data)
	}
	l.size = size
	l.total = l.totalBudget()
	for _, s := range srcs {
		l.source(s)
	}
	mirrorAll(l)
	checkDuplicates(l)
	l.snap.Warnings = sortDiagnostics(l.warns)
	if len(l.errs) > 0 {
		l.errs = sortDiagnostics(l.errs)
		if l.dropped > 0 {
			last := l.errs[len(l.errs)-1]
			l.errs = append(l.errs, Diagnostic{Pos: last.Pos,
				Message: fmt.Sprintf("too many errors: %d more not recorded", l.dropped)})
		}
		return l.snap, Errors(l.errs)
	}
	return l.snap, nil
}

func (l *loader) errorf(pos Pos, object, field, format string, args ...any) {
	if len(l.errs) >= maxKeptErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, Diagnostic{Pos: pos, Object: object, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(pos Pos, object, field, format string, args ...any) {
	if len(l.warns) >= maxKeptErrors {
		return
	}
	l.warns = append(l.warns, Diagnostic{Pos: pos, Severity: SeverityWarning, Object: object, Field: field, Message: fmt.Sprintf(format, args...)})
}

// source loads one input file: document by document, and a List
// document item by item where it can (loadstream.go), so that the
// memory a file takes stays in proportion to its largest object.
func (l *loader) source(s Source) {
	line, msg, info, done := l.sourceJSONList(s)
	if done {
		return // a big JSON List, read while its characters were checked
	}
	if msg != "" {
		l.errorf(Pos{File: s.Name, Line: line}, "", "", "%s", msg)
		return
	}
	l.ascii = info.ascii
	defer func() { l.ascii = false }()
	for _, d := range documents(s.Data, info.marks) {
		l.document(s.Name, d)
	}
}

// document loads one YAML document (or a JSON value) of a file.
func (l *loader) document(file string, d document) {
	l.streamErr = nil
	if !l.noStream && l.fastJSONList(file, d) {
		return // a JSON List (load_fast.go), before jsonValues scans it all
	}
	if l.jsonValues(file, d) {
		return
	}
	if !l.noStream && l.streamList(file, d) {
		return
	}
	if len(d.data) > maxDocumentBytes {
		if l.streamErr != nil {
			// the List could not be read item by item because of this
			l.yamlError(file, l.streamErr)
			return
		}
		l.errorf(Pos{File: file, Line: d.line}, "", "",
			"document is larger than %d MiB: only a kind: List in block style or JSON is read item by item; split it into several documents", maxDocumentBytes>>20)
		return
	}
	if !l.noStream && l.fastObject(file, d.data, d.line) {
		return
	}
	nodes, err := parseYAML(d.data, d.line)
	for _, n := range nodes {
		l.node(file, n, 0)
	}
	if err != nil {
		l.yamlError(file, err)
	}
}

// yamlError reports a YAML syntax error.
func (l *loader) yamlError(file string, err *yamlError) {
	l.errorf(Pos{File: file, Line: err.line}, "", "", "invalid YAML: %s", err.msg)
}

// yamlError is a yaml.v3 error with its line counted in the file.
type yamlError struct {
	line int
	msg  string
}

// parseYAML decodes every document of data, whose first line is line
// firstLine of its file; node lines are shifted to count in the file. On a
// syntax error it returns the documents before it and the error.
func parseYAML(data []byte, firstLine int) ([]*yaml.Node, *yamlError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line, msg := splitYAMLError(err)
			line = problemLine(data, line, msg)
			return out, &yamlError{line: line + firstLine - 1, msg: msg}
		}
		if len(doc.Content) == 0 {
			continue
		}
		shiftLines(doc.Content[0], firstLine-1)
		out = append(out, doc.Content[0])
	}
}

// maxProblemSearchBytes bounds the documents problemLine searches.
const maxProblemSearchBytes = 1 << 20

// problemLine finds the line a syntax error is on. For many errors
// yaml.v3 gives the line where the enclosing construct starts (the
// mapping with the badly indented key, not the key); the first line whose
// prefix of the document already fails with the same message is the one
// that holds the problem. It is found by bisection, from the reported
// line on. Errors found only at the end of the input (an unclosed quote)
// keep yaml.v3's line, where the construct starts.
func problemLine(data []byte, reported int, msg string) int {
	if len(data) > maxProblemSearchBytes || strings.Contains(msg, "end of stream") {
		return reported
	}
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	// fails reports whether lines 1..k alone fail with msg.
	fails := func(k int) bool {
		end := len(data)
		if k < len(starts) {
			end = starts[k]
		}
		dec := yaml.NewDecoder(bytes.NewReader(data[:end]))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				return false
			}
			_, m := splitYAMLError(err)
			return m == msg
		}
	}
	lo, hi := reported, len(starts)
	if lo < 1 || lo > hi || fails(lo-1) {
		return reported
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// shiftLines adds delta to the line of n and of every node below it.
func shiftLines(n *yaml.Node, delta int) {
	if delta == 0 {
		return
	}
	n.Line += delta
	for _, c := range n.Content {
		shiftLines(c, delta)
	}
}

// node handles one object node (a document or a List item).
func (l *loader) node(file string, n *yaml.Node, depth int) {
	pos := Pos{File: file, Line: n.Line}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if n.Kind == yaml.AliasNode {
		// The same object twice is always a duplicate; refusing it here
		// also stops aliases from multiplying whole objects and Lists.
		l.errorf(pos, "", "", "a List item may not be a YAML alias (*%s): it would repeat objects", truncate(n.Value, 40))
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(pos, "", "", "expected a Kubernetes object (a mapping with apiVersion and kind), found %s", kindName(n))
		return
	}
	apiVersion, kind := scalarField(n, "apiVersion"), scalarField(n, "kind")
	if strings.HasSuffix(kind, "List") {
		if dup := repeatedKey(n); dup != nil {
			l.errorf(Pos{File: file, Line: dup.Line}, kind, dup.Value, "Duplicate value: %q: the key is already set", truncate(dup.Value, 40))
			return
		}
		items := rawChild(n, "items")
		if items == nil {
			return
		}
		if items.Kind == yaml.AliasNode {
			l.errorf(Pos{File: file, Line: items.Line}, kind, "items", "may not be a YAML alias (*%s): it would repeat objects", truncate(items.Value, 40))
			return
		}
		if items.Kind != yaml.SequenceNode {
			l.errorf(Pos{File: file, Line: items.Line}, kind, "items", "expected a list, found %s", kindName(items))
			return
		}
		if depth >= maxListDepth {
			l.errorf(pos, kind, "items", "Lists nested more than %d deep", maxListDepth)
			return
		}
		for _, it := range items.Content {
			if !l.spend(pos, 1) {
				return
			}
			l.node(file, it, depth+1)
		}
		return
	}
	if apiVersion == "" || kind == "" {
		l.warnf(pos, "", "", "object without apiVersion and kind ignored")
		return
	}
	loc := &locator{file: file, root: n}
	obj := kind + " " + objectName(n, kind)
	typeName := apiVersion + "/" + kind
	if strings.Contains(kind, "/") {
		// A kind never holds a slash; without this "discovery.k8s.io" and
		// "v1/EndpointSlice" would read as discovery.k8s.io/v1's.
		typeName = ""
	}
	switch typeName {
	case "v1/Service":
		var svc v1.Service
		if !l.decode(loc, obj, n, &svc) {
			return
		}
		defaultService(&svc)
		if l.accept(validateService(l, &svc, loc)) {
			l.snap.Services = append(l.snap.Services, &Service{Obj: &svc, Pos: pos})
			l.notePositions(&svc.ObjectMeta, loc, servicePositions(&svc, loc))
		}
	case "discovery.k8s.io/v1/EndpointSlice":
		var es discovery.EndpointSlice
		if !l.decode(loc, obj, n, &es) {
			return
		}
		defaultSlice(&es)
		if l.accept(validateSlice(l, &es, loc)) {
			l.snap.Slices = append(l.snap.Slices, &Slice{Obj: &es, Pos: pos})
			l.notePositions(&es.ObjectMeta, loc, nil)
		}
	case "v1/Endpoints":
		var ep v1.Endpoints
		if !l.decode(loc, obj, n, &ep) {
			return
		}
		if l.accept(validateEndpoints(l, &ep, loc)) {
			l.snap.Endpoints = append(l.snap.Endpoints, &EndpointsObj{Obj: &ep, Pos: pos})
			l.notePositions(&ep.ObjectMeta, loc, nil)
		}
	case "v1/Node":
		var node v1.Node
		if !l.decode(loc, obj, n, &node) {
			return
		}
		if l.accept(validateNode(l, &node, loc)) {
			l.snap.Nodes = append(l.snap.Nodes, &NodeObj{Obj: &node, Pos: pos})
			l.notePositions(&node.ObjectMeta, loc, nil)
		}
	case "networking.k8s.io/v1/ServiceCIDR":
		var sc serviceCIDR
		if !l.decode(loc, obj, n, &sc) {
			return
		}
		if l.accept(validateServiceCIDR(l, &sc, loc)) {
			l.snap.ServiceCIDRs = append(l.snap.ServiceCIDRs, &ServiceCIDRObj{Name: sc.Metadata.Name, CIDRs: sc.Spec.CIDRs, Pos: pos})
		}
	default:
		l.warnf(pos, "", "", "%s %s is not used by kube-proxy; skipped", apiVersion, kind)
	}
}

// decode converts object node n (convert.go) and decodes it into v, a
// pointer to its Go type; it reports whether that worked.
//
// After a type error (l.badPaths not empty) it still decodes, with the
// bad values as null, so that validation reports the other errors of the
// object; report leaves out those about the bad values, and the object
// is refused (accept).
func (l *loader) decode(loc *locator, obj string, n *yaml.Node, v any) bool {
	l.badPaths = l.badPaths[:0]
	data, ok := l.convert(loc, obj, n, reflect.TypeOf(v))
	if !ok {
		return false
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return true
	}
	// What convert lets through is well typed except for the few types
	// that decode themselves (targetPort, timestamps, quantities).
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		path := dottedToField(te.Field)
		l.errorf(loc.posField(path), obj, path, "Invalid value: expected %s, found a JSON %s", te.Type, te.Value)
		return false
	}
	l.errorf(Pos{File: loc.file, Line: loc.root.Line}, obj, "", "%s", strings.TrimPrefix(err.Error(), "json: "))
	return false
}

// dottedToField turns encoding/json's "spec.ports.0.port" into
// "spec.ports[0].port".
func dottedToField(p string) string {
	var b strings.Builder
	for i, s := range strings.Split(p, ".") {
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

// objectName is "namespace/name" as the object will be known (Services
// default to the namespace "default"), or the name of a cluster-scoped
// object.
func objectName(n *yaml.Node, kind string) string {
	md := child(n, "metadata")
	ns, name := scalarField(md, "namespace"), scalarField(md, "name")
	switch {
	case kind == "Node" || kind == "ServiceCIDR":
		return name
	case ns == "" && kind == "Service":
		ns = "default"
	}
	return ns + "/" + name
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

// repeatedKey returns the second occurrence of a key of mapping n, or nil.
func repeatedKey(n *yaml.Node) *yaml.Node {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if seen[k] {
			return n.Content[i]
		}
		seen[k] = true
	}
	return nil
}

// child returns the value of key in mapping n (an alias resolved), or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	v := rawChild(n, key)
	if v != nil && v.Kind == yaml.AliasNode {
		return v.Alias
	}
	return v
}

// rawChild returns the value node of key in mapping n, or nil.
func rawChild(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarField(n *yaml.Node, key string) string {
	v := child(n, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// splitYAMLError takes yaml.v3's "yaml: line N: message" apart. Errors
// without a line (rare: the reader's) count as line 1 of the document.
func splitYAMLError(err error) (int, string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(s, "line "); ok {
		num, msg, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil && n > 0 {
			return n, msg
		}
	}
	return 1, s
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
