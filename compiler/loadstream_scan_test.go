package compiler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// checkCharactersByByte is checkCharacters as it was before it read
// eight bytes at a time: the reference the fast one must agree with.
func checkCharactersByByte(data []byte) (line int, msg string) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return 0, ""
	}
	line = 1
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				line++
			case c == '\t' || c == '\r':
			case c < 0x20 || c == 0x7f:
				return line, fmt.Sprintf("control character %U is not allowed in YAML or JSON input (is this a binary file?)", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, fmt.Sprintf("invalid UTF-8 (byte 0x%02x): YAML and JSON input must be UTF-8 text", c)
		case (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff:
			return line, fmt.Sprintf("control character %U is not allowed in YAML or JSON input", r)
		}
		i += size
	}
	return 0, ""
}

// lineLeadsByLine reports whether a line of data starts with "---" or '%'.
func lineLeadsByLine(data []byte) bool {
	for _, l := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("%")) {
			return true
		}
	}
	return false
}

func compareScans(t *testing.T, data []byte) {
	t.Helper()
	wantLine, wantMsg := checkCharactersByByte(data)
	gotLine, gotMsg, info := checkCharacters(data)
	marks := info.marks
	if diff := cmp.Diff(fmt.Sprint(wantLine, wantMsg), fmt.Sprint(gotLine, gotMsg)); diff != "" {
		t.Errorf("checkCharacters(%q) (-by byte +fast):\n%s", data, diff)
	}
	if gotMsg != "" {
		return // documents is not called
	}
	utf16 := bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe})
	if marks != lineLeadsByLine(data) && !utf16 {
		t.Errorf("checkCharacters(%q): marks %v, want %v", data, marks, !marks)
	}
	if ascii := !bytes.ContainsFunc(data, func(r rune) bool { return r >= utf8.RuneSelf }); info.ascii != ascii && !utf16 {
		t.Errorf("checkCharacters(%q): ascii %v, want %v", data, info.ascii, ascii)
	}
	if info.ascii && hasYAMLBreaks(data) {
		t.Errorf("checkCharacters(%q): ascii, but hasYAMLBreaks", data)
	}
	if diff := cmp.Diff(splitDocuments(data), documents(data, marks), cmp.AllowUnexported(document{})); diff != "" {
		t.Errorf("documents(%q) (-splitDocuments +documents):\n%s", data, diff)
	}
}

func TestCheckCharactersAndSplit(t *testing.T) {
	tests := []string{
		"", "a", "a\nb", "\x00", "abcdefgh\x01", "abcdefghijklmnop\x7f", "a\tb\rc\n\x1f",
		"\xfe\xff\x00", "\xff\xfe", "caf\xc3\xa9 \xc2\x85 \xc2\x80", "\xef\xbf\xbe", "\xef\xbf\xbf",
		"12345678\n12345678\n\xff", "{\n  \"a\": 1\n}\n", "x: 1\n---\ny: 2\n", "%YAML 1.2\n---\na: 1",
		"# c\n\n---\n", "a: '---'\n", "- a\n- b\n", "\x0b\x0c", "\x80abcdefg", "abcdefg\x80",
	}
	for _, s := range tests {
		compareScans(t, []byte(s))
	}
	// marks at every offset from the eight-byte words
	for n := range 20 {
		pad := strings.Repeat("x", n)
		for _, mark := range []string{"---", "--", "-", "%", "--- a", "---\xc2\x85"} {
			compareScans(t, []byte(pad+"\n"+mark+"\nabcdefghijklmnopq"))
			compareScans(t, []byte(pad+"\n"+mark))
		}
	}
	const alphabet = "a {}\"\n\n\n\t\r---%#\x00\x1f\x7f\x80\xc2\x85\xe2\x82\xac\xef\xbf\xbe"
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(6) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte(' ' + r.IntN(95))
			}
		}
		compareScans(t, b)
		if t.Failed() {
			return
		}
	}
}

// TestPlainText checks the word test against a byte at every position
// with every value.
func TestPlainText(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			want := c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r'
			if _, got := plainText(w); got != want {
				t.Errorf("plainText with byte %#x at %d = %v, want %v", c, pos, got, want)
			}
		}
	}
	// and words of random bytes, mostly allowed ones
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		var w, wantNL, wantLeads uint64
		want := true
		for k := range 8 {
			c := byte(r.IntN(256))
			if r.IntN(2) == 0 {
				c = "\t\n\r a~-%"[r.IntN(8)]
			}
			w |= uint64(c) << (8 * k)
			want = want && (c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r')
			if c == '\n' {
				wantNL |= 0x80 << (8 * k)
			}
			if c&0x7f == '-' || c&0x7f == '%' {
				wantLeads |= 0x80 << (8 * k)
			}
		}
		nl, got := plainText(w)
		if got != want || want && nl != wantNL { // nl counts only when ok
			t.Fatalf("plainText(%#016x) = %#x, %v, want %#x, %v", w, nl, got, wantNL, want)
		}
		if got := lineLeads(w); got != wantLeads {
			t.Fatalf("lineLeads(%#016x) = %#x, want %#x", w, got, wantLeads)
		}
	}
}

func FuzzCheckCharacters(f *testing.F) {
	f.Add([]byte("a: 1\n---\nb: \x01"))
	f.Add([]byte("{\"a\":\"\xc2\x85\"}"))
	f.Fuzz(compareScans)
}
