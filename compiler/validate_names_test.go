package compiler

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
)

// nameChecks pairs each scan of validate_names.go with the apimachinery
// function it must agree with.
var nameChecks = []struct {
	name string
	fast func(string) []string
	want func(string) []string
}{
	{"IsDNS1123Label", dns1123LabelMsgs, validation.IsDNS1123Label},
	{"IsDNS1123Subdomain", dns1123SubdomainMsgs, validation.IsDNS1123Subdomain},
	{"IsQualifiedName", qualifiedNameMsgs, validation.IsQualifiedName},
	{"IsValidLabelValue", labelValueMsgs, validation.IsValidLabelValue},
	{"IsValidPortName", portNameMsgs, validation.IsValidPortName},
	{"NameIsDNSLabel", nameIsDNSLabel, func(s string) []string { return apimachineryvalidation.NameIsDNSLabel(s, false) }},
	{"NameIsDNSSubdomain", nameIsDNSSubdomain, func(s string) []string { return apimachineryvalidation.NameIsDNSSubdomain(s, false) }},
	{"ValidateNamespaceName", nameIsDNSLabel, func(s string) []string { return apimachineryvalidation.ValidateNamespaceName(s, false) }},
}

// compareNameChecks fails t unless every scan gives apimachinery's
// answer, messages included, for s.
func compareNameChecks(t *testing.T, s string) {
	t.Helper()
	for _, c := range nameChecks {
		if diff := cmp.Diff(c.want(s), c.fast(s)); diff != "" {
			t.Errorf("%s(%q): scan and apimachinery differ (-apimachinery +scan):\n%s", c.name, s, diff)
		}
	}
}

func TestNameChecks(t *testing.T) {
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	tests := []struct {
		in string
		// whether each of isDNS1123Label, isDNS1123Subdomain,
		// isQualifiedName, isLabelValue, isPortName accepts in
		label, subdomain, qualified, value, port bool
	}{
		{"", false, false, false, true, false},
		{"a", true, true, true, true, true},
		{"node1", true, true, true, true, true},
		{"http", true, true, true, true, true},
		{"svc-00001", true, true, true, true, true},
		{"8080", true, true, true, true, false},
		{"-a", false, false, false, false, false},
		{"a-", false, false, false, false, false},
		{"a-b", true, true, true, true, true},
		{"a--b", true, true, true, true, false},
		{"abcdefghijklmno", true, true, true, true, true},
		{"abcdefghijklmnop", true, true, true, true, false},
		{"A", false, false, true, true, false},
		{"a.b", false, true, true, true, false},
		{"a..b", false, false, true, true, false},
		{".a", false, false, false, false, false},
		{"a.", false, false, false, false, false},
		{"a_b", false, false, true, true, false},
		{"_a", false, false, false, false, false},
		{"a/b", false, false, true, false, false},
		{"kubernetes.io/service-name", false, false, true, false, false},
		{"endpointslice.kubernetes.io/managed-by", false, false, true, false, false},
		{"/b", false, false, false, false, false},
		{"a/", false, false, false, false, false},
		{"a/b/c", false, false, false, false, false},
		{"A.com/b", false, false, false, false, false},
		{"a.com/B_x.y", false, false, true, false, false},
		{"é", false, false, false, false, false},
		{"a\x00b", false, false, false, false, false},
		{"a b", false, false, false, false, false},
		{long(63, "a"), true, true, true, true, false},
		{long(64, "a"), false, true, false, false, false},
		{long(253, "a"), false, true, false, false, false},
		{long(254, "a"), false, false, false, false, false},
		{long(253, "a") + "/b", false, false, true, false, false},
		{long(254, "a") + "/b", false, false, false, false, false},
		{"a/" + long(63, "b"), false, false, true, false, false},
		{"a/" + long(64, "b"), false, false, false, false, false},
		{strings.Repeat("a.", 126) + "a", false, true, false, false, false},
	}
	for _, tt := range tests {
		got := []bool{isDNS1123Label(tt.in), isDNS1123Subdomain(tt.in), isQualifiedName(tt.in), isLabelValue(tt.in), isPortName(tt.in)}
		want := []bool{tt.label, tt.subdomain, tt.qualified, tt.value, tt.port}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q: label, subdomain, qualified, value, port (-want +got):\n%s", tt.in, diff)
		}
		compareNameChecks(t, tt.in)
	}
}

// TestNameChecksRandom compares the scans with apimachinery on random
// strings over the bytes that matter, at lengths around the limits.
func TestNameChecksRandom(t *testing.T) {
	const alphabet = "az09AZ-._/\xc3\xa9 "
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 4, 5, 8, 62, 63, 64, 65, 126, 127, 252, 253, 254, 255, 320}
	for range 20000 {
		n := lengths[r.IntN(len(lengths))]
		b := make([]byte, n)
		for i := range b {
			// mostly letters, so that long valid strings come up too
			if r.IntN(8) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = "abz09"[r.IntN(5)]
			}
		}
		compareNameChecks(t, string(b))
		if t.Failed() {
			return
		}
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range []string{"", "a", "a.b", "a/b", "A_b.c", "kubernetes.io/service-name", "-", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { compareNameChecks(t, s) })
}
