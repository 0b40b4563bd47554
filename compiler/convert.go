package compiler

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// converter turns the YAML node of one object into the JSON that its Go
// type decodes, reading it as the API server reads a manifest: field
// names match exactly (encoding/json alone would match them in any case),
// a key given twice is an error, YAML merge keys (<<) merge, a value of
// the wrong type is an error, and an unknown field is dropped with a
// warning. Every finding carries the line of the key or value. Aliases are
// expanded within the loader's budgets.
type converter struct {
	l    *loader
	loc  *locator
	obj  string
	buf  bytes.Buffer
	path []any // the field path of the value being converted
}

// errBudget stops a conversion whose expansion ran over a budget.
// line is where to report it (0: the object's line).
type errBudget struct {
	msg  string
	line int
}

func (e *errBudget) Error() string { return e.msg }

// convert writes the JSON of object node n for a value of type t (a
// pointer to the object's Go type). A value of the wrong type is
// reported, written as null and its path added to l.badPaths, so that
// the rest of the object can still be checked; ok is false only when the
// conversion stopped (a budget ran out, reported too).
func (l *loader) convert(loc *locator, obj string, n *yaml.Node, t reflect.Type) (data []byte, ok bool) {
	c := &converter{l: l, loc: loc, obj: obj}
	l.budget, l.byteBudget = maxObjectNodes, maxObjectBytes
	if err := c.value(n, t, 0); err != nil {
		line := n.Line
		var b *errBudget
		if errors.As(err, &b) && b.line > 0 {
			line = b.line
		}
		l.errorf(Pos{File: loc.file, Line: line}, obj, "", "%v", err)
		return nil, false
	}
	return c.buf.Bytes(), true
}

// spend counts one node against the object's and the input's budgets.
func (c *converter) spend(n *yaml.Node, depth int) error {
	l := c.l
	l.budget--
	if l.budget < 0 || c.buf.Len() > l.byteBudget {
		return &errBudget{fmt.Sprintf("object too large: more than %d nodes or %d MiB once YAML aliases are expanded (the API server takes at most 3 MiB)", maxObjectNodes, maxObjectBytes>>20), 0}
	}
	if l.total--; l.total < 0 {
		l.overBudget = true
		return &errBudget{fmt.Sprintf("input too large once YAML aliases are expanded (more than %d nodes in all)", l.totalBudget()), 0}
	}
	if depth > maxObjectDepth {
		return &errBudget{fmt.Sprintf("nesting deeper than %d levels", maxObjectDepth), n.Line}
	}
	return nil
}

func (c *converter) fieldPath() string { return fieldPath(c.path) }

// fieldPath formats a path as "spec.ports[0].port" (a key that is not a
// plain name as [key], like field.Path does for map keys).
func fieldPath(path []any) string {
	var b strings.Builder
	for i, p := range path {
		switch k := p.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case mapKey:
			b.WriteString("[" + string(k) + "]")
		case int:
			b.WriteString("[" + strconv.Itoa(k) + "]")
		}
	}
	return b.String()
}

// mapKey is a key of a map (labels, selector) in a field path.
type mapKey string

func (c *converter) typeError(n *yaml.Node, want string) {
	c.l.badPaths = append(c.l.badPaths, c.fieldPath())
	c.l.errorf(Pos{File: c.loc.file, Line: n.Line}, c.obj, c.fieldPath(), "Invalid value: %s: expected %s", describe(n), want)
}

// describe names a YAML value for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "an object"
	case yaml.ScalarNode:
		v := strconv.Quote(truncate(n.Value, 40))
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "the number " + truncate(n.Value, 40)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return v
	}
	return "nothing"
}

// value converts node n for Go type t.
func (c *converter) value(n *yaml.Node, t reflect.Type, depth int) error {
	if err := c.spend(n, depth); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode {
		return c.value(n.Alias, t, depth+1)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		c.buf.WriteString("null")
		return nil
	}
	ti := infoOf(t)
	switch ti.kind {
	case kindAny:
		return c.generic(n, depth)
	case kindIntOrString:
		if n.Kind == yaml.ScalarNode {
			switch n.ShortTag() {
			case "!!str":
				writeJSONString(&c.buf, n.Value)
				return nil
			case "!!int":
				return c.scalar(n, infoOf(reflect.TypeOf(int32(0))))
			}
		}
		c.typeError(n, "an integer (int32) or a string")
		c.buf.WriteString("null")
		return nil
	case kindStruct, kindMap:
		if n.Kind != yaml.MappingNode {
			c.typeError(n, "an object")
			c.buf.WriteString("null")
			return nil
		}
		return c.mapping(n, ti, depth)
	case kindSlice:
		if n.Kind != yaml.SequenceNode {
			c.typeError(n, "a list")
			c.buf.WriteString("null")
			return nil
		}
		c.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			c.path = append(c.path, i)
			err := c.value(e, ti.elem, depth+1)
			c.path = c.path[:len(c.path)-1]
			if err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		c.typeError(n, ti.want())
		c.buf.WriteString("null")
		return nil
	}
	return c.scalar(n, ti)
}

// scalar converts a scalar for a string, number or boolean field.
func (c *converter) scalar(n *yaml.Node, ti *typeInfo) error {
	tag := n.ShortTag()
	switch ti.kind {
	case kindString:
		switch tag {
		case "!!str", "!!timestamp", "!!binary":
			writeJSONString(&c.buf, n.Value)
			return nil
		}
	case kindBool:
		if tag == "!!bool" {
			if strings.EqualFold(n.Value, "true") {
				c.buf.WriteString("true")
			} else {
				c.buf.WriteString("false")
			}
			return nil
		}
	case kindInt, kindUint:
		if tag == "!!int" {
			v, ok := parseYAMLInt(n.Value)
			if !ok || !ti.fits(v) {
				c.l.badPaths = append(c.l.badPaths, c.fieldPath())
				c.l.errorf(Pos{File: c.loc.file, Line: n.Line}, c.obj, c.fieldPath(), "Invalid value: %s: out of range for %s", truncate(n.Value, 40), ti.goType)
				c.buf.WriteString("null")
				return nil
			}
			c.buf.WriteString(v.String())
			return nil
		}
	case kindFloat:
		if tag == "!!int" || tag == "!!float" {
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if v, ok := parseYAMLInt(n.Value); ok {
				f, err = float64(v.Int64()), nil
			}
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
				return nil
			}
		}
	}
	c.typeError(n, ti.want())
	c.buf.WriteString("null")
	return nil
}

// pair is one key and value of a mapping, merge keys resolved.
type pair struct {
	key, value *yaml.Node
}

// pairs lists a mapping's keys and values: its own first, then those
// merged in with "<<" (a mapping or a list of mappings; the earlier wins)
// that it does not set itself. A key given twice is an error.
func (c *converter) pairs(n *yaml.Node, depth int) ([]pair, error) {
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			c.l.badPaths = append(c.l.badPaths, c.fieldPath())
			c.l.errorf(Pos{File: c.loc.file, Line: k.Line}, c.obj, c.fieldPath(), "Invalid value: %s: a key must be a string", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			ms, err := c.mergeSources(v, depth)
			if err != nil {
				return nil, err
			}
			merged = append(merged, ms...)
			continue
		}
		if first, ok := seen[k.Value]; ok {
			c.l.badPaths = append(c.l.badPaths, c.fieldPath())
			c.l.errorf(Pos{File: c.loc.file, Line: k.Line}, c.obj, fieldPath(append(c.path[:len(c.path):len(c.path)], k.Value)),
				"Duplicate value: %q: the key is already set at line %d", truncate(k.Value, 100), first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key
			own = append(own, p)
		}
	}
	return own, nil
}

// mergeSources lists the pairs a "<<" value brings in.
func (c *converter) mergeSources(v *yaml.Node, depth int) ([]pair, error) {
	if err := c.spend(v, depth+1); err != nil {
		return nil, err
	}
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return c.pairs(v, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, e := range v.Content {
			ps, err := c.mergeSources(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	c.l.badPaths = append(c.l.badPaths, c.fieldPath())
	c.l.errorf(Pos{File: c.loc.file, Line: v.Line}, c.obj, c.fieldPath(), "Invalid value: %s: a merge key (<<) takes an object or a list of objects", describe(v))
	return nil, nil
}

// mapping converts a mapping for a struct (known fields only) or a map.
func (c *converter) mapping(n *yaml.Node, ti *typeInfo, depth int) error {
	ps, err := c.pairs(n, depth)
	if err != nil {
		return err
	}
	c.buf.WriteByte('{')
	first := true
	for _, p := range ps {
		var ft reflect.Type
		var elem any = p.key.Value
		if ti.kind == kindMap {
			ft, elem = ti.elem, mapKey(p.key.Value)
		} else {
			var ok bool
			if ft, ok = ti.fields[p.key.Value]; !ok {
				c.unknownField(p.key, ti)
				continue
			}
		}
		if !first {
			c.buf.WriteByte(',')
		}
		first = false
		writeJSONString(&c.buf, p.key.Value)
		c.buf.WriteByte(':')
		c.path = append(c.path, elem)
		err := c.value(p.value, ft, depth+1)
		c.path = c.path[:len(c.path)-1]
		if err != nil {
			return err
		}
	}
	c.buf.WriteByte('}')
	return nil
}

func (c *converter) unknownField(k *yaml.Node, ti *typeInfo) {
	hint := ""
	for name := range ti.fields {
		if strings.EqualFold(name, k.Value) {
			hint = fmt.Sprintf(" (field names are case-sensitive: %q)", name)
		}
	}
	path := fieldPath(append(c.path[:len(c.path):len(c.path)], k.Value))
	c.l.warnf(Pos{File: c.loc.file, Line: k.Line}, c.obj, path, "unknown field, ignored%s", hint)
}

// generic converts a value of no fixed type (a field decoded by its own
// UnmarshalJSON, such as targetPort, or an interface) as plain YAML.
func (c *converter) generic(n *yaml.Node, depth int) error {
	switch n.Kind {
	case yaml.AliasNode:
		if err := c.spend(n, depth); err != nil {
			return err
		}
		return c.generic(n.Alias, depth+1)
	case yaml.MappingNode:
		ps, err := c.pairs(n, depth)
		if err != nil {
			return err
		}
		c.buf.WriteByte('{')
		for i, p := range ps {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			writeJSONString(&c.buf, p.key.Value)
			c.buf.WriteByte(':')
			if err := c.spend(p.value, depth+1); err != nil {
				return err
			}
			if err := c.generic(p.value, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte('}')
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if err := c.spend(e, depth+1); err != nil {
				return err
			}
			if err := c.generic(e, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			c.buf.WriteString("null")
		case "!!bool":
			if strings.EqualFold(n.Value, "true") {
				c.buf.WriteString("true")
			} else {
				c.buf.WriteString("false")
			}
		case "!!int":
			v, ok := parseYAMLInt(n.Value)
			if !ok {
				c.typeError(n, "a number that fits in 64 bits")
				c.buf.WriteString("null")
				return nil
			}
			c.buf.WriteString(v.String())
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				c.typeError(n, "a number JSON can hold")
				c.buf.WriteString("null")
				return nil
			}
			c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		default:
			writeJSONString(&c.buf, n.Value)
		}
	default:
		c.buf.WriteString("null")
	}
	return nil
}

// yamlInt is an integer read from YAML: a sign and a 64-bit magnitude.
type yamlInt struct {
	neg bool
	mag uint64
}

func (v yamlInt) String() string {
	if v.neg && v.mag != 0 {
		return "-" + strconv.FormatUint(v.mag, 10)
	}
	return strconv.FormatUint(v.mag, 10)
}

// Int64 is v as an int64 (clamped).
func (v yamlInt) Int64() int64 {
	if v.mag > math.MaxInt64 {
		if v.neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	if v.neg {
		return -int64(v.mag)
	}
	return int64(v.mag)
}

// parseYAMLInt reads the integers yaml.v3 tags !!int: decimal, 0x hex,
// 0o and 0 octal, 0b binary, with _ separators and a sign.
func parseYAMLInt(s string) (yamlInt, bool) {
	s = strings.ReplaceAll(s, "_", "")
	var v yamlInt
	switch {
	case strings.HasPrefix(s, "-"):
		v.neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "0o"):
		base, s = 8, s[2:]
	case strings.HasPrefix(s, "0b"):
		base, s = 2, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return v, false
	}
	v.mag = u
	return v, true
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// Kinds of Go types, as far as conversion cares.
const (
	kindAny = iota
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindStruct
	kindMap
	kindSlice
	kindIntOrString
)

// typeInfo describes a Go type for conversion.
type typeInfo struct {
	kind   int
	bits   int
	goType string
	fields map[string]reflect.Type // struct: JSON name to field type
	elem   reflect.Type            // map values, slice elements
}

func (ti *typeInfo) want() string {
	switch ti.kind {
	case kindString:
		return "a string"
	case kindBool:
		return "a boolean (true or false)"
	case kindInt, kindUint:
		return "an integer (" + ti.goType + ")"
	case kindFloat:
		return "a number"
	}
	return "a value"
}

// fits reports whether an integer fits the Go type.
func (ti *typeInfo) fits(v yamlInt) bool {
	if ti.kind == kindUint {
		if v.neg {
			return v.mag == 0
		}
		return ti.bits == 64 || v.mag < 1<<ti.bits
	}
	limit := uint64(1) << (ti.bits - 1)
	if v.neg {
		return v.mag <= limit
	}
	return v.mag < limit
}

var (
	typeInfos       sync.Map // reflect.Type → *typeInfo
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// infoOf describes t; types with their own JSON decoding are kindAny.
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	orig := t
	ti := &typeInfo{goType: strings.TrimLeft(t.String(), "*")}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	switch {
	case t == reflect.TypeOf(intstr.IntOrString{}):
		ti.kind = kindIntOrString
	case pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler):
		ti.kind = kindAny
	default:
		switch t.Kind() {
		case reflect.String:
			ti.kind = kindString
		case reflect.Bool:
			ti.kind = kindBool
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			ti.kind, ti.bits = kindInt, t.Bits()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			ti.kind, ti.bits = kindUint, t.Bits()
		case reflect.Float32, reflect.Float64:
			ti.kind = kindFloat
		case reflect.Struct:
			ti.kind, ti.fields = kindStruct, map[string]reflect.Type{}
			addFields(ti.fields, t)
		case reflect.Map:
			ti.kind, ti.elem = kindMap, t.Elem()
		case reflect.Slice, reflect.Array:
			if t.Elem().Kind() == reflect.Uint8 {
				ti.kind = kindString // []byte: base64
			} else {
				ti.kind, ti.elem = kindSlice, t.Elem()
			}
		}
	}
	typeInfos.Store(orig, ti)
	return ti
}

// addFields adds the JSON fields of struct t, inlined ones included.
func addFields(m map[string]reflect.Type, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		ft := f.Type
		if (f.Anonymous && name == "") || strings.Contains(","+opts+",", ",inline,") {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(m, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
}
