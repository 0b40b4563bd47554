package compiler

import "k8s.io/apimachinery/pkg/util/validation"

// apimachinery checks names, label keys and label values with regular
// expressions (and IsQualifiedName splits its argument), which made these
// checks a third of the time spent validating a big cluster. The
// functions here answer "is it valid?" by a scan of the bytes; the
// message functions call apimachinery only for a value that fails, so
// that every message stays apimachinery's own. Tests compare each scan
// with its apimachinery function on tables and random strings.

// Length limits of the apimachinery checks.
const (
	dnsLabelMax     = validation.DNS1123LabelMaxLength     // 63
	dnsSubdomainMax = validation.DNS1123SubdomainMaxLength // 253
	labelPartMax    = validation.LabelValueMaxLength       // 63: a label key's name part, a label value
)

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// isDNS1123Label reports whether validation.IsDNS1123Label(s) is empty:
// 1-63 of [a-z0-9-], starting and ending with [a-z0-9].
func isDNS1123Label(s string) bool {
	return len(s) <= dnsLabelMax && isLabelRun(s)
}

// isLabelRun reports whether s matches [a-z0-9]([-a-z0-9]*[a-z0-9])?,
// the pattern of one DNS label without its length limit.
func isLabelRun(s string) bool {
	if len(s) == 0 || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNS1123Subdomain reports whether validation.IsDNS1123Subdomain(s) is
// empty: at most 253 bytes of dot-separated isLabelRun parts.
func isDNS1123Subdomain(s string) bool {
	if len(s) == 0 || len(s) > dnsSubdomainMax {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if !isLabelRun(s[start:i]) {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// isLabelName reports whether s matches
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] and has at most 63 bytes: a
// label key's name part, or a non-empty label value.
func isLabelName(s string) bool {
	if len(s) == 0 || len(s) > labelPartMax || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isQualifiedName reports whether validation.IsQualifiedName(s) is
// empty: a label key, a name with an optional DNS subdomain and '/'
// before it.
func isQualifiedName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return isDNS1123Subdomain(s[:i]) && isLabelName(s[i+1:])
		}
	}
	return isLabelName(s)
}

// isLabelValue reports whether validation.IsValidLabelValue(s) is empty.
func isLabelValue(s string) bool {
	return s == "" || isLabelName(s)
}

// dns1123LabelMsgs is validation.IsDNS1123Label.
func dns1123LabelMsgs(s string) []string {
	if isDNS1123Label(s) {
		return nil
	}
	return validation.IsDNS1123Label(s)
}

// dns1123SubdomainMsgs is validation.IsDNS1123Subdomain, which is also
// apimachineryvalidation.NameIsDNSSubdomain(s, false).
func dns1123SubdomainMsgs(s string) []string {
	if isDNS1123Subdomain(s) {
		return nil
	}
	return validation.IsDNS1123Subdomain(s)
}

// qualifiedNameMsgs is validation.IsQualifiedName.
func qualifiedNameMsgs(s string) []string {
	if isQualifiedName(s) {
		return nil
	}
	return validation.IsQualifiedName(s)
}

// labelValueMsgs is validation.IsValidLabelValue.
func labelValueMsgs(s string) []string {
	if isLabelValue(s) {
		return nil
	}
	return validation.IsValidLabelValue(s)
}

// nameFunc checks an object's name; it is
// apimachineryvalidation.ValidateNameFunc with prefix false.
type nameFunc func(string) []string

var (
	// nameIsDNSLabel is apimachineryvalidation.NameIsDNSLabel (and
	// ValidateNamespaceName).
	nameIsDNSLabel nameFunc = dns1123LabelMsgs
	// nameIsDNSSubdomain is apimachineryvalidation.NameIsDNSSubdomain.
	nameIsDNSSubdomain nameFunc = dns1123SubdomainMsgs
)

// isPortName reports whether validation.IsValidPortName(s) is empty (an
// IANA service name): 1-15 of [-a-z0-9], at least one letter, no "--",
// no '-' first or last.
func isPortName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9':
		case c == '-':
			if s[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return letter
}

// portNameMsgs is validation.IsValidPortName.
func portNameMsgs(s string) []string {
	if isPortName(s) {
		return nil
	}
	return validation.IsValidPortName(s)
}
