package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kubeproxyc/kubeproxyc/compiler"
	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// InputKind is what one argument of diff holds, recognised by content.
type InputKind int

// The input kinds.
const (
	InputManifests InputKind = iota // Kubernetes objects, to compile
	InputIPTables                   // iptables-save output or an iptables-restore payload
	InputNFT                        // nft list ruleset output, or an nft -f payload
	InputIPVS                       // IPVS state as kubeproxyc render --proxy-mode ipvs prints it
)

func (k InputKind) String() string {
	switch k {
	case InputIPTables:
		return "iptables rules"
	case InputNFT:
		return "nftables ruleset"
	case InputIPVS:
		return "IPVS state"
	}
	return "manifests"
}

// DiffInput is one side of a diff as read from the command line.
type DiffInput struct {
	Name string
	Kind InputKind
	// Data is the dump, for every kind but InputManifests.
	Data []byte
	// Sources are the manifests, for InputManifests.
	Sources []compiler.Source
}

// ReadDiffInput reads one argument of diff: a file, a directory of
// manifests, or "-" for stdin.
func ReadDiffInput(arg string, stdin io.Reader) (*DiffInput, error) {
	in := &DiffInput{Name: arg}
	var data []byte
	switch st, err := os.Stat(arg); {
	case arg == "-":
		in.Name = "<stdin>"
		if data, err = io.ReadAll(stdin); err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", arg, err)
	case st.IsDir():
		srcs, err := compiler.ReadSources([]string{arg}, nil)
		if err != nil {
			return nil, err
		}
		in.Sources = srcs
		return in, nil
	default:
		if data, err = os.ReadFile(arg); err != nil {
			return nil, fmt.Errorf("reading %s: %w", arg, err)
		}
	}
	in.Kind = ClassifyInput(data)
	if in.Kind == InputManifests {
		in.Sources = []compiler.Source{{Name: in.Name, Data: data}}
	} else {
		in.Data = data
	}
	return in, nil
}

// ClassifyInput tells rule dumps from manifests by their first line that
// is neither blank nor a comment.
func ClassifyInput(data []byte) InputKind {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case line == "# ipvsadm-save -n" || line == "# ipset save":
			return InputIPVS
		case strings.HasPrefix(line, "#"):
			continue
		}
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "*") && len(f) == 1:
			return InputIPTables
		case f[0] == "-A" || f[0] == "-a":
			if len(f) > 1 && (f[1] == "-t" || f[1] == "-u" || f[1] == "--sctp-service" || f[1] == "-f") {
				return InputIPVS
			}
			return InputIPTables
		case f[0] == "table" || (f[0] == "add" || f[0] == "flush" || f[0] == "delete") && len(f) > 1 &&
			(f[1] == "table" || f[1] == "chain" || f[1] == "rule" || f[1] == "ruleset"):
			return InputNFT
		default:
			return InputManifests
		}
	}
	return InputManifests
}

// DumpRuleset parses a rule dump for diff. family picks the table of an
// nftables ruleset that holds both kube-proxy tables.
func DumpRuleset(in *DiffInput, family compiler.Family) (*Ruleset, error) {
	switch in.Kind {
	case InputNFT:
		tables, err := ir.ParseNFT(bytes.NewReader(in.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		want := "ip"
		if family == compiler.IPv6 {
			want = "ip6"
		}
		for _, t := range tables {
			if t.Family == want {
				return NFTRuleset(in.Name+" (nftables ruleset, table "+t.Family+" "+t.Name+")", t), nil
			}
		}
		return nil, fmt.Errorf("%s: no table %s %s in the ruleset (--ip-family picks the family)", in.Name, want, ir.KubeProxyTable)
	case InputIPTables:
		p, err := ir.ParseIPTablesSave(bytes.NewReader(in.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		mode := "iptables"
		if hasChain(p, "KUBE-IPVS-FILTER") || hasChain(p, "KUBE-LOAD-BALANCER") {
			mode = "ipvs"
		}
		return IPTablesRuleset(in.Name+" (iptables rules)", mode, p)
	}
	return nil, fmt.Errorf("%s: reading %s for diff is not supported yet", in.Name, in.Kind)
}

func hasChain(p *ir.IPTables, name string) bool {
	for _, t := range p.Tables {
		for _, c := range t.Chains {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

// HostFacts are the facts about a node that change kube-proxy's rules but
// cannot be known offline; a dump from the node shows them. A nil field
// means the dump does not tell.
type HostFacts struct {
	NFAcct                *bool // the nfacct counters exist (-m nfacct matches)
	RandomFully           *bool // MASQUERADE --random-fully
	ConntrackTCPBeLiberal *bool // no INVALID drop rule in KUBE-FORWARD
	Standalone            bool  // the dump has the built-in chains with kube-proxy's jumps
}

// IPTablesHostFacts reads the host facts from an iptables dump of a node
// in iptables mode.
func IPTablesHostFacts(data []byte) HostFacts {
	var f HostFacts
	p, err := ir.ParseIPTablesSave(bytes.NewReader(data))
	if err != nil {
		return f
	}
	yes, no := true, false
	for _, t := range p.Tables {
		for _, c := range t.Chains {
			if builtinChains[c.Name] {
				f.Standalone = true
			}
		}
		specs, err := t.Parse()
		if err != nil {
			return f
		}
		for _, s := range specs {
			for _, m := range s.Matches {
				if m.Kind == ir.MatchNFAcct {
					f.NFAcct = &yes
				}
			}
			if s.Chain == "KUBE-POSTROUTING" && s.Target.Kind == ir.TargetMasquerade {
				f.RandomFully = &no
				for _, fl := range s.Target.Flags {
					if fl == "--random-fully" {
						f.RandomFully = &yes
					}
				}
			}
			if s.Chain == "KUBE-FORWARD" {
				for _, m := range s.Matches {
					if m.Kind == ir.MatchConntrack && m.Value == "INVALID" && s.Target.Kind == ir.TargetDrop {
						f.ConntrackTCPBeLiberal = &no
					}
				}
			}
		}
	}
	if hasChain(p, "KUBE-POSTROUTING") {
		if f.NFAcct == nil {
			f.NFAcct = &no
		}
		if f.ConntrackTCPBeLiberal == nil && hasChain(p, "KUBE-FORWARD") {
			f.ConntrackTCPBeLiberal = &yes
		}
	}
	return f
}

// ProgramRuleset converts a compiled program for diff.
func ProgramRuleset(name string, prog *compiler.Program) (*Ruleset, error) {
	switch {
	case prog.IPTables != nil:
		return IPTablesRuleset(name, string(prog.Options.Mode), prog.IPTables)
	case prog.NFT != nil:
		return NFTRuleset(name, prog.NFT), nil
	case prog.IPVS != nil:
		return IPVSRuleset(name, prog.IPVS)
	}
	return nil, fmt.Errorf("%s: diff of --proxy-mode %s is not supported yet", name, prog.Options.Mode)
}
