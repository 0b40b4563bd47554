package ir

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// This file reads nftables rulesets back, for diff and explain: the
// output of "nft list ruleset" (blocks) and "nft -f" payloads made of add
// commands (what kube-proxy's tests dump, and what kubeproxyc renders).
// Only kube-proxy's tables ("ip kube-proxy", "ip6 kube-proxy") are kept.
//
// nft list prints what the kernel holds, not what was written, so
// CanonicalNFTRule, CanonicalNFTElement and the header functions map both
// spellings to one: "mark set mark or 0x4000" is listed as "meta mark set
// meta mark | 0x00004000"; "dnat ip addr . port to" as "dnat ip to"; an
// anonymous set of one element loses its braces, its elements are sorted
// and those inside another element's prefix are merged away; priorities
// are listed by name ("dstnat - 10"); timeouts in the largest unit ("3h");
// dynamic sets gain "size 65535".

// KubeProxyTable is the name of kube-proxy's nftables table.
const KubeProxyTable = "kube-proxy"

// ParseNFT reads an nftables ruleset in either form and returns its
// kube-proxy tables. Errors name the line.
func ParseNFT(r io.Reader) ([]*NFT, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading nftables ruleset: %w", err)
	}
	p := &nftParser{lines: lines, tables: map[string]*NFT{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	var out []*NFT
	for _, k := range p.order {
		out = append(out, p.tables[k])
	}
	return out, nil
}

type nftParser struct {
	lines  []string
	i      int
	tables map[string]*NFT
	order  []string
}

func (p *nftParser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *nftParser) table(family, name string) *NFT {
	key := family + " " + name
	t := p.tables[key]
	if t == nil {
		t = NewNFT(family, name, "")
		p.tables[key] = t
		p.order = append(p.order, key)
	}
	return t
}

func (p *nftParser) parse() error {
	for ; p.i < len(p.lines); p.i++ {
		line := strings.TrimSpace(stripHandle(p.lines[p.i]))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case f[0] == "table" && len(f) >= 3 && strings.HasSuffix(line, "{"):
			if err := p.block(f[1], f[2]); err != nil {
				return err
			}
		case f[0] == "add" || f[0] == "create" || f[0] == "insert":
			if err := p.command(line); err != nil {
				return err
			}
		case f[0] == "flush" || f[0] == "delete" || f[0] == "destroy":
			// Transaction commands before the adds; a dump has none.
		default:
			return p.errorf("unexpected %q (want a table block or an add command)", truncateText(line))
		}
	}
	return nil
}

// stripHandle drops the "# handle N" that nft list -a appends.
func stripHandle(s string) string {
	if i := strings.Index(s, " # handle "); i >= 0 {
		return s[:i]
	}
	return s
}

// block reads "table FAMILY NAME { ... }" as nft list prints it.
func (p *nftParser) block(family, name string) error {
	keep := name == KubeProxyTable
	var t *NFT
	if keep {
		t = p.table(family, name)
	}
	for p.i++; p.i < len(p.lines); p.i++ {
		line := strings.TrimSpace(stripHandle(p.lines[p.i]))
		f := strings.Fields(line)
		switch {
		case line == "":
		case line == "}":
			return nil
		case !keep:
			if strings.HasSuffix(line, "{") {
				if err := p.skipBlock(); err != nil {
					return err
				}
			}
		case f[0] == "comment":
			t.Comment = unquote(strings.TrimSpace(strings.TrimPrefix(line, "comment")))
		case (f[0] == "set" || f[0] == "map") && len(f) >= 3:
			if err := p.setBlock(t, f[0], f[1]); err != nil {
				return err
			}
		case f[0] == "chain" && len(f) >= 3:
			if err := p.chainBlock(t, f[1]); err != nil {
				return err
			}
		default:
			if strings.HasSuffix(line, "{") {
				if err := p.skipBlock(); err != nil {
					return err
				}
			}
		}
	}
	return p.errorf("table %s %s is not closed", family, name)
}

func (p *nftParser) skipBlock() error {
	depth := 1
	for p.i++; p.i < len(p.lines); p.i++ {
		depth += strings.Count(p.lines[p.i], "{") - strings.Count(p.lines[p.i], "}")
		if depth <= 0 {
			return nil
		}
	}
	return p.errorf("block not closed")
}

func (p *nftParser) setBlock(t *NFT, kind, name string) error {
	var s *NFTSet
	for p.i++; p.i < len(p.lines); p.i++ {
		line := strings.TrimSpace(p.lines[p.i])
		if line == "" {
			continue
		}
		if line == "}" {
			if s == nil {
				return p.errorf("%s %s has no type", kind, name)
			}
			return nil
		}
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "type":
			if kind == "map" {
				s = t.AddMap(name, val, "")
			} else {
				s = t.AddSet(name, val, "")
			}
		case "flags":
			s.Flags = strings.Split(val, ",")
		case "timeout":
			n, err := parseNFTDuration(val)
			if err != nil {
				return p.errorf("%s %s: %v", kind, name, err)
			}
			s.Timeout = n
		case "comment":
			s.Comment = unquote(val)
		case "size", "policy", "gc-interval", "auto-merge", "counter":
		case "elements":
			text := strings.TrimSpace(strings.TrimPrefix(val, "="))
			for !balanced(text) && p.i+1 < len(p.lines) {
				p.i++
				text += " " + strings.TrimSpace(p.lines[p.i])
			}
			if s == nil {
				return p.errorf("%s %s: elements before type", kind, name)
			}
			elems, err := parseElements(strings.TrimSuffix(strings.TrimPrefix(text, "{"), "}"))
			if err != nil {
				return p.errorf("%s %s: %v", kind, name, err)
			}
			for _, e := range elems {
				s.AddElement(e)
			}
		default:
			return p.errorf("%s %s: unexpected %q", kind, name, truncateText(line))
		}
	}
	return p.errorf("%s %s is not closed", kind, name)
}

// balanced reports whether the braces outside quotes are closed.
func balanced(s string) bool {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case quoted:
		case s[i] == '{':
			depth++
		case s[i] == '}':
			depth--
		}
	}
	return depth <= 0
}

func (p *nftParser) chainBlock(t *NFT, name string) error {
	c := t.AddChain(name)
	for p.i++; p.i < len(p.lines); p.i++ {
		line := strings.TrimSpace(stripHandle(p.lines[p.i]))
		switch {
		case line == "":
		case line == "}":
			return nil
		case strings.HasPrefix(line, "type "):
			if err := parseChainSpec(c, line); err != nil {
				return p.errorf("chain %s: %v", name, err)
			}
		case strings.HasPrefix(line, "comment \""):
			c.Comment = unquote(strings.TrimPrefix(line, "comment "))
		default:
			text, comment := splitComment(line)
			c.AddRule(0, text, comment)
		}
	}
	return p.errorf("chain %s is not closed", name)
}

// parseChainSpec reads "type T hook H priority P; policy accept;" (the
// semicolons may be spaced, and the policy may be missing).
func parseChainSpec(c *NFTChain, spec string) error {
	spec = strings.ReplaceAll(spec, ";", " ; ")
	f := strings.Fields(spec)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "type":
			if i+1 < len(f) {
				c.Type = f[i+1]
				i++
			}
		case "hook":
			if i+1 < len(f) {
				c.Hook = f[i+1]
				i++
			}
		case "priority":
			j := i + 1
			for j < len(f) && f[j] != ";" {
				j++
			}
			n, err := parsePriority(f[i+1 : j])
			if err != nil {
				return err
			}
			c.Priority = n
			i = j
		case "comment":
			if i+1 < len(f) {
				c.Comment = unquote(f[i+1])
				i++
			}
		}
	}
	if c.Type == "" || c.Hook == "" {
		return fmt.Errorf("base chain %q lacks a type or hook", spec)
	}
	return nil
}

// priorityNames are nft's standard priorities for the ip and ip6
// families.
var priorityNames = map[string]int{"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}

func parsePriority(toks []string) (int, error) {
	if len(toks) == 0 {
		return 0, fmt.Errorf("priority without a value")
	}
	base, ok := priorityNames[toks[0]]
	if !ok {
		n, err := strconv.Atoi(toks[0])
		if err != nil {
			return 0, fmt.Errorf("invalid priority %q", strings.Join(toks, " "))
		}
		base = n
	}
	if len(toks) == 3 && (toks[1] == "+" || toks[1] == "-") {
		n, err := strconv.Atoi(toks[2])
		if err != nil {
			return 0, fmt.Errorf("invalid priority %q", strings.Join(toks, " "))
		}
		if toks[1] == "-" {
			n = -n
		}
		return base + n, nil
	}
	if len(toks) != 1 {
		return 0, fmt.Errorf("invalid priority %q", strings.Join(toks, " "))
	}
	return base, nil
}

// parseNFTDuration reads "10800s", "3h", "1d2h3m4s" into seconds.
func parseNFTDuration(s string) (int, error) {
	total, num := 0, 0
	seen := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			num = num*10 + int(c-'0')
			seen = true
			continue
		}
		unit := map[byte]int{'d': 86400, 'h': 3600, 'm': 60, 's': 1}[c]
		if unit == 0 || !seen {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if c == 'm' && i+1 < len(s) && s[i+1] == 's' {
			return 0, fmt.Errorf("invalid duration %q: milliseconds", s)
		}
		total += num * unit
		num, seen = 0, false
	}
	if seen {
		total += num // a bare number is seconds
	}
	return total, nil
}

// command reads one "add ..." line.
func (p *nftParser) command(line string) error {
	toks, err := Tokenize(line)
	if err != nil {
		return p.errorf("%v", err)
	}
	if len(toks) < 4 {
		return p.errorf("unexpected %q", truncateText(line))
	}
	what, family, tname := toks[1], toks[2], toks[3]
	if tname != KubeProxyTable {
		return nil
	}
	t := p.table(family, tname)
	// The text after "add KIND FAMILY TABLE ", with its quoting.
	rest := line
	for k := 0; k < 4; k++ {
		rest = strings.TrimLeft(rest, " \t")
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
	}
	rest = strings.TrimSpace(rest)
	switch what {
	case "table":
		if i := strings.Index(rest, "comment "); i >= 0 {
			c := strings.TrimSpace(rest[i+len("comment "):])
			c = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(c, "}")), ";")
			t.Comment = unquote(strings.TrimSpace(c))
		}
	case "chain":
		name, spec, _ := strings.Cut(rest, " ")
		c := t.AddChain(name)
		spec = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(spec), "{"), "}"))
		if strings.HasPrefix(spec, "type ") {
			if err := parseChainSpec(c, spec); err != nil {
				return p.errorf("%v", err)
			}
		} else if strings.HasPrefix(spec, "comment ") {
			c.Comment = unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(spec, "comment ")), ";")))
		}
	case "set", "map":
		name, spec, _ := strings.Cut(rest, " ")
		spec = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(spec), "{"), "}"))
		var s *NFTSet
		for _, part := range splitOutsideQuotes(spec, ';') {
			key, val, _ := strings.Cut(strings.TrimSpace(part), " ")
			val = strings.TrimSpace(val)
			switch key {
			case "type":
				if what == "map" {
					s = t.AddMap(name, val, "")
				} else {
					s = t.AddSet(name, val, "")
				}
			case "flags":
				if s != nil {
					s.Flags = strings.Split(val, ",")
				}
			case "timeout":
				n, err := parseNFTDuration(val)
				if err != nil {
					return p.errorf("%v", err)
				}
				if s != nil {
					s.Timeout = n
				}
			case "comment":
				if s != nil {
					s.Comment = unquote(val)
				}
			}
		}
		if s == nil {
			return p.errorf("%s %s has no type", what, name)
		}
	case "rule":
		chain, text, _ := strings.Cut(rest, " ")
		text, comment := splitComment(strings.TrimSpace(text))
		t.AddChain(chain).AddRule(0, text, comment)
	case "element":
		name, body, _ := strings.Cut(rest, " ")
		s := t.Set(name)
		if s == nil {
			return p.errorf("element of undeclared set or map %s", name)
		}
		body = strings.TrimSpace(body)
		elems, err := parseElements(strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}"))
		if err != nil {
			return p.errorf("%v", err)
		}
		for _, e := range elems {
			s.AddElement(e)
		}
	default:
		return p.errorf("unsupported command %q", truncateText(line))
	}
	return nil
}

// splitComment separates a trailing comment "..." from a rule.
func splitComment(line string) (text, comment string) {
	i := strings.LastIndex(line, " comment \"")
	if i < 0 || !strings.HasSuffix(line, "\"") {
		return line, ""
	}
	return line[:i], unquote(line[i+len(" comment "):])
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}

// splitOutsideQuotes splits s at sep, except inside double quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseElements reads "KEY [comment "C"] [: VALUE], ..." into elements.
func parseElements(s string) ([]NFTElement, error) {
	var out []NFTElement
	for _, part := range splitOutsideQuotes(s, ',') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var e NFTElement
		key, value := part, ""
		// The value follows the last " : " outside quotes.
		if i := lastOutsideQuotes(part, " : "); i >= 0 {
			key, value = part[:i], strings.TrimSpace(part[i+3:])
		}
		key = strings.TrimSpace(key)
		if i := strings.Index(key, " comment \""); i >= 0 {
			e.Comment = unquote(key[i+len(" comment "):])
			key = strings.TrimSpace(key[:i])
		}
		e.Key, e.Value = key, value
		out = append(out, e)
	}
	return out, nil
}

func lastOutsideQuotes(s, sub string) int {
	last, quoted := -1, false
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && strings.HasPrefix(s[i:], sub) {
			last = i
		}
	}
	return last
}

// nftTokens splits rule text into tokens, with "," "{" "}" on their own
// and quoted strings kept whole.
func nftTokens(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteByte(c)
		case quoted:
			cur.WriteByte(c)
		case c == ' ' || c == '\t':
			flush()
		case c == ',' || c == '{' || c == '}':
			flush()
			out = append(out, string(c))
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// CanonicalNFTRule spells rule statements one way whichever of the forms
// above they come in (see the file comment).
func CanonicalNFTRule(text string) string {
	toks := nftTokens(text)
	var out []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "counter":
			for i+2 < len(toks) && (toks[i+1] == "packets" || toks[i+1] == "bytes") {
				i += 2
			}
		case t == "mark" && (i == 0 || toks[i-1] != "meta"):
			out = append(out, "meta", "mark")
		case (t == "or" || t == "xor" || t == "and") && len(out) >= 2 && out[len(out)-1] == "mark" && out[len(out)-2] == "meta":
			out = append(out, map[string]string{"or": "|", "xor": "^", "and": "&"}[t])
		case strings.HasPrefix(t, "0x") && strings.Contains(t, "/") && markMatch(out):
			// nft lists "mark & 0x80000000 != 0" as a prefix match,
			// "mark != 0x00000000/1".
			v, bits, _ := strings.Cut(t, "/")
			n, err1 := strconv.ParseUint(v, 0, 32)
			b, err2 := strconv.Atoi(bits)
			if err1 != nil || err2 != nil || b < 0 || b > 32 {
				out = append(out, t)
				continue
			}
			mask := uint64(0xffffffff) << (32 - b) & 0xffffffff
			op := "=="
			if out[len(out)-1] == "!=" || out[len(out)-1] == "==" {
				op = out[len(out)-1]
				out = out[:len(out)-1]
			}
			out = append(out, "&", fmt.Sprintf("0x%08x", mask), op, fmt.Sprintf("0x%08x", n))
		case strings.HasPrefix(t, "0x"):
			if n, err := strconv.ParseUint(t, 0, 32); err == nil {
				t = fmt.Sprintf("0x%08x", n)
			}
			out = append(out, t)
		case t == "0" && len(out) >= 1 && (out[len(out)-1] == "!=" || out[len(out)-1] == "==") && strings.Contains(strings.Join(out, " "), "meta mark &"):
			out = append(out, "0x00000000")
		case t == "dnat" && i+4 < len(toks) && (toks[i+1] == "ip" || toks[i+1] == "ip6") && toks[i+2] == "addr" && toks[i+3] == "." && toks[i+4] == "port":
			out = append(out, "dnat", toks[i+1])
			i += 4
		case t == "{":
			j := i + 1
			for j < len(toks) && toks[j] != "}" {
				j++
			}
			elems := canonicalAnonSet(toks[i+1 : j])
			prev := ""
			if len(out) > 0 {
				prev = out[len(out)-1]
			}
			if _, err := parsePrefix(strings.Join(elems, "")); err == nil && len(elems) == 1 && prev != "vmap" && prev != "map" {
				out = append(out, elems[0])
			} else {
				out = append(out, "{", strings.Join(elems, ", "), "}")
			}
			i = j
		default:
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// markMatch reports whether out ends with "meta mark" and an optional
// comparison operator.
func markMatch(out []string) bool {
	n := len(out)
	if n >= 1 && (out[n-1] == "!=" || out[n-1] == "==") {
		n--
	}
	return n >= 2 && out[n-1] == "mark" && out[n-2] == "meta"
}

// canonicalAnonSet sorts the elements of an anonymous set, and drops
// addresses and prefixes that lie inside another element's prefix, as
// nft's interval handling does. Map elements ("k : v") keep their order.
func canonicalAnonSet(toks []string) []string {
	var elems []string
	var cur []string
	for _, t := range toks {
		if t == "," {
			elems = append(elems, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		elems = append(elems, strings.Join(cur, " "))
	}
	var prefixes []netip.Prefix
	for _, e := range elems {
		p, err := parsePrefix(e)
		if err != nil {
			return elems // not a set of addresses: keep as written
		}
		prefixes = append(prefixes, p)
	}
	sort.Slice(prefixes, func(i, j int) bool {
		if c := prefixes[i].Addr().Compare(prefixes[j].Addr()); c != 0 {
			return c < 0
		}
		return prefixes[i].Bits() < prefixes[j].Bits()
	})
	var out []string
	for i, p := range prefixes {
		covered := false
		for j, q := range prefixes {
			if i != j && q.Bits() < p.Bits() && q.Contains(p.Addr()) {
				covered = true
			}
		}
		if covered || (len(out) > 0 && out[len(out)-1] == prefixString(p)) {
			continue
		}
		out = append(out, prefixString(p))
	}
	return out
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// CanonicalNFTElement spells a set or map element one way: addresses
// normalised, the value canonical.
func CanonicalNFTElement(e *NFTElement) string {
	parts := strings.Split(e.Key, " . ")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if pr, err := parsePrefix(p); err == nil {
			p = prefixString(pr)
		}
		parts[i] = p
	}
	s := strings.Join(parts, " . ")
	if e.Comment != "" {
		s += " comment " + QuoteArg(e.Comment, true)
	}
	if e.Value != "" {
		v := e.Value
		if a, port, ok := strings.Cut(v, " . "); ok {
			if pr, err := parsePrefix(a); err == nil {
				v = prefixString(pr) + " . " + port
			}
		}
		s += " : " + v
	}
	return s
}
