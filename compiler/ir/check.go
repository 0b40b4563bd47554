package ir

import (
	"errors"
	"fmt"
	"strings"
)

// This file checks the structural invariants of compiled programs: what
// must hold whatever the input was, because the tools that load the
// output (iptables-restore, nft, ipset, ipvsadm) would reject it or, worse,
// read it as something else. A failure is a bug in the compiler, never
// bad input: the loader refuses bad input before it gets here.

// MaxChainNameLen is the longest iptables chain name the kernel takes
// (XT_EXTENSION_MAXNAMELEN is 29, with the terminating NUL).
const MaxChainNameLen = 28

// MaxIPSetNameLen is the longest ipset name (IPSET_MAXNAMELEN is 32, with
// the NUL).
const MaxIPSetNameLen = 31

// iptablesTargets are the targets that are not chains of the table.
var iptablesTargets = map[string]bool{
	"ACCEPT": true, "DROP": true, "RETURN": true, "REJECT": true, "DNAT": true, "SNAT": true,
	"MASQUERADE": true, "MARK": true, "CONNMARK": true, "LOG": true, "NOTRACK": true, "CT": true,
	"QUEUE": true, "NFQUEUE": true,
}

// builtinChains are each table's built-in chains.
var builtinChains = map[string]map[string]bool{
	"filter":   {"INPUT": true, "FORWARD": true, "OUTPUT": true},
	"nat":      {"PREROUTING": true, "INPUT": true, "OUTPUT": true, "POSTROUTING": true},
	"mangle":   {"PREROUTING": true, "INPUT": true, "FORWARD": true, "OUTPUT": true, "POSTROUTING": true},
	"raw":      {"PREROUTING": true, "OUTPUT": true},
	"security": {"INPUT": true, "FORWARD": true, "OUTPUT": true},
}

// CheckIPTables checks an iptables program: known tables; chain names that
// are at most MaxChainNameLen characters of printable non-blank ASCII,
// declared once; user chains without a policy and built-in chains with
// one; rules only in declared or built-in chains, one line each, that parse
// (ParseRule) and jump only to built-in targets or declared chains of
// their table. It returns every problem found, joined.
func CheckIPTables(p *IPTables) error {
	var errs []error
	seenTable := map[string]bool{}
	for _, t := range p.Tables {
		builtin, ok := builtinChains[t.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown table %q", t.Name))
			continue
		}
		if seenTable[t.Name] {
			errs = append(errs, fmt.Errorf("table %s appears twice", t.Name))
		}
		seenTable[t.Name] = true
		declared := map[string]bool{}
		for _, c := range t.Chains {
			if err := checkChainName(c.Name); err != nil {
				errs = append(errs, fmt.Errorf("table %s: %w", t.Name, err))
			}
			if declared[c.Name] {
				errs = append(errs, fmt.Errorf("table %s: chain %s declared twice", t.Name, c.Name))
			}
			declared[c.Name] = true
			switch {
			case builtin[c.Name] && c.Policy != "ACCEPT" && c.Policy != "DROP":
				errs = append(errs, fmt.Errorf("table %s: built-in chain %s has policy %q", t.Name, c.Name, c.Policy))
			case !builtin[c.Name] && c.Policy != "-":
				errs = append(errs, fmt.Errorf("table %s: user chain %s has policy %q", t.Name, c.Name, c.Policy))
			}
		}
		if n := t.newlines(); n != len(t.Rules) {
			errs = append(errs, fmt.Errorf("table %s: %d lines of rules for %d rules", t.Name, n, len(t.Rules)))
		}
		for i, r := range t.Rules {
			if !declared[r.Chain] && !builtin[r.Chain] {
				errs = append(errs, fmt.Errorf("table %s: rule in undeclared chain: %s", t.Name, t.Line(i)))
			}
			line := t.Line(i)
			if strings.ContainsAny(line, "\n\r\x00") {
				errs = append(errs, fmt.Errorf("table %s: rule %d spans lines or holds NUL: %q", t.Name, i, line))
				continue
			}
			spec, err := ParseRule(r.Chain, t.Args(i))
			if err != nil {
				errs = append(errs, fmt.Errorf("table %s: rule %q does not parse: %w", t.Name, line, err))
				continue
			}
			if k := spec.Target.Kind; k == TargetJump || k == TargetGoto || k == TargetOther {
				if to := spec.Target.Chain; !declared[to] && !iptablesTargets[to] {
					errs = append(errs, fmt.Errorf("table %s: rule jumps to undeclared chain %s: %s", t.Name, to, line))
				}
			}
			comments := 0
			for _, m := range spec.Matches {
				if m.Kind == MatchComment {
					comments++
				}
			}
			if comments > 1 {
				errs = append(errs, fmt.Errorf("table %s: rule with %d comments: %s", t.Name, comments, line))
			}
		}
	}
	return errors.Join(errs...)
}

// checkChainName checks an iptables chain name.
func checkChainName(name string) error {
	if name == "" {
		return errors.New("empty chain name")
	}
	if len(name) > MaxChainNameLen {
		return fmt.Errorf("chain name %s is %d characters long (at most %d)", name, len(name), MaxChainNameLen)
	}
	if name[0] == '-' || name[0] == '!' {
		return fmt.Errorf("chain name %q starts with %q", name, name[0])
	}
	return checkWord("chain name", name)
}

// checkWord checks a name is printable ASCII without blanks, quotes or
// the characters shells and nft give a meaning to.
func checkWord(what, s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'`\\;#{}$", c) >= 0 {
			return fmt.Errorf("%s %q holds %q", what, s, c)
		}
	}
	return nil
}

// CheckNFT checks an nftables table: chain, set and map names are words
// (checkWord), declared once; rule texts and element keys and values are
// single lines without statement separators or comments of their own
// (";", "#") outside quotes; every jump, goto and vmap target is a chain of
// the table, and every @name a set or map of it.
func CheckNFT(t *NFT) error {
	var errs []error
	chains, sets := map[string]bool{}, map[string]bool{}
	for _, c := range t.Chains {
		if err := checkWord("chain name", c.Name); err != nil {
			errs = append(errs, err)
		}
		if chains[c.Name] {
			errs = append(errs, fmt.Errorf("chain %s declared twice", c.Name))
		}
		chains[c.Name] = true
	}
	for _, list := range [][]*NFTSet{t.Sets, t.Maps} {
		for _, s := range list {
			if err := checkWord("set name", s.Name); err != nil {
				errs = append(errs, err)
			}
			if sets[s.Name] {
				errs = append(errs, fmt.Errorf("set or map %s declared twice", s.Name))
			}
			sets[s.Name] = true
		}
	}
	refs := func(where, text string) {
		if err := checkNFTText(text); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		words := strings.Fields(text)
		for i, w := range words {
			if (w == "jump" || w == "goto") && i+1 < len(words) {
				if to := strings.TrimSuffix(words[i+1], ","); !chains[to] {
					errs = append(errs, fmt.Errorf("%s: %s to undeclared chain %s", where, w, to))
				}
			}
			if name, ok := strings.CutPrefix(w, "@"); ok && !sets[name] {
				errs = append(errs, fmt.Errorf("%s: reference to undeclared set or map %s", where, name))
			}
		}
	}
	for _, c := range t.Chains {
		for i, r := range c.Rules {
			refs(fmt.Sprintf("chain %s rule %d", c.Name, i), r.Text)
		}
	}
	for _, list := range [][]*NFTSet{t.Sets, t.Maps} {
		for _, s := range list {
			for _, e := range s.Elements {
				refs(fmt.Sprintf("set %s element %s", s.Name, e.Key), e.Key)
				if e.Value != "" {
					refs(fmt.Sprintf("map %s element %s", s.Name, e.Key), e.Value)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkNFTText checks one rule or element text: one line, quotes closed,
// and no ";" or "#" outside quotes (which nft would read as the end of
// the command or the start of a comment).
func checkNFTText(s string) error {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n' || c == '\r' || c == 0:
			return fmt.Errorf("text spans lines or holds NUL: %q", s)
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ';' || c == '#'):
			return fmt.Errorf("text holds %q outside quotes: %q", c, s)
		}
	}
	if inQuote {
		return fmt.Errorf("unclosed quote: %q", s)
	}
	return nil
}

// ipvsSchedulers are the schedulers ipvsadm knows.
var ipvsSchedulers = map[string]bool{
	"rr": true, "wrr": true, "lc": true, "wlc": true, "lblc": true, "lblcr": true, "dh": true,
	"sh": true, "sed": true, "nq": true, "mh": true, "fo": true, "ovf": true, "twos": true,
}

// ipsetTypes are the set types kube-proxy creates.
var ipsetTypes = map[string]bool{SetHashIP: true, SetHashIPPort: true, SetHashIPPortIP: true, SetHashIPPortNet: true, SetBitmapPort: true}

// CheckIPVS checks IPVS state: its iptables payload (CheckIPTables) names
// only ipsets that exist; set names are words of at most MaxIPSetNameLen
// characters with a known type and entries without blanks; virtual servers
// have a known protocol and scheduler; the device name is a valid
// interface name; the jump rules target chains of the payload.
func CheckIPVS(p *IPVS) error {
	var errs []error
	if err := CheckInterfaceName(p.Device); err != nil {
		errs = append(errs, fmt.Errorf("device: %w", err))
	}
	sets := map[string]bool{}
	for _, s := range p.Sets {
		if err := checkWord("ipset name", s.Name); err != nil {
			errs = append(errs, err)
		}
		if len(s.Name) > MaxIPSetNameLen {
			errs = append(errs, fmt.Errorf("ipset name %s is longer than %d characters", s.Name, MaxIPSetNameLen))
		}
		if sets[s.Name] {
			errs = append(errs, fmt.Errorf("ipset %s declared twice", s.Name))
		}
		sets[s.Name] = true
		if !ipsetTypes[s.Type] {
			errs = append(errs, fmt.Errorf("ipset %s has unknown type %q", s.Name, s.Type))
		}
		for _, e := range s.Entries {
			if err := checkWord("ipset entry", e); err != nil {
				errs = append(errs, fmt.Errorf("ipset %s: %w", s.Name, err))
			}
		}
	}
	for _, vs := range p.VirtualServers {
		switch vs.Protocol {
		case ProtoTCP, ProtoUDP, ProtoSCTP:
		default:
			errs = append(errs, fmt.Errorf("virtual server %s:%d has unknown protocol %q", vs.Address, vs.Port, vs.Protocol))
		}
		if !ipvsSchedulers[vs.Scheduler] {
			errs = append(errs, fmt.Errorf("virtual server %s:%d has unknown scheduler %q", vs.Address, vs.Port, vs.Scheduler))
		}
	}
	if p.IPTables != nil {
		if err := CheckIPTables(p.IPTables); err != nil {
			errs = append(errs, err)
		}
		for _, t := range p.IPTables.Tables {
			for i := range t.Rules {
				spec, err := ParseRule(t.Rules[i].Chain, t.Args(i))
				if err != nil {
					continue // reported by CheckIPTables
				}
				for _, m := range spec.Matches {
					if m.Kind == MatchSet && !sets[m.Value] {
						errs = append(errs, fmt.Errorf("table %s: rule matches undeclared ipset %s: %s", t.Name, m.Value, t.Line(i)))
					}
				}
			}
		}
		for _, j := range p.Jumps {
			t := p.IPTables.Table(j.Table)
			if t == nil || !hasChain(t, j.Target) {
				errs = append(errs, fmt.Errorf("jump rule from %s to %s: no such chain in table %s", j.Chain, j.Target, j.Table))
			}
		}
	}
	return errors.Join(errs...)
}

func hasChain(t *Table, name string) bool {
	for _, c := range t.Chains {
		if c.Name == name {
			return true
		}
	}
	return false
}

// MaxInterfaceNameLen is the longest network interface name Linux takes
// (IFNAMSIZ is 16, with the NUL).
const MaxInterfaceNameLen = 15

// CheckInterfaceName checks a network interface name as the kernel does
// (dev_valid_name): 1 to 15 characters, not "." or "..", without "/",
// ":" or white space. It also refuses what would change the meaning of
// the rules or scripts it is written into: a leading "-" (an option to
// iptables), quotes, "!", "+", "*", ";", "$", "#", backslashes, braces and
// control characters.
func CheckInterfaceName(name string) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) > MaxInterfaceNameLen:
		return fmt.Errorf("interface name %q is longer than %d characters", name, MaxInterfaceNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q is not allowed", name)
	case name[0] == '-':
		return fmt.Errorf("interface name %q starts with \"-\"", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("/:\"'`\\;#{}$!+*,", c) >= 0 {
			return fmt.Errorf("interface name %q holds %q", name, c)
		}
	}
	return nil
}
