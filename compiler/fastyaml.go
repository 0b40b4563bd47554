package compiler

import (
	"bytes"
	"net/netip"
	"unicode/utf8"
)

// parseYAMLTree parses one object written in the block style kubectl and
// sigs.k8s.io/yaml print: block mappings and sequences (a sequence may
// sit at its key's indentation), plain and single-line quoted scalars, and
// the empty flow collections {} and []. Anything else (anchors, aliases,
// tags, block scalars, flow collections with content, multi-line scalars,
// tabs, CRs, scalars whose type resolution is not plainly a string, a
// decimal integer, a boolean or null) makes it give up, leaving the object
// to yaml.v3.
func parseYAMLTree(t *ftree, data []byte) (rootLine int, ok bool) {
	t.data, t.nodes, t.yaml = data, t.nodes[:0], true
	if len(data) >= 1<<31-1 || bytes.IndexByte(data, '\t') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		return 0, false
	}
	p := yamlParser{t: t, data: data, line: 1}
	p.startLine(0)
	if !p.skipBlank() {
		return 0, false
	}
	if p.isDocStart() {
		if !p.nextLine() || !p.skipBlank() {
			return 0, false
		}
	}
	if p.eof() || p.isDash() {
		return 0, false
	}
	rootLine = p.line
	if !p.mapping(p.ind, 0) {
		return 0, false
	}
	if !p.skipBlank() || !p.eof() {
		return 0, false
	}
	return rootLine, true
}

// yamlParser walks the text line by line. The current position is the
// content of a line (or of the rest of a "- " line) at column ind.
type yamlParser struct {
	t    *ftree
	data []byte
	off  int // current content position
	ls   int // start of the current line
	eol  int // end of the current line (index of '\n' or len)
	ind  int // column of off
	line int // line number of the current line, from 1
}

// startLine makes the line starting at off current.
func (p *yamlParser) startLine(off int) {
	p.eol = len(p.data)
	if e := bytes.IndexByte(p.data[off:], '\n'); e >= 0 {
		p.eol = off + e
	}
	p.ls = off
	i := off
	for i < p.eol && p.data[i] == ' ' {
		i++
	}
	p.off, p.ind = i, i-off
}

// nextLine moves to the next line; false at the end of the text.
func (p *yamlParser) nextLine() bool {
	if p.eol >= len(p.data) {
		p.off = len(p.data)
		return true
	}
	p.line++
	p.startLine(p.eol + 1)
	return true
}

func (p *yamlParser) eof() bool { return p.off >= len(p.data) }

// skipBlank moves past empty and comment-only lines; false if it meets a
// line it cannot handle (a directive or a document end).
func (p *yamlParser) skipBlank() bool {
	for !p.eof() {
		if p.off < p.eol && p.data[p.off] != '#' {
			if p.ind == 0 && (p.data[p.off] == '%' || bytes.HasPrefix(p.data[p.off:p.eol], []byte("..."))) {
				return false
			}
			return true
		}
		p.nextLine()
	}
	return true
}

func (p *yamlParser) isDocStart() bool {
	if p.ind != 0 || !bytes.HasPrefix(p.data[p.off:p.eol], []byte("---")) {
		return false
	}
	rest := p.data[p.off+3 : p.eol]
	return len(rest) == 0 || isBlankOrComment(rest)
}

// isDash reports whether the content starts a sequence entry.
func (p *yamlParser) isDash() bool {
	return p.off < p.eol && p.data[p.off] == '-' && (p.off+1 == p.eol || p.data[p.off+1] == ' ')
}

func (p *yamlParser) push(kind uint8, start int) int32 {
	p.t.nodes = append(p.t.nodes, fnode{kind: kind, start: int32(start), end: int32(start)})
	return int32(len(p.t.nodes) - 1)
}

func (p *yamlParser) close(i int32, count int32) {
	n := &p.t.nodes[i]
	n.n, n.skip = count, int32(len(p.t.nodes))
}

// mapping parses a block mapping whose first key is the current content,
// at column ind.
func (p *yamlParser) mapping(ind, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	i := p.push(fObject, p.off)
	count := int32(0)
	for {
		if !p.skipBlank() {
			return false
		}
		if p.eof() || p.ind < ind {
			break
		}
		if p.ind > ind || p.isDash() {
			return false
		}
		if !p.key() {
			return false
		}
		// p.off is just after the ':'
		for p.off < p.eol && p.data[p.off] == ' ' {
			p.off++
		}
		if p.off == p.eol || p.data[p.off] == '#' {
			if !p.nested(ind, depth) {
				return false
			}
		} else if !p.inline() {
			return false
		}
		count++
	}
	p.close(i, count)
	return true
}

// nested parses the value of a key whose line ends after the ':': a
// block on the following lines, or null.
func (p *yamlParser) nested(ind, depth int) bool {
	p.nextLine()
	if !p.skipBlank() {
		return false
	}
	switch {
	case !p.eof() && p.ind > ind && p.isDash():
		return p.sequence(p.ind, depth+1)
	case !p.eof() && p.ind == ind && p.isDash():
		return p.sequence(ind, depth+1)
	case !p.eof() && p.ind > ind:
		return p.mapping(p.ind, depth+1)
	}
	i := p.push(fNull, p.off)
	p.close(i, 0)
	return true
}

// sequence parses a block sequence whose first "-" is the current
// content, at column ind.
func (p *yamlParser) sequence(ind, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	i := p.push(fArray, p.off)
	count := int32(0)
	for {
		if !p.skipBlank() {
			return false
		}
		if p.eof() || p.ind < ind {
			break
		}
		if p.ind > ind {
			return false
		}
		if !p.isDash() {
			break // the next key of the mapping this sequence is a value of
		}
		p.off++
		for p.off < p.eol && p.data[p.off] == ' ' {
			p.off++
		}
		switch {
		case p.off == p.eol || p.data[p.off] == '#':
			if !p.nested(ind, depth) {
				return false
			}
		case p.data[p.off] == '-' && (p.off+1 == p.eol || p.data[p.off+1] == ' '):
			return false // a sequence in a sequence
		case p.entryAhead():
			p.ind = p.off - p.ls
			if !p.mapping(p.ind, depth+1) {
				return false
			}
		default:
			if !p.inline() {
				return false
			}
		}
		count++
	}
	p.close(i, count)
	return true
}

// entryAhead reports whether the rest of the line is a "key: ..." entry.
func (p *yamlParser) entryAhead() bool {
	save := p.off
	nodes := len(p.t.nodes)
	ok := p.key()
	p.off = save
	p.t.nodes = p.t.nodes[:nodes]
	return ok
}

// key parses "key:" at the current content and pushes the key; it leaves
// p.off after the colon.
func (p *yamlParser) key() bool {
	c := p.data[p.off]
	if c == '"' || c == '\'' {
		if !p.quoted(c) {
			return false
		}
		if p.off >= p.eol || p.data[p.off] != ':' || (p.off+1 < p.eol && p.data[p.off+1] != ' ') {
			return false
		}
		p.off++
		return true
	}
	if isIndicator(c) {
		return false
	}
	start := p.off
	for i := p.off; i < p.eol; i++ {
		if p.data[i] == ':' && (i+1 == p.eol || p.data[i+1] == ' ') {
			if i == start || p.data[i-1] == ' ' {
				return false
			}
			k := p.data[start:i]
			if bytes.Contains(k, []byte(" #")) || string(k) == "<<" {
				return false
			}
			n := p.push(fString, start)
			p.t.nodes[n].end, p.t.nodes[n].skip = int32(i), n+1
			p.off = i + 1
			return true
		}
	}
	return false
}

// isIndicator reports characters that cannot start a plain scalar we read.
func isIndicator(c byte) bool {
	switch c {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return true
	}
	return false
}

// quoted parses a quoted scalar on one line and pushes it as a string.
func (p *yamlParser) quoted(q byte) bool {
	start := p.off + 1
	esc := false
	i := start
	for ; i < p.eol; i++ {
		c := p.data[i]
		if q == '"' && c == '\\' {
			esc = true
			i++
			continue
		}
		if c == q {
			if q == '\'' && i+1 < p.eol && p.data[i+1] == '\'' {
				esc = true
				i++
				continue
			}
			break
		}
	}
	if i >= p.eol {
		return false // not closed on this line
	}
	n := p.push(fString, start)
	nd := &p.t.nodes[n]
	nd.end, nd.esc, nd.quote, nd.skip = int32(i), esc, q, n+1
	p.off = i + 1
	return true
}

// inline parses the value that follows a key or a "- " on the same line,
// and moves to the next line.
func (p *yamlParser) inline() bool {
	c := p.data[p.off]
	switch {
	case c == '"' || c == '\'':
		if !p.quoted(c) {
			return false
		}
	case c == '{' || c == '[':
		closer := byte('}')
		kind := fObject
		if c == '[' {
			closer, kind = ']', fArray
		}
		if p.off+1 >= p.eol || p.data[p.off+1] != closer {
			return false
		}
		n := p.push(kind, p.off)
		p.close(n, 0)
		p.off += 2
	case isIndicator(c):
		return false
	default:
		end := p.eol
		if h := bytes.Index(p.data[p.off:p.eol], []byte(" #")); h >= 0 {
			end = p.off + h
		}
		for end > p.off && p.data[end-1] == ' ' {
			end--
		}
		v := p.data[p.off:end]
		if bytes.Contains(v, []byte(": ")) || v[len(v)-1] == ':' {
			return false
		}
		kind, ok := resolvePlain(v)
		if !ok {
			return false
		}
		n := p.push(kind, p.off)
		p.t.nodes[n].end, p.t.nodes[n].skip = int32(end), n+1
		p.off = end
	}
	rest := p.data[p.off:p.eol]
	if len(rest) > 0 && !isBlankOrComment(rest) {
		return false
	}
	if len(rest) > 0 && rest[0] != ' ' {
		return false // "'a'#b" is not a comment
	}
	p.nextLine()
	return true
}

// resolvePlain is yaml.v3's resolution of a plain scalar, for the values
// it can tell apart with certainty; ok is false for the rest (floats,
// timestamps, other integer forms, merge keys).
func resolvePlain(v []byte) (kind uint8, ok bool) {
	switch string(v) {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return fBool, true
	case "~", "null", "Null", "NULL":
		return fNull, true
	}
	switch c := v[0]; {
	case c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9'):
		if _, ok := plainInt(v); ok {
			return fNumber, true
		}
		// Not a number, a timestamp or a float when it is an address
		// (two dots at least, or colons).
		s := string(v)
		if _, err := netip.ParseAddr(s); err == nil {
			return fString, true
		}
		if _, err := netip.ParsePrefix(s); err == nil {
			return fString, true
		}
		return 0, false
	}
	if !utf8.Valid(v) {
		return 0, false
	}
	return fString, true
}

// unescapeYAML decodes a quoted scalar with escapes: ” in single quotes;
// in double quotes the escapes JSON has too (others make it give up).
func unescapeYAML(dst, s []byte, quote byte) ([]byte, bool) {
	if quote == '\'' {
		for i := 0; i < len(s); i++ {
			dst = append(dst, s[i])
			if s[i] == '\'' {
				i++ // the second quote of ''
			}
		}
		return dst, true
	}
	return unescapeJSON(dst, s)
}

// hasYAMLBreaks reports characters yaml.v3 reads as line breaks or
// skips (NEL, LS, PS, a byte order mark), which the fast path's
// line-based reading does not.
func hasYAMLBreaks(data []byte) bool {
	return bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) ||
		bytes.Contains(data, []byte("\u2029")) || bytes.Contains(data, []byte("\ufeff"))
}
