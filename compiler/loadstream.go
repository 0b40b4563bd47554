package compiler

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// This file cuts the input into pieces small enough for yaml.v3, whose
// node tree takes about twenty times the size of the text: a file into
// its documents, and a kind: List document (what "kubectl get -o yaml"
// prints for a whole cluster) into its items, each parsed on its own.

// document is one YAML document of a file (or one JSON value) and the
// line of the file it starts on.
type document struct {
	data []byte
	line int
}

// checkCharacters finds the first character YAML does not allow in a
// stream (control characters other than tab, newline and carriage
// return; invalid UTF-8), so that the error can name its line: yaml.v3
// reports these without one. Input starting with a UTF-16 byte order
// mark is left to yaml.v3. Along the way it notes what else the loader
// may skip (textInfo).
func checkCharacters(data []byte) (line int, msg string, info textInfo) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return 0, "", textInfo{marks: true}
	}
	marks, ascii := isMarkLine(data), true
	for i := 0; i < len(data); {
		// Printable ASCII and line breaks, the bulk of any manifest,
		// eight bytes at a time; the byte after them is read too, for
		// the marks.
		for i+8 < len(data) {
			w := binary.LittleEndian.Uint64(data[i:])
			nl, ok := plainText(w)
			if !ok {
				break
			}
			for m := nl & lineLeads(w>>8|uint64(data[i+8])<<56); m != 0 && !marks; m &= m - 1 {
				marks = isMarkLine(data[i+bits.TrailingZeros64(m)/8+1:])
			}
			i += 8
		}
		if i == len(data) {
			break
		}
		c := data[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\t' && c != '\r' || c == 0x7f {
				return lineAt(data, i), fmt.Sprintf("control character %U is not allowed in YAML or JSON input (is this a binary file?)", c), textInfo{}
			}
			if c == '\n' && !marks {
				marks = isMarkLine(data[i+1:])
			}
			i++
			continue
		}
		ascii = false
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return lineAt(data, i), fmt.Sprintf("invalid UTF-8 (byte 0x%02x): YAML and JSON input must be UTF-8 text", c), textInfo{}
		case (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff:
			return lineAt(data, i), fmt.Sprintf("control character %U is not allowed in YAML or JSON input", r), textInfo{}
		}
		i += size
	}
	return 0, "", textInfo{marks: marks, ascii: ascii}
}

// textInfo is what checkCharacters learnt about valid input.
type textInfo struct {
	// marks: a line starts with "---" or '%'; without such a line the
	// input is one document (documents).
	marks bool
	// ascii: every byte is ASCII, so no part of the input has the
	// characters hasYAMLBreaks looks for.
	ascii bool
}

// isMarkLine reports whether the line at the start of data starts with
// "---" or '%': a document start or a directive, for splitDocuments.
func isMarkLine(data []byte) bool {
	return bytes.HasPrefix(data, []byte("---")) || bytes.HasPrefix(data, []byte("%"))
}

// lineAt is the line (counted from 1) of data[i].
func lineAt(data []byte, i int) int {
	return 1 + bytes.Count(data[:i], []byte{'\n'})
}

// Constants of the tests on eight bytes at a time below. Each test works
// on bytes of at most 0x7f (the high bit cleared: low7) and adds at most
// 0x7f to each, so that no carry crosses from one byte into the next:
// each byte's answer is exact.
const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
	low7 = 0x7f7f7f7f7f7f7f7f
)

// plainText reports whether the eight bytes of w (one per byte, the
// first lowest) are all printable ASCII (0x20-0x7e), tab, newline or
// carriage return; nl has the high bit set in each byte that is a
// newline.
func plainText(w uint64) (nl uint64, ok bool) {
	x := w & low7
	control := ^(x + (0x80-0x20)*ones) & high // below 0x20
	nl = ^((x ^ '\n'*ones) + low7) & high
	tab := ^((x ^ '\t'*ones) + low7) & high
	cr := ^((x ^ '\r'*ones) + low7) & high
	del := ^((x ^ 0x7f*ones) + low7) & high
	return nl, w&high|del|control&^(nl|tab|cr) == 0
}

// lineLeads has the high bit set in each byte of w that is '-' or '%'
// (or one of those plus 0x80: isMarkLine tells).
func lineLeads(w uint64) uint64 {
	x := w & low7
	return ^((x^'-'*ones)+low7)&high | ^((x^'%'*ones)+low7)&high
}

// documents cuts data into its documents; marks is what checkCharacters
// said about it.
func documents(data []byte, marks bool) []document {
	if !marks {
		// no line starts a document or holds a directive: the common
		// case of one object or List per file, JSON above all
		if len(data) == 0 {
			return nil
		}
		return []document{{data: data, line: 1}}
	}
	return splitDocuments(data)
}

// splitDocuments cuts a YAML stream before each line that starts a
// document: "---" at the start of a line, then a blank or the line's end.
// yaml.v3 ends a document at such a line wherever it is (even inside a
// quoted or block scalar, where it is an error), so the pieces hold the
// same documents as the whole. Directives (%...) before a "---" go with
// the document they belong to.
func splitDocuments(data []byte) []document {
	var out []document
	start, startLine := 0, 1
	// runStart is where the run of directive, comment and blank lines
	// just before the current line began (-1: no directive in it).
	runStart, runLine, runHasDirective := -1, 0, false
	line := 1
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		text := data[off:next]
		switch {
		case isDocumentStart(text):
			cut, cutLine := off, line
			if runHasDirective {
				cut, cutLine = runStart, runLine
			}
			if cut > start {
				out = append(out, document{data: data[start:cut], line: startLine})
				start, startLine = cut, cutLine
			}
			runStart, runHasDirective = -1, false
		case len(text) > 0 && text[0] == '%':
			if runStart < 0 {
				runStart, runLine = off, line
			}
			runHasDirective = true
		case isBlankOrComment(text):
			if runStart < 0 {
				runStart, runLine = off, line
			}
		default:
			runStart, runHasDirective = -1, false
		}
		off = next
		line++
	}
	if start < len(data) {
		out = append(out, document{data: data[start:], line: startLine})
	}
	return out
}

func isDocumentStart(line []byte) bool {
	return bytes.HasPrefix(line, []byte("---")) && (len(line) == 3 || isBlank(line[3]))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isBlankOrComment reports whether a line holds only blanks, or a comment.
func isBlankOrComment(line []byte) bool {
	i := 0 // a loop: bytes.TrimLeft with a cutset costs more, on every line
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i == len(line) || line[i] == '#' || line[i] == '\r' || line[i] == '\n'
}

// loaderMark records how much the loader held, to undo a partly read
// document (rollback) before reading it again as a whole.
type loaderMark struct {
	services, slices, endpoints, nodes, cidrs int
	errs, warns, dropped, total               int
	overBudget                                bool
}

func (l *loader) mark() loaderMark {
	s := l.snap
	return loaderMark{len(s.Services), len(s.Slices), len(s.Endpoints), len(s.Nodes), len(s.ServiceCIDRs),
		len(l.errs), len(l.warns), l.dropped, l.total, l.overBudget}
}

func (l *loader) rollback(m loaderMark) {
	s := l.snap
	s.Services, s.Slices, s.Endpoints = cut(s.Services, m.services), cut(s.Slices, m.slices), cut(s.Endpoints, m.endpoints)
	s.Nodes, s.ServiceCIDRs = cut(s.Nodes, m.nodes), cut(s.ServiceCIDRs, m.cidrs)
	l.errs, l.warns, l.dropped, l.total, l.overBudget = cut(l.errs, m.errs), cut(l.warns, m.warns), m.dropped, m.total, m.overBudget
}

// cut shortens list to n elements; an empty list is nil, as it is when
// nothing was ever added (so that undoing a List's reading leaves the
// snapshot as reading it whole would).
func cut[T any](list []T, n int) []T {
	if n == 0 {
		return nil
	}
	return list[:n]
}

// streamList reads a kind: List document one item at a time, if it is
// one in a form that allows it: JSON, or YAML whose items are a block
// sequence under a top-level "items:" key. It returns false, with
// nothing recorded, when the document must be read as a whole instead;
// that is also the answer for anything unusual (anchors shared between
// items, flow style, tabs), so that the result never differs from reading
// the whole document.
func (l *loader) streamList(file string, d document) bool {
	t := bytes.TrimLeft(d.data, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return l.streamJSONList(file, d)
	}
	return l.streamYAMLList(file, d)
}

// lineCounter maps increasing byte offsets of a document to file lines.
type lineCounter struct {
	data      []byte
	off, line int
}

func (c *lineCounter) at(off int) int {
	c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// streamJSONList reads a JSON List. kubectl prints "items" before
// "kind", so the items are read first and undone if the value turns out
// not to be a List.
func (l *loader) streamJSONList(file string, d document) bool {
	dec := json.NewDecoder(bytes.NewReader(d.data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	m := l.mark()
	fail := func() bool { l.rollback(m); return false }
	lines := &lineCounter{data: d.data, line: d.line}
	seen := map[string]bool{}
	kind := ""
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok || seen[key] {
			return fail()
		}
		seen[key] = true
		switch key {
		case "items":
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return fail()
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fail()
				}
				end := int(dec.InputOffset())
				line := lines.at(end - len(raw))
				if !l.streamItem(file, raw, line) {
					return fail()
				}
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
				return fail()
			}
		case "kind":
			if err := dec.Decode(&kind); err != nil {
				return fail()
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail()
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return fail()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail()
	}
	if !seen["items"] || !strings.HasSuffix(kind, "List") {
		return fail()
	}
	return true
}

// jsonValues reads a document made of JSON objects one after another
// (what "jq '.items[]'" prints), each as a document of its own. It returns
// false, with nothing recorded, for anything else: a single value is read
// as any document is, and text that is not a sequence of JSON objects is
// left to the YAML parser to report.
func (l *loader) jsonValues(file string, d document) bool {
	end := jsonObjectEnd(d.data)
	if end < 0 || len(bytes.TrimLeft(d.data[end:], " \t\r\n")) == 0 {
		return false
	}
	m := l.mark()
	dec := json.NewDecoder(bytes.NewReader(d.data))
	lines := &lineCounter{data: d.data, line: d.line}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil || raw[0] != '{' {
			l.rollback(m)
			return false
		}
		start := int(dec.InputOffset()) - len(raw)
		if !l.streamItemAt(file, raw, lines.at(start), 0) {
			l.rollback(m)
			return false
		}
	}
}

// jsonObjectEnd returns the offset just after the JSON object data starts
// with (after blanks), or -1 if it does not start with a whole one. It
// only follows braces and strings; the JSON decoder checks the rest.
func jsonObjectEnd(data []byte) int {
	i := 0
	for i < len(data) && isBlank(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return -1
	}
	depth, inString := 0, false
	for ; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// streamItem loads one List item, whose text starts on the given line;
// it returns false if the item does not parse on its own.
func (l *loader) streamItem(file string, data []byte, line int) bool {
	return l.streamItemAt(file, data, line, 1)
}

// streamItemAt is streamItem for an object at the given List depth (0: a
// document of its own).
func (l *loader) streamItemAt(file string, data []byte, line, depth int) bool {
	if len(data) > maxDocumentBytes {
		l.errorf(Pos{File: file, Line: line}, "", "", "object is larger than %d MiB (the API server takes at most 3 MiB)", maxDocumentBytes>>20)
		return true
	}
	if l.fastObject(file, data, line) {
		return true
	}
	nodes, err := parseYAML(data, line)
	if err != nil {
		l.streamErr = err
		return false
	}
	if len(nodes) > 1 {
		return false
	}
	if len(nodes) == 0 {
		return true // an empty item, as "- " alone: a null, ignored
	}
	if !l.spend(Pos{File: file, Line: line}, 1) {
		return true
	}
	l.node(file, nodes[0], depth)
	return true
}

// yamlListShape is where a YAML List's items are: the line of the
// top-level "items:" key, the lines where items start, and the first line
// after the last item (line indexes count from 0 in the document).
type yamlListShape struct {
	itemsLine   int
	itemStarts  []int // byte offsets of item lines
	itemLines   []int
	blockEnd    int // byte offset after the block
	blockEndIdx int
	dash        int // column of the items' "-"
	itemsOff    int // byte offset of the items line
}

// findYAMLList finds the shape of a block-style List, or reports false.
func findYAMLList(data []byte) (yamlListShape, bool) {
	var s yamlListShape
	s.itemsLine = -1
	s.dash = -1
	idx := 0
	inBlock := false
	for off := 0; off < len(data); idx++ {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		text := data[off:next]
		if !inBlock {
			if isItemsKey(text) {
				if s.itemsLine >= 0 {
					return s, false // a duplicate key: let yaml.v3 say so
				}
				s.itemsLine, s.itemsOff = idx, off
				inBlock = true
			}
			off = next
			continue
		}
		if isBlankOrComment(text) {
			off = next
			continue
		}
		k := 0
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k < len(text) && text[k] == '\t' {
			return s, false
		}
		isDash := k < len(text) && text[k] == '-' && (k+1 == len(text) || text[k+1] == ' ' || text[k+1] == '\r' || text[k+1] == '\n')
		if s.dash < 0 {
			if !isDash {
				return s, false
			}
			s.dash = k
		}
		switch {
		case k == s.dash && isDash:
			s.itemStarts = append(s.itemStarts, off)
			s.itemLines = append(s.itemLines, idx)
		case k <= s.dash:
			s.blockEnd, s.blockEndIdx = off, idx
			inBlock = false
			if isItemsKey(text) {
				return s, false // a duplicate key: let yaml.v3 say so
			}
			// the rest of the document is searched for a second items key
		}
		off = next
	}
	if inBlock {
		s.blockEnd, s.blockEndIdx = len(data), idx
	}
	return s, s.itemsLine >= 0 && len(s.itemStarts) > 0
}

// isItemsKey reports whether a line is "items:" at column 0 with nothing
// after it but blanks or a comment.
func isItemsKey(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("items:"))
	if !ok {
		return false
	}
	t := bytes.TrimLeft(rest, " \t")
	return len(t) == 0 || t[0] == '\r' || t[0] == '\n' || (t[0] == '#' && len(t) < len(rest))
}

// streamYAMLList reads a block-style YAML List item by item. The rest of
// the document (its "head": apiVersion, kind, metadata) is parsed with
// the items replaced by "[]" and blank lines, so that its lines stay
// where they were.
func (l *loader) streamYAMLList(file string, d document) bool {
	s, ok := findYAMLList(d.data)
	if !ok {
		return false
	}
	var head bytes.Buffer
	head.Grow(s.itemsOff + len(d.data) - s.blockEnd + (s.blockEndIdx - s.itemsLine) + 16)
	head.Write(d.data[:s.itemsOff])
	head.WriteString("items: []")
	for i := s.itemsLine; i < s.blockEndIdx; i++ {
		head.WriteByte('\n')
	}
	head.Write(d.data[s.blockEnd:])
	nodes, err := parseYAML(head.Bytes(), d.line)
	if err != nil {
		l.streamErr = err
		return false
	}
	if len(nodes) != 1 || !strings.HasSuffix(scalarField(nodes[0], "kind"), "List") {
		return false
	}
	if items := nodes[0]; child(items, "items") == nil {
		return false
	}
	m := l.mark()
	buf := make([]byte, 0, 4096)
	for i, start := range s.itemStarts {
		end := s.blockEnd
		if i+1 < len(s.itemStarts) {
			end = s.itemStarts[i+1]
		}
		buf = append(buf[:0], d.data[start:end]...)
		buf[s.dash] = ' '
		if !l.streamItem(file, buf, d.line+s.itemLines[i]) {
			l.rollback(m)
			return false
		}
	}
	return true
}
