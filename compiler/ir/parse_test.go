package ir

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"plain", "-m tcp -p tcp", []string{"-m", "tcp", "-p", "tcp"}},
		{"double quotes", `-m comment --comment "a b" -j X`, []string{"-m", "comment", "--comment", "a b", "-j", "X"}},
		{"escaped quote", `--comment "say \"hi\" \\ there"`, []string{"--comment", `say "hi" \ there`}},
		{"single quotes", `--comment 'a "b"'`, []string{"--comment", `a "b"`}},
		{"empty quoted", `--comment ""`, []string{"--comment", ""}},
		{"extra blanks", "  -j\tX  ", []string{"-j", "X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tokenize(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Tokenize(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	if _, err := Tokenize(`--comment "open`); err == nil {
		t.Error("unterminated quote: no error")
	}
}

// TestCanonical pins that what kube-proxy writes and what iptables-save
// prints for the same kernel rule have one canonical form. The "saved"
// forms were read back from a real kernel (iptables v1.8.9, nf_tables)
// after iptables-restore of the "written" forms.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, written, saved, want string
	}{
		{
			name:    "service rule",
			written: `-m comment --comment "ns/svc:p80 cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j KUBE-SVC-X`,
			saved:   `-d 10.96.0.10/32 -p tcp -m comment --comment "ns/svc:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-X`,
			want:    `-d 10.96.0.10/32 -p tcp -m comment --comment "ns/svc:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-X`,
		},
		{
			name:    "negated source",
			written: `-m comment --comment "ns/svc cluster IP" -m udp -p udp -d 10.96.0.53 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
			saved:   `! -s 10.244.0.0/16 -d 10.96.0.53/32 -p udp -m comment --comment "ns/svc cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ`,
			want:    `! -s 10.244.0.0/16 -d 10.96.0.53/32 -p udp -m comment --comment "ns/svc cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ`,
		},
		{
			name:    "bare comment",
			written: `-m comment --comment ns/svc -s 10.244.1.2 -j KUBE-MARK-MASQ`,
			saved:   `-s 10.244.1.2/32 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ`,
			want:    `-s 10.244.1.2/32 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ`,
		},
		{
			name:    "mark match",
			written: `-m mark ! --mark 0x00004000/0x00004000 -j RETURN`,
			saved:   `-m mark ! --mark 0x4000/0x4000 -j RETURN`,
			want:    `-m mark ! --mark 0x4000/0x4000 -j RETURN`,
		},
		{
			name:    "or-mark",
			written: `-j MARK --or-mark 0x00004000`,
			saved:   `-j MARK --set-xmark 0x4000/0x4000`,
			want:    `-j MARK --set-xmark 0x4000/0x4000`,
		},
		{
			name:    "xor-mark",
			written: `-j MARK --xor-mark 0x00004000`,
			saved:   `-j MARK --set-xmark 0x4000/0x0`,
			want:    `-j MARK --set-xmark 0x4000/0x0`,
		},
		{
			name:    "probability",
			written: `-m comment --comment "x -> 1" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-A`,
			saved:   `-m comment --comment "x -> 1" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A`,
			want:    `-m comment --comment "x -> 1" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A`,
		},
		{
			name:    "recent rcheck",
			written: `-m comment --comment "x -> 1" -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A`,
			saved:   `-m comment --comment "x -> 1" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A`,
			want:    `-m comment --comment "x -> 1" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A -j KUBE-SEP-A`,
		},
		{
			name:    "recent set before the protocol module",
			written: `-m comment --comment ns/svc -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:80`,
			saved:   `-p tcp -m comment --comment "ns/svc" -m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.2:80`,
			want:    `-p tcp -m comment --comment "ns/svc" -m recent --set --name KUBE-SEP-A -m tcp -j DNAT --to-destination 10.244.1.2:80`,
		},
		{
			name:    "reject default",
			written: `-m comment --comment "ns/svc has no endpoints" -m sctp -p sctp -d 10.96.0.40 --dport 7000 -j REJECT`,
			saved:   `-d 10.96.0.40/32 -p sctp -m comment --comment "ns/svc has no endpoints" -m sctp --dport 7000 -j REJECT --reject-with icmp-port-unreachable`,
			want:    `-d 10.96.0.40/32 -p sctp -m comment --comment "ns/svc has no endpoints" -m sctp --dport 7000 -j REJECT`,
		},
		{
			name:    "conntrack state order",
			written: `-m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate DNAT,RELATED,ESTABLISHED -j DROP`,
			saved:   `! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
			want:    `! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
		},
		{
			name:    "ipv6 host address",
			written: `-m comment --comment ns/svc -s fd00:10:244:1::2 -j KUBE-MARK-MASQ`,
			saved:   `-s fd00:10:244:1::2/128 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ`,
			want:    `-s fd00:10:244:1::2/128 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ`,
		},
		{
			name:    "implicit protocol module and unmasked CIDR",
			written: `-p tcp --dport 30080 -s 10.1.2.3/16 -j ACCEPT`,
			saved:   `-s 10.1.0.0/16 -p tcp -m tcp --dport 30080 -j ACCEPT`,
			want:    `-s 10.1.0.0/16 -p tcp -m tcp --dport 30080 -j ACCEPT`,
		},
		{
			name:    "masquerade flags",
			written: `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
			saved:   `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
			want:    `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
		},
		{
			name:    "unknown module kept verbatim",
			written: `-m set --match-set KUBE-CLUSTER-IP dst,dst -m physdev ! --physdev-is-in -j ACCEPT`,
			saved:   `-m set --match-set KUBE-CLUSTER-IP dst,dst -m physdev ! --physdev-is-in -j ACCEPT`,
			want:    `-m set --match-set KUBE-CLUSTER-IP dst,dst -m physdev ! --physdev-is-in -j ACCEPT`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range []string{tc.written, tc.saved} {
				r, err := ParseRule("C", in)
				if err != nil {
					t.Fatalf("ParseRule(%q): %v", in, err)
				}
				if diff := cmp.Diff(tc.want, r.Canonical()); diff != "" {
					t.Errorf("Canonical of %q mismatch (-want +got):\n%s", in, diff)
				}
			}
		})
	}
}

func TestParseRuleTyped(t *testing.T) {
	r, err := ParseRule("KUBE-SVC-X", `-m comment --comment "a -> b" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A`)
	if err != nil {
		t.Fatal(err)
	}
	want := &RuleSpec{
		Chain: "KUBE-SVC-X",
		Matches: []Match{
			{Kind: MatchComment, Module: "comment", Group: 1, Value: "a -> b"},
			{Kind: MatchStatistic, Module: "statistic", Group: 2, Prob: 1 << 30},
		},
		Target: Target{Kind: TargetJump, Chain: "KUBE-SEP-A"},
	}
	if diff := cmp.Diff(want, r, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("ParseRule mismatch (-want +got):\n%s", diff)
	}
	if r.Comment() != "a -> b" {
		t.Errorf("Comment() = %q", r.Comment())
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, in := range []string{
		`-s 10.0.0.300 -j ACCEPT`,
		`-s 10.0.0.1,10.0.0.2 -j ACCEPT`,
		`-d`,
		`-m`,
		`-j MARK --or-mark nope`,
		`-j DNAT --to-destination`,
		`--dport 80 -j ACCEPT`,
		`-m mark --mark 0x10/zz -j ACCEPT`,
		`-m statistic --mode random --probability 2 -j X`,
		`stray -j ACCEPT`,
		`-j REJECT --bogus`,
		`--comment "open`,
	} {
		if r, err := ParseRule("C", in); err == nil {
			t.Errorf("ParseRule(%q) = %q, want an error", in, r.Canonical())
		}
	}
}

func TestParseIPTablesSave(t *testing.T) {
	in := `# Generated by iptables-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [12:34]
COMMIT
`
	p, err := ParseIPTablesSave(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tables) != 2 || p.Tables[0].Name != "nat" || p.Tables[1].Name != "filter" {
		t.Fatalf("tables: %+v", p.Tables)
	}
	nat := p.Tables[0]
	want := []Chain{{Name: "PREROUTING", Policy: "ACCEPT"}, {Name: "KUBE-SERVICES", Policy: "-"}}
	if diff := cmp.Diff(want, nat.Chains); diff != "" {
		t.Errorf("chains mismatch (-want +got):\n%s", diff)
	}
	if got := nat.Line(1); got != "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j ACCEPT" {
		t.Errorf("rule 1 = %q", got)
	}

	for _, tc := range []struct{ name, in, want string }{
		{"no table", "-A X -j ACCEPT\n", "line 1:"},
		{"no commit", "*nat\n:X - [0:0]\n", "table nat has no COMMIT"},
		{"undeclared chain", "*nat\n-A X -j ACCEPT\nCOMMIT\n", "line 2: rule for undeclared chain X"},
		{"bad rule", "*nat\n:X - [0:0]\n-A X -s nope -j ACCEPT\nCOMMIT\n", "line 3: parsing rule"},
		{"nested table", "*nat\n*filter\n", "line 2: table filter starts before"},
		{"junk", "*nat\nhello\nCOMMIT\n", `line 2: unexpected line "hello"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIPTablesSave(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFormatProbability(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.5, "0.50000000000"},
		{0.3333333333, "0.33333333349"},
		{0.1428571429, "0.14285714272"},
		{1, "1.00000000000"},
	} {
		if got := FormatProbability(ProbabilityUnits(tc.in)); got != tc.want {
			t.Errorf("FormatProbability(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
