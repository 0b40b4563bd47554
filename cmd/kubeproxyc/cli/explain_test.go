package cli

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeproxyc/kubeproxyc/e2e"
)

// explainJSON is the part of explain's JSON output the tests read.
type explainJSON struct {
	Outcomes []struct {
		Probability float64 `json:"probability"`
		Verdict     string  `json:"verdict"`
		Destination string  `json:"destination"`
		Masquerade  bool    `json:"masquerade"`
		Affinity    string  `json:"affinity"`
	} `json:"outcomes"`
	Notes []string `json:"notes"`
}

// TestExplainAgreesWithKernelScenarios runs explain on every scenario of
// the namespace suite's table (e2e/testdata/scenarios.yaml) in every mode
// the scenario lists, and checks that explain reaches the verdict the
// kernel reaches: the same set of endpoints (each with a non-zero
// probability), the same masquerade decision, affinity where the kernel
// showed stickiness, or REJECT or DROP.
func TestExplainAgreesWithKernelScenarios(t *testing.T) {
	table, err := e2e.LoadTable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := e2e.Testdata.ReadFile(filepath.Join(filepath.Dir(e2e.TablePath), table.Input))
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, table.Input)
	if err := os.WriteFile(input, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range table.Scenarios {
		for _, mode := range s.Modes {
			t.Run(s.Name+"/"+mode, func(t *testing.T) {
				args := []string{"explain", "-f", input, "--proxy-mode", mode, "--format", "json",
					"--from", s.Src.String(), "--to", s.Dst.String() + "/" + strings.ToLower(s.Proto)}
				args = append(args, table.Flags...)
				out, stderr, code := runCLI(t, nil, args...)
				if code != 0 {
					t.Fatalf("kubeproxyc %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
				}
				var got explainJSON
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("explain output: %v\n%s", err, out)
				}
				if msg := checkScenario(s, got); msg != "" {
					t.Errorf("%s (%s)\nexplain disagrees with the kernel: %s\nexplain said:\n%s", s.Name, s.About, msg, out)
				}
			})
		}
	}
}

// checkScenario compares explain's outcomes with a scenario's verdict and
// returns what differs, or "".
func checkScenario(s e2e.Scenario, got explainJSON) string {
	if len(got.Outcomes) == 0 {
		return "no outcome"
	}
	want := s.Expect
	var eps []netip.AddrPort
	for _, o := range got.Outcomes {
		switch want.Verdict {
		case e2e.Reject, e2e.Drop:
			if o.Verdict != strings.ToUpper(string(want.Verdict)) {
				return "an outcome is " + o.Verdict + ", want " + strings.ToUpper(string(want.Verdict))
			}
			continue
		}
		if o.Verdict != "DNAT" {
			return "an outcome is " + o.Verdict + ", want DNAT to an endpoint"
		}
		if o.Probability <= 0 {
			return "an outcome has probability 0"
		}
		ap, err := netip.ParseAddrPort(o.Destination)
		if err != nil {
			return "bad destination " + o.Destination
		}
		eps = append(eps, ap)
		if o.Masquerade != want.Masquerade {
			return "masquerade of " + o.Destination + " differs"
		}
		if want.Sticky && o.Affinity == "" {
			return "no ClientIP affinity on " + o.Destination
		}
	}
	if want.Verdict != e2e.Answer {
		return ""
	}
	slices.SortFunc(eps, func(a, b netip.AddrPort) int { return a.Compare(b) })
	eps = slices.Compact(eps)
	wantEps := slices.Clone(want.Endpoints)
	slices.SortFunc(wantEps, func(a, b netip.AddrPort) int { return a.Compare(b) })
	if !slices.Equal(eps, wantEps) {
		return "endpoints " + addrPorts(eps) + ", want " + addrPorts(wantEps)
	}
	return ""
}

func addrPorts(l []netip.AddrPort) string {
	var s []string
	for _, a := range l {
		s = append(s, a.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}
