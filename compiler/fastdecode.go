package compiler

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file is the fast path of the loader for well-formed objects: the
// text of one object (JSON, or the plain block YAML that kubectl prints:
// fastyaml.go) is cut into a flat tree of values, which fills the Go
// object directly through cached, reflection-built decoders. It accepts
// only what it can decode exactly as the full path (YAML nodes, convert.go,
// encoding/json) would: field names matched exactly, no key given twice,
// no value of the wrong type, no unknown field. Anything else makes it
// give up, and the object is read again by the full path, which reports
// the problem with its line.

// Kinds of tree values.
const (
	fNull uint8 = iota
	fBool
	fNumber
	fString
	fObject
	fArray
)

// fnode is one value of a flat tree. Containers are followed by their
// children (an object's alternate key and value); skip is the index after
// the whole subtree.
type fnode struct {
	kind uint8
	// esc marks a string that needs unescaping: a JSON string with a
	// backslash, or a YAML double-quoted scalar with one, or a
	// single-quoted one with a doubled quote.
	esc   bool
	quote byte // YAML: the quote of a quoted scalar ('"', '\'', 0 = plain)
	// start and end delimit the value's text: a string's contents
	// without quotes, a number's digits, a container's whole text.
	start, end int32
	n          int32 // children: an object's pairs, an array's elements
	skip       int32
}

// ftree is a parsed object.
type ftree struct {
	data  []byte
	nodes []fnode
	yaml  bool // from YAML (plain scalars need resolving)
}

func (t *ftree) text(i int32) []byte {
	n := &t.nodes[i]
	return t.data[n.start:n.end]
}

// maxFastDepth bounds the nesting the fast path follows; API objects are
// far shallower, and deeper input is left to the full path's limits.
const maxFastDepth = 64

// parseJSONTree parses one JSON value (and nothing after it but blanks).
func parseJSONTree(t *ftree, data []byte) bool {
	end, ok := parseJSONAt(t, data, 0)
	if !ok {
		return false
	}
	p := jsonParser{data: data, off: end}
	p.ws()
	return p.off == len(data)
}

// parseJSONAt parses the JSON value at data[off:] (after blanks) into t,
// whose offsets then count in data; it returns the offset after the value.
func parseJSONAt(t *ftree, data []byte, off int) (int, bool) {
	t.data, t.nodes, t.yaml = data, t.nodes[:0], false
	if len(data) >= 1<<31-1 {
		return 0, false
	}
	p := jsonParser{t: t, data: data, off: off}
	if !p.value(0) {
		return 0, false
	}
	return p.off, true
}

type jsonParser struct {
	t    *ftree
	data []byte
	off  int
}

func (p *jsonParser) ws() {
	d, i := p.data, p.off
	for i < len(d) {
		switch d[i] {
		case ' ':
			i++
			// indentation: eight spaces at a time
			for i+8 <= len(d) && binary.LittleEndian.Uint64(d[i:]) == ' '*ones {
				i += 8
			}
		case '\t', '\n', '\r':
			i++
		default:
			p.off = i
			return
		}
	}
	p.off = i
}

func (p *jsonParser) push(kind uint8, start int) int32 {
	p.t.nodes = append(p.t.nodes, fnode{kind: kind, start: int32(start)})
	return int32(len(p.t.nodes) - 1)
}

func (p *jsonParser) value(depth int) bool {
	p.ws()
	if p.off >= len(p.data) || depth > maxFastDepth {
		return false
	}
	switch c := p.data[p.off]; {
	case c == '{':
		return p.container(fObject, '}', depth)
	case c == '[':
		return p.container(fArray, ']', depth)
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal(fBool, "true")
	case c == 'f':
		return p.literal(fBool, "false")
	case c == 'n':
		return p.literal(fNull, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.off
		if !p.number() {
			return false
		}
		i := p.push(fNumber, start)
		p.t.nodes[i].end, p.t.nodes[i].skip = int32(p.off), i+1
		return true
	}
	return false
}

// number scans a number as JSON's grammar has it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
func (p *jsonParser) number() bool {
	d := p.data
	if p.off < len(d) && d[p.off] == '-' {
		p.off++
	}
	switch {
	case p.off < len(d) && d[p.off] == '0':
		p.off++
	case !p.digits():
		return false
	}
	if p.off < len(d) && d[p.off] == '.' {
		p.off++
		if !p.digits() {
			return false
		}
	}
	if p.off < len(d) && (d[p.off] == 'e' || d[p.off] == 'E') {
		p.off++
		if p.off < len(d) && (d[p.off] == '+' || d[p.off] == '-') {
			p.off++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// digits scans one or more decimal digits.
func (p *jsonParser) digits() bool {
	start := p.off
	for p.off < len(p.data) && p.data[p.off] >= '0' && p.data[p.off] <= '9' {
		p.off++
	}
	return p.off > start
}

func (p *jsonParser) literal(kind uint8, word string) bool {
	if !bytes.HasPrefix(p.data[p.off:], []byte(word)) {
		return false
	}
	i := p.push(kind, p.off)
	p.off += len(word)
	p.t.nodes[i].end, p.t.nodes[i].skip = int32(p.off), i+1
	return true
}

func (p *jsonParser) str() bool {
	p.off++ // the opening quote
	i := p.push(fString, p.off)
	esc := false
	for p.off < len(p.data) {
		c := p.data[p.off]
		switch {
		case c == '"':
			n := &p.t.nodes[i]
			n.end, n.esc, n.skip = int32(p.off), esc, i+1
			p.off++
			return true
		case c == '\\':
			esc = true
			if p.off+1 >= len(p.data) {
				return false
			}
			switch p.data[p.off+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.off += 2
			case 'u':
				if _, ok := hex4(p.data[p.off+2:]); !ok {
					return false
				}
				p.off += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			p.off++
		}
	}
	return false
}

func (p *jsonParser) container(kind uint8, closer byte, depth int) bool {
	i := p.push(kind, p.off)
	p.off++
	count := int32(0)
	p.ws()
	if p.off < len(p.data) && p.data[p.off] == closer {
		p.off++
	} else {
		for {
			if kind == fObject {
				p.ws()
				if p.off >= len(p.data) || p.data[p.off] != '"' || !p.str() {
					return false
				}
				p.ws()
				if p.off >= len(p.data) || p.data[p.off] != ':' {
					return false
				}
				p.off++
			}
			if !p.value(depth + 1) {
				return false
			}
			count++
			p.ws()
			if p.off >= len(p.data) {
				return false
			}
			if c := p.data[p.off]; c == ',' {
				p.off++
				continue
			} else if c == closer {
				p.off++
				break
			}
			return false
		}
	}
	n := &p.t.nodes[i]
	n.end, n.n, n.skip = int32(p.off), count, int32(len(p.t.nodes))
	return true
}

// unescapeJSON decodes the contents of a JSON string with escapes. The
// full path reads JSON with yaml.v3, whose double-quoted scalars have
// neither "\/" nor surrogate pairs (it rejects both), so neither is taken
// here.
func unescapeJSON(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, false
		}
		switch s[i+1] {
		case '"', '\\':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok || (r >= 0xd800 && r < 0xe000) {
				return nil, false
			}
			i += 6
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return dst, true
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// fdecoder fills Go values from a tree.
type fdecoder struct {
	t     *ftree
	arena *stringArena
	buf   []byte
	slabs slabs
	// strs is where the []string values are cut from (an endpoint's
	// addresses: a million of one element each, in a big cluster).
	strs []string
}

// strSlab is the number of strings cut from one array.
const strSlab = 4096

// stringSlice returns a []string of length and capacity n (appending
// to it copies it) that shares an array with others.
func (d *fdecoder) stringSlice(n int) []string {
	if n == 0 || n > strSlab/8 {
		return make([]string, n) // empty, but not nil, like []
	}
	if cap(d.strs)-len(d.strs) < n {
		d.strs = make([]string, 0, strSlab)
	}
	k := len(d.strs)
	d.strs = d.strs[:k+n]
	return d.strs[k : k+n : k+n]
}

// slabs hands out pointers to fresh values of small scalar types, cut
// from arrays of them; a decoder of such pointers has a slab number
// (slabIDs), which indexes this slice.
type slabs []*slab

var slabIDs atomic.Int32

type slab struct {
	arr  reflect.Value // a slice of slabSize elements
	used int
}

const slabSize = 1024

// next returns a pointer to a fresh zero value of type t from slab id.
func (s *slabs) next(id int32, t reflect.Type) reflect.Value {
	for int(id) >= len(*s) {
		*s = append(*s, nil)
	}
	b := (*s)[id]
	if b == nil || b.used == slabSize {
		b = &slab{arr: reflect.MakeSlice(reflect.SliceOf(t), slabSize, slabSize)}
		(*s)[id] = b
	}
	b.used++
	return b.arr.Index(b.used - 1).Addr()
}

// decFn decodes tree value i into v (settable); false means "give up".
type decFn func(d *fdecoder, i int32, v reflect.Value) bool

var decoders sync.Map // reflect.Type -> decFn

// decode fills the object v points to from the tree's root.
func (d *fdecoder) decode(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || len(d.t.nodes) == 0 {
		return false
	}
	return rootDecoder(rv.Type().Elem())(d, 0, rv.Elem())
}

// Decoders are built under buildMu and used from ready once built: while
// a recursive type's decoder is being built, decoders holds an
// indirection to a function not yet there, which another goroutine
// (load_parallel.go) must not call.
var (
	buildMu sync.Mutex
	ready   sync.Map // reflect.Type -> decFn, complete
)

// rootDecoder returns the complete decoder of t.
func rootDecoder(t reflect.Type) decFn {
	if f, ok := ready.Load(t); ok {
		return f.(decFn)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	f := decoderFor(t)
	ready.Store(t, f)
	return f
}

var (
	timeType               = reflect.TypeFor[metav1.Time]()
	intOrStringType        = reflect.TypeFor[intstr.IntOrString]()
	jsonUnmarshalerT       = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT       = reflect.TypeFor[encoding.TextUnmarshaler]()
	giveUp           decFn = func(*fdecoder, int32, reflect.Value) bool { return false }
)

// decoderFor returns the decoder of t, building it if need be; it is
// called with buildMu held.
func decoderFor(t reflect.Type) decFn {
	if f, ok := decoders.Load(t); ok {
		return f.(decFn)
	}
	// A recursive type finds this indirection while it is being built.
	var f decFn
	indirect := decFn(func(d *fdecoder, i int32, v reflect.Value) bool { return f(d, i, v) })
	if prev, loaded := decoders.LoadOrStore(t, indirect); loaded {
		return prev.(decFn)
	}
	f = buildDecoder(t)
	decoders.Store(t, f)
	return f
}

func buildDecoder(t reflect.Type) decFn {
	switch t {
	case timeType:
		return decTime
	case intOrStringType:
		return decIntOrString
	}
	if t.Implements(jsonUnmarshalerT) || reflect.PointerTo(t).Implements(jsonUnmarshalerT) ||
		t.Implements(textUnmarshalerT) || reflect.PointerTo(t).Implements(textUnmarshalerT) {
		return giveUp
	}
	switch t.Kind() {
	case reflect.String:
		return decString
	case reflect.Bool:
		return decBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decInt
	case reflect.Pointer:
		elem := decoderFor(t.Elem())
		et := t.Elem()
		newElem := func(*fdecoder) reflect.Value { return reflect.New(et) }
		switch et.Kind() {
		case reflect.Bool, reflect.String, reflect.Int32, reflect.Int64:
			// Optional scalars (an endpoint's conditions and node name)
			// come from slabs: one allocation per thousand.
			id := slabIDs.Add(1) - 1
			newElem = func(d *fdecoder) reflect.Value { return d.slabs.next(id, et) }
		}
		return func(d *fdecoder, i int32, v reflect.Value) bool {
			if d.t.nodes[i].kind == fNull {
				return true
			}
			p := newElem(d)
			if !elem(d, i, p.Elem()) {
				return false
			}
			v.Set(p)
			return true
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return giveUp // base64 in JSON
		}
		if t == reflect.TypeFor[[]string]() {
			return decStringSlice
		}
		elem := decoderFor(t.Elem())
		return func(d *fdecoder, i int32, v reflect.Value) bool {
			n := &d.t.nodes[i]
			switch n.kind {
			case fNull:
				return true
			case fArray:
			default:
				return false
			}
			s := reflect.MakeSlice(t, int(n.n), int(n.n))
			c := i + 1
			for k := 0; k < int(n.n); k++ {
				if !elem(d, c, s.Index(k)) {
					return false
				}
				c = d.t.nodes[c].skip
			}
			v.Set(s)
			return true
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key() != reflect.TypeFor[string]() {
			return giveUp
		}
		if t.Elem() == reflect.TypeFor[string]() {
			return decStringMap
		}
		elem := decoderFor(t.Elem())
		return func(d *fdecoder, i int32, v reflect.Value) bool {
			n := &d.t.nodes[i]
			switch n.kind {
			case fNull:
				return true
			case fObject:
			default:
				return false
			}
			m := reflect.MakeMapWithSize(t, int(n.n))
			c := i + 1
			for k := 0; k < int(n.n); k++ {
				key, ok := d.str(c)
				if !ok {
					return false
				}
				c = d.t.nodes[c].skip
				e := reflect.New(t.Elem()).Elem()
				if !elem(d, c, e) {
					return false
				}
				c = d.t.nodes[c].skip
				m.SetMapIndex(reflect.ValueOf(key), e)
			}
			if m.Len() != int(n.n) {
				return false // a key given twice
			}
			v.Set(m)
			return true
		}
	case reflect.Struct:
		return structDecoder(t)
	}
	return giveUp
}

// jsonField is one JSON field of a struct.
type jsonField struct {
	name  string
	index []int
	dec   decFn
}

func structDecoder(t reflect.Type) decFn {
	var fields []jsonField
	if !collectFields(t, nil, &fields) || len(fields) > 128 {
		return giveUp
	}
	byName := make(map[string]int, len(fields))
	for k, f := range fields {
		if _, dup := byName[f.name]; dup {
			return giveUp // encoding/json's conflict rules are not worth copying
		}
		byName[f.name] = k
	}
	// kubectl and sigs.k8s.io/yaml write keys in name order: each key is
	// first looked for after the previous one in that order, which finds
	// it with a few comparisons instead of hashing it.
	sorted := make([]int, len(fields))
	for k := range sorted {
		sorted[k] = k
	}
	slices.SortFunc(sorted, func(a, b int) int { return strings.Compare(fields[a].name, fields[b].name) })
	return func(d *fdecoder, i int32, v reflect.Value) bool {
		n := &d.t.nodes[i]
		switch n.kind {
		case fNull:
			return true
		case fObject:
		default:
			return false
		}
		var seen [2]uint64
		c, next := i+1, 0
		for k := 0; k < int(n.n); k++ {
			kn := &d.t.nodes[c]
			if kn.kind != fString || kn.esc {
				return false
			}
			key := d.t.data[kn.start:kn.end]
			fi := -1
			for q := next; q < len(sorted); q++ {
				if fields[sorted[q]].name == string(key) {
					fi, next = sorted[q], q+1
					break
				}
			}
			if fi < 0 {
				var ok bool
				if fi, ok = byName[string(key)]; !ok {
					return false
				}
			}
			if seen[fi>>6]&(1<<(fi&63)) != 0 {
				return false
			}
			seen[fi>>6] |= 1 << (fi & 63)
			c = kn.skip
			f := &fields[fi]
			fv := v.Field(f.index[0])
			for _, x := range f.index[1:] {
				fv = fv.Field(x)
			}
			if !f.dec(d, c, fv) {
				return false
			}
			c = d.t.nodes[c].skip
		}
		return true
	}
}

// collectFields lists the JSON fields of a struct, with the fields of
// embedded structs without a JSON name inline (metav1.TypeMeta).
func collectFields(t reflect.Type, index []int, out *[]jsonField) bool {
	for k := 0; k < t.NumField(); k++ {
		sf := t.Field(k)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), k)
		if sf.Anonymous && name == "" {
			if sf.Type.Kind() != reflect.Struct {
				return false
			}
			if !collectFields(sf.Type, idx, out) {
				return false
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			return false // matched by Go name, case-insensitively: not ours
		}
		*out = append(*out, jsonField{name: name, index: idx, dec: decoderFor(sf.Type)})
	}
	return true
}

// str returns string value i.
func (d *fdecoder) str(i int32) (string, bool) {
	n := &d.t.nodes[i]
	if n.kind != fString {
		return "", false
	}
	b := d.t.data[n.start:n.end]
	if n.esc {
		var ok bool
		if d.t.yaml {
			d.buf, ok = unescapeYAML(d.buf[:0], b, n.quote)
		} else {
			d.buf, ok = unescapeJSON(d.buf[:0], b)
		}
		if !ok {
			return "", false
		}
		b = d.buf
	}
	return d.arena.bytes(b), true
}

// kindOrNull returns node i when it is of the given kind; for a null it
// returns nil and true (the field keeps its zero value, as with
// encoding/json), for any other kind nil and false. Decoders start with
//
//	n, ok := d.kindOrNull(i, fNumber)
//	if n == nil {
//		return ok
//	}
func (d *fdecoder) kindOrNull(i int32, kind uint8) (*fnode, bool) {
	n := &d.t.nodes[i]
	switch n.kind {
	case kind:
		return n, true
	case fNull:
		return nil, true
	}
	return nil, false
}

// strOrNull is str, with "" for a null (what encoding/json leaves in a
// string element or map value).
func (d *fdecoder) strOrNull(i int32) (string, bool) {
	if d.t.nodes[i].kind == fNull {
		return "", true
	}
	return d.str(i)
}

func decString(d *fdecoder, i int32, v reflect.Value) bool {
	if d.t.nodes[i].kind == fNull {
		return true
	}
	s, ok := d.str(i)
	if !ok {
		return false
	}
	v.SetString(s)
	return true
}

// decStringSlice is the slice decoder (buildDecoder) for []string,
// without reflection and with the slices from stringSlice.
func decStringSlice(d *fdecoder, i int32, v reflect.Value) bool {
	n, ok := d.kindOrNull(i, fArray)
	if n == nil {
		return ok
	}
	s := d.stringSlice(int(n.n))
	c := i + 1
	for k := range s {
		if s[k], ok = d.strOrNull(c); !ok {
			return false
		}
		c = d.t.nodes[c].skip
	}
	*v.Addr().Interface().(*[]string) = s
	return true
}

func decStringMap(d *fdecoder, i int32, v reflect.Value) bool {
	n, ok := d.kindOrNull(i, fObject)
	if n == nil {
		return ok
	}
	m := make(map[string]string, n.n)
	c := i + 1
	for k := 0; k < int(n.n); k++ {
		key, ok := d.str(c)
		if !ok {
			return false
		}
		c = d.t.nodes[c].skip
		val, ok := d.strOrNull(c)
		if !ok {
			return false
		}
		m[key] = val
		c = d.t.nodes[c].skip
	}
	if len(m) != int(n.n) {
		return false // a key given twice
	}
	v.Set(reflect.ValueOf(m).Convert(v.Type()))
	return true
}

func decBool(d *fdecoder, i int32, v reflect.Value) bool {
	n, ok := d.kindOrNull(i, fBool)
	if n != nil {
		v.SetBool(d.t.data[n.start] == 't' || d.t.data[n.start] == 'T')
	}
	return ok
}

// decInt takes a plain decimal integer that fits the field.
func decInt(d *fdecoder, i int32, v reflect.Value) bool {
	n, ok := d.kindOrNull(i, fNumber)
	if n == nil {
		return ok
	}
	x, ok := plainInt(d.t.data[n.start:n.end])
	if !ok || v.OverflowInt(x) {
		return false
	}
	v.SetInt(x)
	return true
}

// plainInt parses -?[0-9]+ without leading zeros (what both JSON and YAML
// read as the same decimal integer).
func plainInt(b []byte) (int64, bool) {
	s := b
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var x int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int64(c-'0')
	}
	if b[0] == '-' {
		x = -x
	}
	return x, true
}

func decIntOrString(d *fdecoder, i int32, v reflect.Value) bool {
	n := &d.t.nodes[i]
	var is intstr.IntOrString
	switch n.kind {
	case fNull:
		return true
	case fString:
		s, ok := d.str(i)
		if !ok {
			return false
		}
		is = intstr.FromString(s)
	case fNumber:
		x, ok := plainInt(d.t.data[n.start:n.end])
		if !ok || x < -1<<31 || x >= 1<<31 {
			return false
		}
		is = intstr.FromInt32(int32(x))
	default:
		return false
	}
	v.Set(reflect.ValueOf(is))
	return true
}

func decTime(d *fdecoder, i int32, v reflect.Value) bool {
	if n, ok := d.kindOrNull(i, fString); n == nil {
		return ok
	}
	s, ok := d.str(i)
	if !ok {
		return false
	}
	var tm metav1.Time
	if err := tm.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return false
	}
	v.Set(reflect.ValueOf(tm))
	return true
}
