package compiler

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The loader's fast path. Services and EndpointSlices are nearly all of a
// big cluster's input; when one is well formed and valid, it is decoded
// straight from its text (fastdecode.go, fastyaml.go), defaulted and
// validated, without yaml.v3's node tree and the JSON detour, which cost
// twenty times more. When anything is off (an unusual construct, a type
// mismatch, an unknown or repeated field, a validation finding) nothing
// is kept and the object goes through the full path, which gives the
// diagnostics their lines; the result is the same either way (fuzz tests
// load with and without the fast path).

// fastOff turns the fast path off (tests compare loading with and without).
var fastOff bool

// fastState is the fast path's reusable memory.
type fastState struct {
	tree  ftree
	dec   fdecoder
	arena stringArena
	// noLoc positions nothing: the fast path discards every finding.
	noLoc locator
	// hits counts the objects taken (for tests).
	hits int
	// pt is the tree of the object whose positions are being noted; its
	// text starts at pt.data[baseOff], on line baseLine.
	pt                *ftree
	baseOff, baseLine int
	file              string
}

// fastObject loads one object whose text (JSON, or YAML in kubectl's
// block style) starts on line of file. It reports false, with nothing
// recorded, when the object must go through the full path.
func (l *loader) fastObject(file string, data []byte, line int) bool {
	if fastOff {
		return false
	}
	l.initFast()
	if len(data) > maxObjectBytes/4 || l.yamlBreaks(data) {
		return false // the full path has the size limits
	}
	t := &l.fast.tree
	rootLine := 0
	if j := bytes.TrimLeft(data, " \t\r\n"); len(j) > 0 && j[0] == '{' {
		if !parseJSONTree(t, data) {
			return false
		}
		rootLine = line + bytes.Count(data[:len(data)-len(j)], []byte{'\n'})
	} else {
		r, ok := parseYAMLTree(t, data)
		if !ok {
			return false
		}
		rootLine = line + r - 1
	}
	return l.fastTree(file, 0, line, rootLine)
}

// fastTree loads the object parsed into l.fast.tree, whose text starts
// at offset base of the tree's data, on line baseLine.
func (l *loader) fastTree(file string, base, baseLine, rootLine int) bool {
	t := &l.fast.tree
	if l.total < len(t.nodes) {
		return false // before decoding, which would be wasted
	}
	return l.fastDecoded(file, t, decodeFast(&l.fast.dec, t), base, baseLine, rootLine)
}

// decodeFast decodes a tree that the fast path may take: a Service or an
// EndpointSlice (as a pointer), or nil when the tree is anything else or
// does not decode. It touches nothing but d, so that a second goroutine
// can decode with a decoder of its own (load_parallel.go).
func decodeFast(d *fdecoder, t *ftree) any {
	if len(t.nodes) == 0 || t.nodes[0].kind != fObject || len(t.nodes) > maxObjectNodes/4 {
		return nil
	}
	apiVersion, kind := t.topText("apiVersion"), t.topText("kind")
	d.t = t
	switch {
	case isTypeName(apiVersion, kind, "v1/Service"):
		svc := new(v1.Service)
		if d.decode(svc) {
			return svc
		}
	case isTypeName(apiVersion, kind, "discovery.k8s.io/v1/EndpointSlice"):
		es := new(discovery.EndpointSlice)
		if d.decode(es) {
			return es
		}
	}
	return nil
}

// fastDecoded defaults, validates and records obj, decoded (decodeFast)
// from tree t, whose text starts at offset base of the tree's data, on
// line baseLine. It reports false, with nothing recorded, when the
// object must go through the full path.
func (l *loader) fastDecoded(file string, t *ftree, obj any, base, baseLine, rootLine int) bool {
	if obj == nil || l.total < len(t.nodes) {
		return false
	}
	f := l.fast
	f.pt, f.baseOff, f.baseLine, f.file = t, base, baseLine, file
	pos := Pos{File: file, Line: rootLine}
	m := l.mark()
	l.badPaths = l.badPaths[:0]
	f.noLoc.file = file
	switch obj := obj.(type) {
	case *v1.Service:
		defaultService(obj)
		if !l.accept(validateService(l, obj, &f.noLoc)) || l.changed(m) {
			l.rollback(m)
			return false
		}
		l.snap.Services = append(l.snap.Services, &Service{Obj: obj, Pos: pos})
		l.notePositionsFast(&obj.ObjectMeta, rootLine, servicePositions(obj, nil))
	case *discovery.EndpointSlice:
		defaultSlice(obj)
		if !l.accept(validateSlice(l, obj, &f.noLoc)) || l.changed(m) {
			l.rollback(m)
			return false
		}
		l.snap.Slices = append(l.snap.Slices, &Slice{Obj: obj, Pos: pos})
		l.notePositionsFast(&obj.ObjectMeta, rootLine, nil)
	default:
		return false
	}
	l.total -= len(t.nodes)
	f.hits++
	return true
}

// yamlBreaks is hasYAMLBreaks(data) for data of the source being read,
// without a search when the source is all ASCII.
func (l *loader) yamlBreaks(data []byte) bool {
	return !l.ascii && hasYAMLBreaks(data)
}

func (l *loader) initFast() {
	if l.fast == nil {
		l.fast = &fastState{}
		l.fast.dec.arena = &l.fast.arena
		l.fast.noLoc.root = &yaml.Node{}
	}
}

// fastJSONList reads a JSON List document as streamJSONList does, with
// the same result, but cuts the items with the fast path's parser (which
// also decodes them) instead of encoding/json's Decoder, which took half
// of the loading time of a big List. It reports false, with nothing
// recorded, if the document is anything but a well-formed JSON object.
func (l *loader) fastJSONList(file string, d document) bool {
	if fastOff || len(d.data) >= 1<<31-1 || l.yamlBreaks(d.data) {
		return false
	}
	l.initFast()
	t := &l.fast.tree
	t.yaml = false
	m := l.mark()
	fail := func() bool { l.rollback(m); return false }
	lines := &lineCounter{data: d.data, line: d.line}
	p := jsonParser{t: t, data: d.data}
	p.ws()
	if p.off >= len(d.data) || d.data[p.off] != '{' {
		return false
	}
	p.off++
	var seenItems, seenKind bool
	var seen []string
	kind := ""
	p.ws()
	for more := p.off < len(d.data) && d.data[p.off] != '}'; more; {
		// a key (streamItem may have parsed another text into t)
		t.data, t.nodes = d.data, t.nodes[:0]
		if p.off >= len(d.data) || d.data[p.off] != '"' || !p.str() || t.nodes[0].esc {
			return fail()
		}
		key := string(t.text(0))
		if slices.Contains(seen, key) {
			return fail()
		}
		seen = append(seen, key)
		p.ws()
		if p.off >= len(d.data) || d.data[p.off] != ':' {
			return fail()
		}
		p.off++
		p.ws()
		switch key {
		case "items":
			seenItems = true
			items := l.fastJSONItems
			if parallelItems(len(d.data)) {
				items = l.fastJSONItemsParallel
			}
			if !items(file, &p, lines) {
				return fail()
			}
		case "kind":
			seenKind = true
			end, ok := parseJSONAt(t, d.data, p.off)
			if !ok || t.nodes[0].kind != fString || t.nodes[0].esc {
				return fail()
			}
			kind, p.off = string(t.text(0)), end
		default:
			end, ok := parseJSONAt(t, d.data, p.off)
			if !ok {
				return fail()
			}
			p.off = end
		}
		p.ws()
		switch {
		case p.off < len(d.data) && d.data[p.off] == ',':
			p.off++
			p.ws()
		case p.off < len(d.data) && d.data[p.off] == '}':
			more = false
		default:
			return fail()
		}
	}
	if p.off >= len(d.data) {
		return fail()
	}
	p.off++ // the closing brace
	p.ws()
	if p.off != len(d.data) || !seenItems || !seenKind || !strings.HasSuffix(kind, "List") {
		return fail()
	}
	return true
}

// fastJSONItems reads the items array of a JSON List, p at its '['.
func (l *loader) fastJSONItems(file string, p *jsonParser, lines *lineCounter) bool {
	data := p.data
	if p.off >= len(data) || data[p.off] != '[' {
		return false
	}
	p.off++
	p.ws()
	if p.off < len(data) && data[p.off] == ']' {
		p.off++
		return true
	}
	for {
		start := p.off
		end, ok := parseJSONAt(&l.fast.tree, data, start)
		if !ok {
			return false
		}
		p.off = end
		line := lines.at(start)
		if end-start > maxObjectBytes/4 || !l.fastTree(file, start, line, line) {
			if !l.streamItem(file, data[start:end], line) {
				return false
			}
		}
		more, ok := p.afterItem()
		if !more {
			return ok
		}
	}
}

// afterItem reads what follows an item of a JSON array: a comma (more
// items follow, ok), the closing bracket (the last item, ok), or anything
// else (not ok).
func (p *jsonParser) afterItem() (more, ok bool) {
	p.ws()
	if p.off < len(p.data) {
		switch p.data[p.off] {
		case ',':
			p.off++
			p.ws()
			return true, true
		case ']':
			p.off++
			return false, true
		}
	}
	return false, false
}

// notePositionsFast is notePositions (load.go) for an object read by the
// fast path: the same fields, found in the tree instead of yaml.v3 nodes.
func (l *loader) notePositionsFast(m *metav1.ObjectMeta, rootLine int, fields []string) {
	if l.fieldPos == nil {
		l.fieldPos = map[*metav1.ObjectMeta][]fieldAt{}
	}
	f := l.fast
	out := make([]fieldAt, 0, 1+len(fields))
	_, hasClusterIPs := f.pt.find(0, "spec", "clusterIPs")
	for _, name := range append([]string{"metadata.name"}, fields...) {
		at := name
		if !hasClusterIPs && name == "spec.clusterIPs[0]" {
			at = "spec.clusterIP" // defaulting copied it to clusterIPs
		}
		out = append(out, fieldAt{name, f.posField(at, rootLine)})
	}
	l.fieldPos[m] = out
}

// find returns the value of the keys below object node i.
func (t *ftree) find(i int32, keys ...string) (int32, bool) {
	for _, k := range keys {
		ki := t.member(i, k)
		if ki < 0 {
			return 0, false
		}
		i = t.nodes[ki].skip
	}
	return i, true
}

// member returns the key node of key in object node i, or -1.
func (t *ftree) member(i int32, key string) int32 {
	n := &t.nodes[i]
	if n.kind != fObject {
		return -1
	}
	c := i + 1
	for k := 0; k < int(n.n); k++ {
		kn := &t.nodes[c]
		if string(t.data[kn.start:kn.end]) == key && !kn.esc {
			return c
		}
		c = t.nodes[kn.skip].skip
	}
	return -1
}

// posField is locator.posField over the tree: the line of the deepest
// key or list element of a field path (spec.ports[0].nodePort) that the
// object has.
func (f *fastState) posField(p string, rootLine int) Pos {
	t := f.pt
	line, i := rootLine, int32(0)
	for len(p) > 0 && i >= 0 {
		switch p[0] {
		case '.':
			p = p[1:]
			continue
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return Pos{File: f.file, Line: line}
			}
			key := p[1:end]
			p = p[end+1:]
			if k, err := strconv.Atoi(key); err == nil {
				n := &t.nodes[i]
				if n.kind != fArray || k < 0 || k >= int(n.n) {
					i = -1
					continue
				}
				c := i + 1
				for ; k > 0; k-- {
					c = t.nodes[c].skip
				}
				i, line = c, f.lineAt(int(t.nodes[c].start))
				continue
			}
			i, line = f.key(i, key, line)
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			key := p[:end]
			p = p[end:]
			i, line = f.key(i, key, line)
		}
	}
	return Pos{File: f.file, Line: line}
}

// key steps from object node i to the value of key: the value and the
// key's line, or -1 and the line unchanged when there is no such key.
func (f *fastState) key(i int32, key string, line int) (int32, int) {
	t := f.pt
	ki := t.member(i, key)
	if ki < 0 {
		return -1, line
	}
	return t.nodes[ki].skip, f.lineAt(int(t.nodes[ki].start))
}

// lineAt is the file line of a tree offset.
func (f *fastState) lineAt(off int) int {
	return f.baseLine + bytes.Count(f.pt.data[f.baseOff:off], []byte{'\n'})
}

// changed reports whether the loader recorded a finding since m.
func (l *loader) changed(m loaderMark) bool {
	return len(l.errs) != m.errs || len(l.warns) != m.warns || l.dropped != m.dropped
}

// topText returns the root object's string value for key (unescaped
// strings only), or nil.
func (t *ftree) topText(key string) []byte {
	ki := t.member(0, key)
	if ki < 0 {
		return nil
	}
	if vn := &t.nodes[t.nodes[ki].skip]; vn.kind == fString && !vn.esc {
		return t.data[vn.start:vn.end]
	}
	return nil
}

// isTypeName reports whether apiVersion and kind name the type name
// ("group/version/Kind"), as the full path compares them (load.go),
// without building the string: the kind is what follows the last slash.
func isTypeName(apiVersion, kind []byte, name string) bool {
	i := strings.LastIndexByte(name, '/')
	return string(apiVersion) == name[:i] && string(kind) == name[i+1:]
}
