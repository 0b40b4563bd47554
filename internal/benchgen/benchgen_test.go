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

// TestValidVariant checks that the Valid variants equal the plain ones
// where the oracle's node ports do not repeat, and that they never repeat
// a node port.
func TestValidVariant(t *testing.T) {
	for _, n := range []int{1, 500, firstRepeat} {
		var a, b bytes.Buffer
		if err := YAML(&a, n, 1); err != nil {
			t.Fatal(err)
		}
		if err := ValidYAML(&b, n, 1); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%d services: the valid variant differs from the oracle's objects", n)
		}
	}
	var b bytes.Buffer
	if err := ValidJSON(&b, 40000, 0); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Spec struct {
				Ports []struct {
					NodePort int `json:"nodePort"`
				} `json:"ports"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, it := range list.Items {
		for _, p := range it.Spec.Ports {
			if p.NodePort != 0 && seen[p.NodePort] {
				t.Fatalf("node port %d repeats", p.NodePort)
			}
			seen[p.NodePort] = true
		}
	}
	if len(seen) < firstRepeat/10 {
		t.Errorf("only %d node ports", len(seen))
	}
}

// TestValidJSON2 checks that the two-space form holds the same objects.
func TestValidJSON2(t *testing.T) {
	var a, b bytes.Buffer
	if err := ValidJSON(&a, 30, 3); err != nil {
		t.Fatal(err)
	}
	if err := ValidJSON2(&b, 30, 3); err != nil {
		t.Fatal(err)
	}
	var x, y any
	if err := json.Unmarshal(a.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &y); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(x, y); diff != "" {
		t.Errorf("(-four spaces +two):\n%s", diff)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n      \"apiVersion\"")) {
		t.Errorf("not indented by two spaces:\n%.80s", b.Bytes())
	}
}
