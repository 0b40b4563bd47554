package ir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// This file reads iptables rules back: it tokenises rule arguments the way
// iptables-restore does, parses them into typed matches and targets
// (RuleSpec), prints them in one canonical form, and reads whole
// iptables-save or iptables-restore texts into an IPTables program.
//
// The canonical form is what makes a node's iptables-save dump comparable
// with a compiled payload. iptables-save prints what the kernel holds, not
// what was written: it adds /32 (or /128) to addresses, masks them, moves
// -s/-d/-i/-o/-p in front of the matches, prints a MARK --or-mark as
// --set-xmark value/value, prints marks without leading zeros, always
// quotes comments, adds the default options of -m recent (--mask,
// --rsource) and of REJECT (--reject-with), and prints a statistic
// probability with 11 decimals after the kernel has rounded it to a
// fraction of 2^31. Canonical undoes all of this: the same rule written
// either way prints the same canonical text.

// MatchKind says what a Match tests.
type MatchKind uint8

// The match kinds. The comment on each names the Match fields it uses.
const (
	MatchSource       MatchKind = iota + 1 // -s: Prefix
	MatchDest                              // -d: Prefix
	MatchInInterface                       // -i: Value (a trailing + is a wildcard)
	MatchOutInterface                      // -o: Value
	MatchProtocol                          // -p: Value (tcp, udp, sctp, ...)
	MatchComment                           // -m comment --comment: Value
	MatchProtoModule                       // -m tcp|udp|sctp without options: Module
	MatchDestPort                          // --dport: Lo, Hi
	MatchSourcePort                        // --sport: Lo, Hi
	MatchAddrType                          // -m addrtype --src-type|--dst-type: Field ("src" or "dst"), Value (LOCAL, ...)
	MatchMark                              // -m mark --mark: Mark, Mask
	MatchConntrack                         // -m conntrack --ctstate: Value (canonical comma list)
	MatchStatistic                         // -m statistic --mode random --probability: Prob
	MatchRecent                            // -m recent: Field (set, rcheck, update, remove), Value (name), Seconds, Reap, Raw (other options)
	MatchNFAcct                            // -m nfacct --nfacct-name: Value
	MatchSet                               // -m set --match-set: Value (set name), Field (flags, e.g. dst,dst)
	MatchOther                             // any other option: Module, Raw (the option and its values)
)

// ProbabilityOne is a statistic probability of 1 in kernel units: the
// kernel stores a probability as a fraction of 2^31.
const ProbabilityOne = 1 << 31

// Match is one condition of a rule.
type Match struct {
	Kind   MatchKind
	Not    bool   // negated with !
	Module string // the -m module the option belongs to; "" for -s, -d, -i, -o, -p
	// Group numbers the -m occurrences of a rule, so that two options of
	// one "-m tcp --sport 1 --dport 2" print under one -m.
	Group   int
	Prefix  netip.Prefix
	Value   string
	Field   string
	Lo, Hi  uint16
	Mark    uint32
	Mask    uint32
	Prob    uint32
	Seconds int
	Reap    bool
	Raw     []string
}

// TargetKind says what a rule does when its matches hold.
type TargetKind uint8

// The target kinds. The comment on each names the Target fields it uses.
const (
	TargetNone       TargetKind = iota // no -j: the rule only counts packets
	TargetJump                         // -j CHAIN: Chain
	TargetGoto                         // -g CHAIN: Chain
	TargetAccept                       // -j ACCEPT
	TargetDrop                         // -j DROP
	TargetReturn                       // -j RETURN
	TargetReject                       // -j REJECT: RejectWith ("" means the default for the family)
	TargetDNAT                         // -j DNAT --to-destination: To, Flags (--random, --persistent)
	TargetSNAT                         // -j SNAT --to-source: To, Flags
	TargetMasquerade                   // -j MASQUERADE: Flags (--random, --random-fully), To (--to-ports)
	TargetMark                         // -j MARK: Mark, Mask as --set-xmark (new = (old &^ Mask) ^ Mark)
	TargetOther                        // any other target: Chain is its name, Raw its options
)

// Target is the action of a rule.
type Target struct {
	Kind       TargetKind
	Chain      string
	To         string
	RejectWith string
	Mark, Mask uint32
	Flags      []string
	Raw        []string
}

// RuleSpec is a parsed rule: all Matches must hold for Target to apply.
type RuleSpec struct {
	Chain   string
	Matches []Match
	Target  Target
}

// Comment returns the rule's comment, or "".
func (r *RuleSpec) Comment() string {
	for i := range r.Matches {
		if r.Matches[i].Kind == MatchComment {
			return r.Matches[i].Value
		}
	}
	return ""
}

// Tokenize splits rule arguments as iptables-restore does: on blanks, with
// a double-quoted (or single-quoted) string as one token. Inside double
// quotes \" and \\ stand for " and \.
func Tokenize(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		var b strings.Builder
		quoted := false
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			c := s[i]
			if c != '"' && c != '\'' {
				b.WriteByte(c)
				i++
				continue
			}
			quoted = true
			end := -1
			for j := i + 1; j < len(s); j++ {
				if c == '"' && s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					b.WriteByte(s[j+1])
					j++
					continue
				}
				if s[j] == c {
					end = j
					break
				}
				b.WriteByte(s[j])
			}
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c quote", c)
			}
			i = end + 1
		}
		if b.Len() > 0 || quoted {
			out = append(out, b.String())
		}
	}
}

// basic options of iptables, with their long spellings.
var basicOptions = map[string]MatchKind{
	"-s": MatchSource, "--source": MatchSource, "--src": MatchSource,
	"-d": MatchDest, "--destination": MatchDest, "--dst": MatchDest,
	"-i": MatchInInterface, "--in-interface": MatchInInterface,
	"-o": MatchOutInterface, "--out-interface": MatchOutInterface,
	"-p": MatchProtocol, "--protocol": MatchProtocol,
}

// isBoundary reports whether tok starts a new part of the rule: a basic
// option, a match module or a target.
func isBoundary(tok string) bool {
	if _, ok := basicOptions[tok]; ok {
		return true
	}
	switch tok {
	case "-m", "--match", "-j", "--jump", "-g", "--goto":
		return true
	}
	return false
}

var protocolNumbers = map[string]string{
	"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp", "132": "sctp",
	"icmpv6": "ipv6-icmp",
}

// ParseRule parses the arguments of one rule of chain (the text after
// "-A CHAIN ").
func ParseRule(chain, args string) (*RuleSpec, error) {
	toks, err := Tokenize(args)
	if err != nil {
		return nil, err
	}
	p := &ruleParser{toks: toks, r: &RuleSpec{Chain: chain}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.r, nil
}

type ruleParser struct {
	toks   []string
	i      int
	r      *RuleSpec
	module string
	group  int
}

func (p *ruleParser) next() (string, bool) {
	if p.i >= len(p.toks) {
		return "", false
	}
	t := p.toks[p.i]
	p.i++
	return t, true
}

func (p *ruleParser) value(opt string) (string, error) {
	v, ok := p.next()
	if !ok {
		return "", fmt.Errorf("%s: missing value", opt)
	}
	return v, nil
}

func (p *ruleParser) add(m Match) {
	if m.Module != "" {
		m.Group = p.group
		// An option of a module that was first seen without options
		// replaces the placeholder.
		if n := len(p.r.Matches); n > 0 && p.r.Matches[n-1].Kind == MatchProtoModule && p.r.Matches[n-1].Group == m.Group {
			p.r.Matches[n-1] = m
			return
		}
	}
	p.r.Matches = append(p.r.Matches, m)
}

func (p *ruleParser) parse() error {
	for {
		tok, ok := p.next()
		if !ok {
			return nil
		}
		not := false
		if tok == "!" {
			not = true
			if tok, ok = p.next(); !ok {
				return fmt.Errorf("! at the end of the rule")
			}
		}
		if kind, ok := basicOptions[tok]; ok {
			if err := p.basic(kind, tok, not); err != nil {
				return err
			}
			continue
		}
		switch tok {
		case "-m", "--match":
			if not {
				return fmt.Errorf("! before -m")
			}
			mod, err := p.value(tok)
			if err != nil {
				return err
			}
			p.module = mod
			p.group++
			if p.i >= len(p.toks) || isBoundary(p.toks[p.i]) || (p.toks[p.i] == "!" && p.i+1 < len(p.toks) && isBoundary(p.toks[p.i+1])) {
				// A module loaded without options (kube-proxy writes
				// "-m tcp -p tcp" before -j DNAT).
				p.add(Match{Kind: MatchProtoModule, Module: mod})
			}
			continue
		case "-j", "--jump", "-g", "--goto":
			if not {
				return fmt.Errorf("! before %s", tok)
			}
			if err := p.target(tok); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(tok, "-") {
			return fmt.Errorf("unexpected argument %q", tok)
		}
		if err := p.option(tok, not); err != nil {
			return err
		}
	}
}

func (p *ruleParser) basic(kind MatchKind, opt string, not bool) error {
	v, err := p.value(opt)
	if err != nil {
		return err
	}
	m := Match{Kind: kind, Not: not}
	switch kind {
	case MatchSource, MatchDest:
		pr, err := parsePrefix(v)
		if err != nil {
			return fmt.Errorf("%s: %w", opt, err)
		}
		m.Prefix = pr
	case MatchProtocol:
		v = strings.ToLower(v)
		if n, ok := protocolNumbers[v]; ok {
			v = n
		}
		if v == "all" || v == "0" {
			return nil
		}
		m.Value = v
	default:
		m.Value = v
	}
	p.add(m)
	return nil
}

// parsePrefix reads an address or CIDR; a bare address is a host prefix.
// A CIDR is masked, as the kernel stores it.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, ",") {
		return netip.Prefix{}, fmt.Errorf("%q: address lists are not supported", s)
	}
	if strings.Contains(s, "/") {
		addr, bits, _ := strings.Cut(s, "/")
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid address %q", s)
		}
		a = a.Unmap()
		n, err := strconv.Atoi(bits)
		if err != nil {
			// a dotted netmask, as old iptables versions print
			m, merr := netip.ParseAddr(bits)
			if merr != nil || !m.Is4() {
				return netip.Prefix{}, fmt.Errorf("invalid prefix length in %q", s)
			}
			b := m.As4()
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			n = 32 - trailingZeros32(v)
		}
		if n < 0 || n > a.BitLen() {
			return netip.Prefix{}, fmt.Errorf("invalid prefix length in %q", s)
		}
		return netip.PrefixFrom(a, n).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func trailingZeros32(v uint32) int {
	n := 0
	for n < 32 && v&(1<<n) == 0 {
		n++
	}
	return n
}

// option parses one option of the current match module.
func (p *ruleParser) option(opt string, not bool) error {
	mod := p.module
	switch {
	case opt == "--comment" && mod == "comment":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		p.add(Match{Kind: MatchComment, Module: mod, Value: v})
		return nil
	case opt == "--dport" || opt == "--destination-port" || opt == "--sport" || opt == "--source-port":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		lo, hi, err := parsePortRange(v)
		if err != nil {
			return fmt.Errorf("%s: %w", opt, err)
		}
		kind := MatchDestPort
		if opt == "--sport" || opt == "--source-port" {
			kind = MatchSourcePort
		}
		if mod != "tcp" && mod != "udp" && mod != "sctp" {
			// "-p tcp --dport 80": iptables loads the protocol's
			// module implicitly.
			mod = p.protocol()
			if mod == "" {
				return fmt.Errorf("%s without -p or -m", opt)
			}
			p.module = mod
			p.group++
		}
		p.add(Match{Kind: kind, Not: not, Module: mod, Lo: lo, Hi: hi})
		return nil
	case (opt == "--src-type" || opt == "--dst-type") && mod == "addrtype":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		p.add(Match{Kind: MatchAddrType, Not: not, Module: mod, Field: opt[2:5], Value: v})
		return nil
	case opt == "--mark" && mod == "mark":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		mark, mask, err := parseMarkMask(v)
		if err != nil {
			return fmt.Errorf("--mark: %w", err)
		}
		p.add(Match{Kind: MatchMark, Not: not, Module: mod, Mark: mark, Mask: mask})
		return nil
	case opt == "--ctstate" && mod == "conntrack", opt == "--state" && mod == "state":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		p.add(Match{Kind: MatchConntrack, Not: not, Module: "conntrack", Value: canonicalStates(v)})
		return nil
	case opt == "--mode" && mod == "statistic":
		return p.statistic(not)
	case mod == "recent" && isRecentOption(opt):
		p.i--
		return p.recent(not)
	case opt == "--nfacct-name" && mod == "nfacct":
		v, err := p.value(opt)
		if err != nil {
			return err
		}
		p.add(Match{Kind: MatchNFAcct, Not: not, Module: mod, Value: v})
		return nil
	case (opt == "--match-set" || opt == "--set") && mod == "set":
		name, err := p.value(opt)
		if err != nil {
			return err
		}
		flags, err := p.value(opt)
		if err != nil {
			return err
		}
		p.add(Match{Kind: MatchSet, Not: not, Module: mod, Value: name, Field: flags})
		return nil
	}
	raw := []string{opt}
	if not {
		raw = []string{"!", opt}
	}
	for p.i < len(p.toks) && !strings.HasPrefix(p.toks[p.i], "-") && p.toks[p.i] != "!" {
		raw = append(raw, p.toks[p.i])
		p.i++
	}
	p.add(Match{Kind: MatchOther, Module: mod, Raw: raw})
	return nil
}

// protocol returns the -p value given so far.
func (p *ruleParser) protocol() string {
	for _, m := range p.r.Matches {
		if m.Kind == MatchProtocol && !m.Not {
			return m.Value
		}
	}
	return ""
}

func parsePortRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid port %q", s)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil {
			return 0, 0, fmt.Errorf("invalid port range %q", s)
		}
	}
	return uint16(a), uint16(b), nil
}

// parseMarkMask reads "value[/mask]"; the mask defaults to all ones.
func parseMarkMask(s string) (uint32, uint32, error) {
	v, m, hasMask := strings.Cut(s, "/")
	mark, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid mark %q", s)
	}
	mask := uint64(math.MaxUint32)
	if hasMask {
		if mask, err = strconv.ParseUint(m, 0, 32); err != nil {
			return 0, 0, fmt.Errorf("invalid mask %q", s)
		}
	}
	return uint32(mark), uint32(mask), nil
}

// conntrackStates lists the states in the order iptables prints them.
var conntrackStates = []string{"INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"}

func canonicalStates(v string) string {
	have := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		have[strings.ToUpper(strings.TrimSpace(s))] = true
	}
	var out []string
	for _, s := range conntrackStates {
		if have[s] {
			out = append(out, s)
			delete(have, s)
		}
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); have[s] {
			out = append(out, s)
			delete(have, s)
		}
	}
	return strings.Join(out, ",")
}

func (p *ruleParser) statistic(not bool) error {
	mode, err := p.value("--mode")
	if err != nil {
		return err
	}
	if mode != "random" || p.i+1 >= len(p.toks) || p.toks[p.i] != "--probability" {
		raw := []string{"--mode", mode}
		for p.i < len(p.toks) && !isBoundary(p.toks[p.i]) {
			raw = append(raw, p.toks[p.i])
			p.i++
		}
		p.add(Match{Kind: MatchOther, Module: "statistic", Raw: raw})
		return nil
	}
	p.i++
	v, _ := p.value("--probability")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("--probability: invalid value %q", v)
	}
	p.add(Match{Kind: MatchStatistic, Not: not, Module: "statistic", Prob: ProbabilityUnits(f)})
	return nil
}

// ProbabilityUnits converts a probability to the kernel's fraction of 2^31,
// rounding as iptables does.
func ProbabilityUnits(f float64) uint32 {
	return uint32(math.Round(f * ProbabilityOne))
}

func isRecentOption(opt string) bool {
	switch opt {
	case "--name", "--set", "--rcheck", "--update", "--remove", "--seconds", "--reap",
		"--hitcount", "--rttl", "--mask", "--rsource", "--rdest":
		return true
	}
	return false
}

// recent parses every option of one -m recent.
func (p *ruleParser) recent(not bool) error {
	m := Match{Kind: MatchRecent, Not: not, Module: "recent", Value: "DEFAULT"}
	for p.i < len(p.toks) {
		opt := p.toks[p.i]
		if opt == "!" && p.i+1 < len(p.toks) && isRecentOption(p.toks[p.i+1]) {
			m.Not = true
			p.i++
			continue
		}
		if !isRecentOption(opt) {
			break
		}
		p.i++
		switch opt {
		case "--set", "--rcheck", "--update", "--remove":
			m.Field = opt[2:]
		case "--reap":
			m.Reap = true
		case "--rsource":
		case "--name":
			v, err := p.value(opt)
			if err != nil {
				return err
			}
			m.Value = v
		case "--seconds":
			v, err := p.value(opt)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("--seconds: invalid value %q", v)
			}
			m.Seconds = n
		case "--mask":
			v, err := p.value(opt)
			if err != nil {
				return err
			}
			if a, err := netip.ParseAddr(v); err != nil || a != allOnes(a) {
				m.Raw = append(m.Raw, opt, v)
			}
		default: // --hitcount N, --rttl, --rdest
			m.Raw = append(m.Raw, opt)
			if opt == "--hitcount" {
				v, err := p.value(opt)
				if err != nil {
					return err
				}
				m.Raw = append(m.Raw, v)
			}
		}
	}
	p.add(m)
	return nil
}

func allOnes(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return netip.AddrFrom16(b)
}

// target parses -j/-g and the target's options, up to the next match.
func (p *ruleParser) target(opt string) error {
	name, err := p.value(opt)
	if err != nil {
		return err
	}
	t := &p.r.Target
	var opts []string
	for p.i < len(p.toks) && !isBoundary(p.toks[p.i]) {
		opts = append(opts, p.toks[p.i])
		p.i++
	}
	if opt == "-g" || opt == "--goto" {
		*t = Target{Kind: TargetGoto, Chain: name}
		return noOptions(name, opts)
	}
	switch name {
	case "ACCEPT":
		*t = Target{Kind: TargetAccept}
	case "DROP":
		*t = Target{Kind: TargetDrop}
	case "RETURN":
		*t = Target{Kind: TargetReturn}
	case "REJECT":
		*t = Target{Kind: TargetReject}
		for i := 0; i < len(opts); i++ {
			if opts[i] != "--reject-with" || i+1 >= len(opts) {
				return fmt.Errorf("REJECT: unexpected option %q", opts[i])
			}
			t.RejectWith = opts[i+1]
			i++
		}
		return nil
	case "DNAT", "SNAT":
		*t = Target{Kind: TargetDNAT}
		want := "--to-destination"
		if name == "SNAT" {
			*t = Target{Kind: TargetSNAT}
			want = "--to-source"
		}
		for i := 0; i < len(opts); i++ {
			switch {
			case (opts[i] == want || opts[i] == "--to") && i+1 < len(opts):
				t.To = opts[i+1]
				i++
			case opts[i] == "--random" || opts[i] == "--persistent" || opts[i] == "--random-fully":
				t.Flags = append(t.Flags, opts[i])
			default:
				return fmt.Errorf("%s: unexpected option %q", name, opts[i])
			}
		}
		return nil
	case "MASQUERADE":
		*t = Target{Kind: TargetMasquerade}
		for i := 0; i < len(opts); i++ {
			switch {
			case opts[i] == "--to-ports" && i+1 < len(opts):
				t.To = opts[i+1]
				i++
			case opts[i] == "--random" || opts[i] == "--random-fully":
				t.Flags = append(t.Flags, opts[i])
			default:
				return fmt.Errorf("MASQUERADE: unexpected option %q", opts[i])
			}
		}
		return nil
	case "MARK":
		return p.markTarget(opts)
	default:
		if !targetExtensions[name] && len(opts) == 0 {
			*t = Target{Kind: TargetJump, Chain: name}
			return nil
		}
		*t = Target{Kind: TargetOther, Chain: name, Raw: opts}
		return nil
	}
	return noOptions(name, opts)
}

// targetExtensions are the iptables target extensions other than those
// parsed above; any other name after -j is a user chain.
var targetExtensions = map[string]bool{
	"AUDIT": true, "CHECKSUM": true, "CLASSIFY": true, "CONNMARK": true, "CONNSECMARK": true,
	"CT": true, "DSCP": true, "HL": true, "HMARK": true, "IDLETIMER": true, "LED": true,
	"LOG": true, "NETMAP": true, "NFLOG": true, "NFQUEUE": true, "NOTRACK": true,
	"RATEEST": true, "REDIRECT": true, "SECMARK": true, "SET": true, "SYNPROXY": true,
	"TCPMSS": true, "TCPOPTSTRIP": true, "TEE": true, "TOS": true, "TPROXY": true,
	"TRACE": true, "TTL": true, "ULOG": true,
}

func noOptions(name string, opts []string) error {
	if len(opts) > 0 {
		return fmt.Errorf("%s: unexpected option %q", name, opts[0])
	}
	return nil
}

// markTarget reads the MARK target's options into the --set-xmark form the
// kernel stores, as libxt_MARK does.
func (p *ruleParser) markTarget(opts []string) error {
	t := &p.r.Target
	*t = Target{Kind: TargetMark}
	if len(opts) != 2 {
		return fmt.Errorf("MARK: expected one option with a value, found %q", strings.Join(opts, " "))
	}
	v := opts[1]
	switch opts[0] {
	case "--set-xmark":
		mark, mask, err := parseMarkMask(v)
		if err != nil {
			return fmt.Errorf("MARK: %w", err)
		}
		t.Mark, t.Mask = mark, mask
	case "--set-mark":
		mark, mask, err := parseMarkMask(v)
		if err != nil {
			return fmt.Errorf("MARK: %w", err)
		}
		t.Mark, t.Mask = mark, mark|mask
	case "--or-mark", "--xor-mark", "--and-mark":
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return fmt.Errorf("MARK: invalid value %q", v)
		}
		switch opts[0] {
		case "--or-mark":
			t.Mark, t.Mask = uint32(n), uint32(n)
		case "--xor-mark":
			t.Mark, t.Mask = uint32(n), 0
		default:
			t.Mark, t.Mask = 0, ^uint32(n)
		}
	default:
		return fmt.Errorf("MARK: unexpected option %q", opts[0])
	}
	return nil
}

// Canonical prints the rule's arguments (without "-A CHAIN") in the order
// and spelling iptables-save uses, with default options left out.
func (r *RuleSpec) Canonical() string {
	var b strings.Builder
	r.writeCanonical(&b)
	return b.String()
}

func (r *RuleSpec) writeCanonical(b *strings.Builder) {
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
	}
	neg := func(m *Match) {
		if m.Not {
			sep()
			b.WriteString("!")
		}
	}
	for _, kind := range []MatchKind{MatchSource, MatchDest, MatchInInterface, MatchOutInterface, MatchProtocol} {
		for i := range r.Matches {
			m := &r.Matches[i]
			if m.Kind != kind {
				continue
			}
			neg(m)
			sep()
			b.WriteString(basicFlag(kind))
			b.WriteByte(' ')
			if kind == MatchSource || kind == MatchDest {
				b.WriteString(m.Prefix.String())
			} else {
				b.WriteString(m.Value)
			}
		}
	}
	// The comment first, then the modules in the order they were given.
	for i := range r.Matches {
		if m := &r.Matches[i]; m.Kind == MatchComment {
			sep()
			b.WriteString("-m comment --comment ")
			b.WriteString(QuoteArg(m.Value, true))
		}
	}
	group := -1
	for i := range r.Matches {
		m := &r.Matches[i]
		if m.Module == "" || m.Kind == MatchComment {
			continue
		}
		if m.Group != group {
			group = m.Group
			sep()
			b.WriteString("-m ")
			b.WriteString(m.Module)
		}
		m.writeOption(b)
	}
	r.Target.writeCanonical(b, sep)
}

func basicFlag(k MatchKind) string {
	switch k {
	case MatchSource:
		return "-s"
	case MatchDest:
		return "-d"
	case MatchInInterface:
		return "-i"
	case MatchOutInterface:
		return "-o"
	}
	return "-p"
}

// writeOption writes one module option, with a leading blank.
func (m *Match) writeOption(b *strings.Builder) {
	not := ""
	if m.Not {
		not = " !"
	}
	switch m.Kind {
	case MatchProtoModule:
	case MatchDestPort, MatchSourcePort:
		b.WriteString(not)
		if m.Kind == MatchDestPort {
			b.WriteString(" --dport ")
		} else {
			b.WriteString(" --sport ")
		}
		b.WriteString(strconv.Itoa(int(m.Lo)))
		if m.Hi != m.Lo {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(int(m.Hi)))
		}
	case MatchAddrType:
		b.WriteString(not)
		b.WriteString(" --" + m.Field + "-type ")
		b.WriteString(m.Value)
	case MatchMark:
		b.WriteString(not)
		b.WriteString(" --mark ")
		b.WriteString(FormatMark(m.Mark, m.Mask))
	case MatchConntrack:
		b.WriteString(not)
		b.WriteString(" --ctstate ")
		b.WriteString(m.Value)
	case MatchStatistic:
		b.WriteString(not)
		b.WriteString(" --mode random --probability ")
		b.WriteString(FormatProbability(m.Prob))
	case MatchRecent:
		b.WriteString(not)
		if m.Field != "" {
			b.WriteString(" --" + m.Field)
		}
		if m.Seconds != 0 {
			b.WriteString(" --seconds ")
			b.WriteString(strconv.Itoa(m.Seconds))
		}
		if m.Reap {
			b.WriteString(" --reap")
		}
		for _, r := range m.Raw {
			b.WriteByte(' ')
			b.WriteString(r)
		}
		b.WriteString(" --name ")
		b.WriteString(m.Value)
	case MatchNFAcct:
		b.WriteString(not)
		b.WriteString(" --nfacct-name ")
		b.WriteString(m.Value)
	case MatchSet:
		b.WriteString(not)
		b.WriteString(" --match-set ")
		b.WriteString(m.Value)
		b.WriteByte(' ')
		b.WriteString(m.Field)
	default:
		for _, r := range m.Raw {
			b.WriteByte(' ')
			b.WriteString(QuoteArg(r, false))
		}
	}
}

func (t *Target) writeCanonical(b *strings.Builder, sep func()) {
	word := func(s string) {
		sep()
		b.WriteString(s)
	}
	switch t.Kind {
	case TargetNone:
	case TargetJump:
		word("-j " + t.Chain)
	case TargetGoto:
		word("-g " + t.Chain)
	case TargetAccept:
		word("-j ACCEPT")
	case TargetDrop:
		word("-j DROP")
	case TargetReturn:
		word("-j RETURN")
	case TargetReject:
		word("-j REJECT")
		if t.RejectWith != "" && t.RejectWith != "icmp-port-unreachable" && t.RejectWith != "icmp6-port-unreachable" {
			word("--reject-with " + t.RejectWith)
		}
	case TargetDNAT:
		word("-j DNAT --to-destination " + t.To)
	case TargetSNAT:
		word("-j SNAT --to-source " + t.To)
	case TargetMasquerade:
		word("-j MASQUERADE")
		if t.To != "" {
			word("--to-ports " + t.To)
		}
	case TargetMark:
		word("-j MARK --set-xmark " + FormatMark(t.Mark, t.Mask))
	default:
		word("-j " + t.Chain)
		for _, r := range t.Raw {
			word(QuoteArg(r, false))
		}
	}
	for _, f := range t.Flags {
		word(f)
	}
}

// FormatMark prints value/mask as iptables-save does: hexadecimal without
// leading zeros, the mask left out when it is all ones.
func FormatMark(mark, mask uint32) string {
	s := "0x" + strconv.FormatUint(uint64(mark), 16)
	if mask != math.MaxUint32 {
		s += "/0x" + strconv.FormatUint(uint64(mask), 16)
	}
	return s
}

// FormatProbability prints a kernel probability as iptables-save does.
func FormatProbability(units uint32) string {
	return strconv.FormatFloat(float64(units)/ProbabilityOne, 'f', 11, 64)
}

// QuoteArg quotes an argument for iptables-restore when it needs quotes (or
// always, if force is set), escaping " and \.
func QuoteArg(s string, force bool) string {
	if !force && s != "" && !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParseIPTablesSave reads an iptables-save dump, or an iptables-restore
// payload, into a program with no origins. Each table keeps its chains in
// the order declared and its rules in the order given. Errors name the
// line: "line 12: ...".
func ParseIPTablesSave(r io.Reader) (*IPTables, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	prog := &IPTables{}
	var t *Table
	declared := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimRight(sc.Bytes(), " \t\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s := string(line)
		switch {
		case s[0] == '*':
			if t != nil {
				return nil, fmt.Errorf("line %d: table %s starts before table %s's COMMIT", n, s[1:], t.Name)
			}
			t = NewTable(s[1:])
			prog.Tables = append(prog.Tables, t)
			declared = map[string]bool{}
		case s == "COMMIT":
			if t == nil {
				return nil, fmt.Errorf("line %d: COMMIT outside a table", n)
			}
			t = nil
		case t == nil:
			return nil, fmt.Errorf("line %d: %q outside a table (a table starts with a line like *nat)", n, truncateText(s))
		case s[0] == ':':
			f := strings.Fields(s[1:])
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: invalid chain line %q", n, truncateText(s))
			}
			if !declared[f[0]] {
				declared[f[0]] = true
				t.Chains = append(t.Chains, Chain{Name: f[0], Policy: f[1]})
			}
		case strings.HasPrefix(s, "-A ") || strings.HasPrefix(s, "--append "):
			_, rest, _ := strings.Cut(s, " ")
			rest = strings.TrimLeft(rest, " ")
			chain, args, _ := strings.Cut(rest, " ")
			if chain == "" {
				return nil, fmt.Errorf("line %d: rule without a chain", n)
			}
			if _, err := ParseRule(chain, args); err != nil {
				return nil, fmt.Errorf("line %d: parsing rule %q: %w", n, truncateText(s), err)
			}
			if !declared[chain] {
				return nil, fmt.Errorf("line %d: rule for undeclared chain %s", n, chain)
			}
			t.AddRule(0, chain, strings.TrimLeft(args, " "))
		default:
			return nil, fmt.Errorf("line %d: unexpected line %q", n, truncateText(s))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	if t != nil {
		return nil, fmt.Errorf("table %s has no COMMIT", t.Name)
	}
	return prog, nil
}

func truncateText(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Parse parses every rule of the table, in order.
func (t *Table) Parse() ([]*RuleSpec, error) {
	out := make([]*RuleSpec, len(t.Rules))
	for i, r := range t.Rules {
		spec, err := ParseRule(r.Chain, t.Args(i))
		if err != nil {
			return nil, fmt.Errorf("table %s: parsing %q: %w", t.Name, t.Line(i), err)
		}
		out[i] = spec
	}
	return out, nil
}
