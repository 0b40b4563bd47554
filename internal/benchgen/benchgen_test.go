package benchgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestJSONIsYAML checks that both encodings carry the same objects.
func TestJSONIsYAML(t *testing.T) {
	for _, tc := range []struct{ n, e int }{{1, 0}, {12, 3}, {25, 1}} {
		var y, j bytes.Buffer
		if err := YAML(&y, tc.n, tc.e); err != nil {
			t.Fatal(err)
		}
		if err := JSON(&j, tc.n, tc.e); err != nil {
			t.Fatal(err)
		}
		var fromYAML, fromJSON map[string]any
		if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil {
			t.Fatalf("%d,%d: YAML does not parse: %v", tc.n, tc.e, err)
		}
		if err := json.Unmarshal(j.Bytes(), &fromJSON); err != nil {
			t.Fatalf("%d,%d: JSON does not parse: %v", tc.n, tc.e, err)
		}
		delete(fromJSON, "metadata") // kubectl's List metadata; the oracle prints none
		if diff := cmp.Diff(fromYAML, fromJSON); diff != "" {
			t.Errorf("%d,%d: YAML and JSON differ (-yaml +json):\n%s", tc.n, tc.e, diff)
		}
		if got := bytes.Count(y.Bytes(), []byte("\n- ")); got != 2*tc.n {
			t.Errorf("%d,%d: %d items, want %d", tc.n, tc.e, got, 2*tc.n)
		}
	}
}

// TestSameAsOracle compares the YAML with the oracle's -emit-input, when an
// oracle binary is available (set KUBEPROXYC_ORACLE or put oracle on PATH).
func TestSameAsOracle(t *testing.T) {
	oracle := os.Getenv("KUBEPROXYC_ORACLE")
	if oracle == "" {
		p, err := exec.LookPath("oracle")
		if err != nil {
			t.Skip("no oracle binary on PATH")
		}
		oracle = p
	}
	for _, tc := range []struct{ n, e int }{{25, 3}, {3, 0}} {
		arg := fmt.Sprintf("%d,%d", tc.n, tc.e)
		want, err := exec.Command(oracle, "-bench", arg, "-emit-input").Output()
		if err != nil {
			t.Fatalf("oracle -bench %s -emit-input: %v", arg, err)
		}
		var got bytes.Buffer
		if err := YAML(&got, tc.n, tc.e); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("-bench %s: YAML differs from the oracle's (-oracle +benchgen):\n%s", arg, diff)
		}
	}
}
