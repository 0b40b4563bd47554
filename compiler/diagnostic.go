package compiler

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in an input file. Line counts from 1 in the whole
// file, not in one YAML document.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return sanitize(p.File, maxFileNameLen)
	}
	return sanitize(p.File, maxFileNameLen) + ":" + strconv.Itoa(p.Line)
}

// Severity of a diagnostic.
type Severity int

// Severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// Diagnostic is one finding about the input, in the form
// "file:line: Kind namespace/name: field.path: message".
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Object   string // "Service ns/name"; empty for file-level findings
	Field    string // field path, e.g. spec.ports[0].port
	Message  string
}

// Lengths above which the parts of a diagnostic are cut short: the input
// may hold a name a megabyte long, and one line of a report should stay
// readable.
const (
	maxFileNameLen = 256
	maxObjectLen   = 300
	maxFieldLen    = 300
	maxMessageLen  = 1000
)

// String formats the diagnostic on one line. Whatever came from the
// input is escaped (control characters, invalid UTF-8) and cut short, so
// that no input can add a line to the report or hide part of it.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Object != "" {
		b.WriteString(sanitize(d.Object, maxObjectLen))
		b.WriteString(": ")
	}
	if d.Field != "" {
		b.WriteString(sanitize(d.Field, maxFieldLen))
		b.WriteString(": ")
	}
	b.WriteString(sanitize(d.Message, maxMessageLen))
	return b.String()
}

// sanitize escapes what a terminal or a line-oriented reader would not
// show as itself (control and other non-printing characters, invalid
// UTF-8) the way Go string literals do, and cuts the result after about
// max bytes, marking the cut with "...".
func sanitize(s string, max int) string {
	if len(s) <= max && printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= max {
			b.WriteString("...")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// printable reports whether s is valid UTF-8 made of printable characters
// and spaces only.
func printable(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !unicode.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// Errors is the list of every error found in the input, sorted by
// position. It is returned as the error of Load. Its text holds one
// diagnostic per line, at most MaxReportedErrors of them.
type Errors []Diagnostic

// MaxReportedErrors is how many errors Errors.Error lists before it
// summarises the rest in one line: a broken million-endpoint snapshot
// should not print a million lines.
const MaxReportedErrors = 1000

func (e Errors) Error() string {
	var b strings.Builder
	for i, d := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i == MaxReportedErrors {
			b.WriteString("too many errors: ")
			b.WriteString(strconv.Itoa(len(e) - i))
			b.WriteString(" more not shown")
			break
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// sortDiagnostics orders diagnostics by file, line, then text, so that the
// report does not depend on the order in which checks ran, and drops
// repeats of one line (ten aliases on one line are one finding).
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	if len(ds) == 0 {
		return nil
	}
	sortByPosition(ds)
	out := ds[:0]
	for i, d := range ds {
		if i == 0 || d != ds[i-1] {
			out = append(out, d)
		}
	}
	return out
}

func sortByPosition(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.String() < b.String()
	})
}
