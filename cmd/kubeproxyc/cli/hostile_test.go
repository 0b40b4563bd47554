package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// hostileTemplate is a snapshot with every kind of object and every field
// whose text could reach an output: {{site}} marks each place a hostile
// string is put, one place at a time; the others get their benign value.
const hostileTemplate = `apiVersion: v1
kind: Service
metadata:
  name: {{svcName}}
  namespace: {{namespace}}
  labels: {app: web, {{labelKey}}: x, tier: {{labelValue}}}
  annotations: {{{annotationKey}}: x, note: {{annotationValue}}}
spec:
  type: LoadBalancer
  clusterIP: {{clusterIP}}
  externalTrafficPolicy: Local
  healthCheckNodePort: 31999
  sessionAffinity: ClientIP
  selector: {app: {{selectorValue}}}
  externalIPs: [{{externalIP}}]
  loadBalancerSourceRanges: [{{sourceRange}}]
  loadBalancerClass: {{lbClass}}
  ports:
  - name: {{portName}}
    port: 80
    targetPort: {{targetPort}}
    appProtocol: {{appProtocol}}
    nodePort: 30080
  - name: dns
    port: 53
    protocol: UDP
    nodePort: 30053
status:
  loadBalancer:
    ingress:
    - ip: {{ingressIP}}
    - hostname: {{ingressHostname}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {{sliceName}}
  namespace: {{namespace}}
  labels: {kubernetes.io/service-name: {{svcName}}}
addressType: IPv4
ports:
- {name: {{portName}}, port: 8080}
- {name: dns, port: 53, protocol: UDP}
endpoints:
- addresses: [{{endpointIP}}]
  hostname: {{hostname}}
  nodeName: {{nodeName}}
  zone: {{zone}}
  hints: {forZones: [{name: {{hintZone}}}], forNodes: [{name: {{hintNode}}}]}
- addresses: [10.244.2.2]
  nodeName: node2
  conditions: {ready: true, serving: true, terminating: false}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: legacy
  namespace: {{namespace}}
subsets:
- addresses: [{ip: {{legacyIP}}, hostname: {{legacyHostname}}, nodeName: node1}]
  ports: [{name: {{legacyPortName}}, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: {{namespace}}}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: {{legacyPortName}}, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: {{namespace}}}
spec: {type: ExternalName, externalName: {{externalName}}}
---
apiVersion: v1
kind: Node
metadata:
  name: node1
  labels: {topology.kubernetes.io/zone: {{nodeZone}}}
spec: {podCIDRs: [{{podCIDR}}]}
status:
  addresses: [{type: InternalIP, address: 192.168.0.2}]
---
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata: {name: {{serviceCIDRName}}}
spec: {cidrs: [{{serviceCIDR}}]}
`

// hostileSites are the benign values of the template's places.
var hostileSites = map[string]string{
	"svcName": "web", "namespace": "shop", "labelKey": "example.com/role", "labelValue": "front",
	"annotationKey": "example.com/note", "annotationValue": "hello", "clusterIP": "10.96.0.10",
	"selectorValue": "web", "externalIP": "198.51.100.7", "sourceRange": "203.0.113.0/24",
	"lbClass": "example.com/lb", "portName": "http", "targetPort": "web-port", "appProtocol": "http",
	"ingressIP": "203.0.113.10", "ingressHostname": "lb.example.com", "sliceName": "web-abc",
	"endpointIP": "10.244.1.2", "hostname": "pod-a", "nodeName": "node1", "zone": "zone-a",
	"hintZone": "zone-a", "hintNode": "node1", "legacyIP": "10.244.1.9", "legacyHostname": "pod-l",
	"legacyPortName": "http", "externalName": "db.example.com", "nodeZone": "zone-a",
	"podCIDR": "10.244.1.0/24", "serviceCIDRName": "extra", "serviceCIDR": "10.97.0.0/16",
}

// hostileStrings are values meant to end a quoted comment, a line, a
// command or a word early, or to be too long for anything.
var hostileStrings = []string{
	`a"b`, `a'b`, "a\nb", "a\rb", "a b", "a\tb", "--", "-j ACCEPT", `" -j ACCEPT -m comment --comment "`,
	"a;b", "$(id)", "`id`", "a\x00b", "a\\", "#", "a,b", "{}", "ä", "a\u2028b", "\x1b[2J",
	strings.Repeat("a", 100000), "\n-A KUBE-SERVICES -j ACCEPT\n", "x\nCOMMIT\n*filter\n",
}

// hostileFlags are the node flags whose values are free text.
var hostileFlags = [][]string{
	{"--hostname-override"}, {"--node-zone"}, {"--cluster-cidr"}, {"--nodeport-addresses"},
	{"--service-cidrs"}, {"--pod-cidr", "--detect-local-mode", "NodeCIDR"},
	{"--pod-bridge-interface", "--detect-local-mode", "BridgeInterface"},
	{"--pod-interface-name-prefix", "--detect-local-mode", "InterfaceNamePrefix"},
	{"--ipvs-scheduler", "--proxy-mode", "ipvs"}, {"--ipvs-exclude-cidrs", "--proxy-mode", "ipvs"},
	{"--node-ip"}, {"--feature-gates"},
}

var placeholder = regexp.MustCompile(`\{\{(\w+)\}\}`)

// fillTemplate puts value at site and the benign values elsewhere, all as
// YAML double-quoted strings (JSON string syntax).
func fillTemplate(site, value string) string {
	return placeholder.ReplaceAllStringFunc(hostileTemplate, func(m string) string {
		name := m[2 : len(m)-2]
		v, ok := hostileSites[name]
		if !ok {
			panic("no benign value for " + name)
		}
		if name == site {
			v = value
		}
		q, _ := json.Marshal(v)
		return string(q)
	})
}

// hostileModes are the outputs compared; each renders on its own.
var hostileModes = [][]string{
	{"--proxy-mode", "iptables"},
	{"--proxy-mode", "iptables", "--ip-family", "IPv6"},
	{"--proxy-mode", "iptables", "--standalone"},
	{"--proxy-mode", "nftables"},
	{"--proxy-mode", "ipvs"},
	{"--proxy-mode", "ipvs", "-o", "DIR"}, // the four files and apply.sh
}

// renderHostile runs render; "-o DIR" is replaced by a new directory,
// whose files make the output (each after a "== name" line).
func renderHostile(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	dir := ""
	for i, a := range args {
		if a == "DIR" {
			dir = filepath.Join(t.TempDir(), "out")
			args = append(append([]string{}, args[:i]...), append([]string{dir}, args[i+1:]...)...)
			break
		}
	}
	out, stderr, code := runCLI(t, nil, args...)
	if dir == "" || code != 0 {
		if dir != "" {
			if _, err := os.Stat(dir); err == nil {
				out += "(" + dir + " was created)"
			}
		}
		return out, stderr, code
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + f.Name() + "\n")
		b.Write(data)
	}
	return out + b.String(), stderr, code
}

// positioned matches a diagnostic line: file:line: ...
var positioned = regexp.MustCompile(`^[^:\n]+:[0-9]+: `)

// TestHostileInput puts each hostile string in each place of the template
// and renders every mode: the answer must be an error that names the
// place (and no output), or output identical to the benign input's
// (annotations are never read).
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	benign := write("benign.yaml", fillTemplate("", ""))
	base := map[int]string{}
	for i, mode := range hostileModes {
		out, stderr, code := renderHostile(t, append([]string{"render", "-f", benign}, mode...)...)
		if code != 0 {
			t.Fatalf("benign input, %v: exit %d\n%s", mode, code, stderr)
		}
		checkRendered(t, mode, out)
		base[i] = out
	}
	sites := make([]string, 0, len(hostileSites))
	for s := range hostileSites {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	for _, site := range sites {
		for hi, h := range hostileStrings {
			in := write("in.yaml", fillTemplate(site, h))
			for i, mode := range hostileModes {
				out, stderr, code := renderHostile(t, append([]string{"render", "-f", in}, mode...)...)
				switch code {
				case ExitBadInput:
					if out != "" {
						t.Errorf("%s=hostile[%d] %v: exit 1 with output", site, hi, mode)
					}
					for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
						if !positioned.MatchString(line) {
							t.Errorf("%s=hostile[%d] %v: diagnostic without a position: %q", site, hi, mode, line)
						}
					}
					if !strings.Contains(stderr, "in.yaml:") {
						t.Errorf("%s=hostile[%d] %v: error does not name the file: %q", site, hi, mode, stderr)
					}
				case ExitOK:
					if diff := cmp.Diff(base[i], out); diff != "" {
						t.Errorf("%s=hostile[%d] %v: accepted and changed the output (-benign +hostile):\n%s", site, hi, mode, diff)
					}
				default:
					t.Errorf("%s=hostile[%d] %v: exit %d\n%s", site, hi, mode, code, stderr)
				}
			}
		}
	}
}

// TestHostileFlags gives each free-text node flag each hostile string:
// the command line must be refused (exit 2) with no output.
func TestHostileFlags(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(in, []byte(fillTemplate("", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range hostileFlags {
		for hi, h := range hostileStrings {
			args := []string{"render", "-f", in, f[0], h}
			args = append(args, f[1:]...)
			out, stderr, code := runCLI(t, nil, args...)
			if code != ExitBadUsage || out != "" {
				t.Errorf("%s=hostile[%d]: exit %d, %d bytes of output, want exit 2 and none\n%s", f[0], hi, code, len(out), stderr)
			}
		}
	}
}

// checkRendered parses what a mode rendered and checks its structure.
func checkRendered(t *testing.T, mode []string, out string) {
	t.Helper()
	if !strings.Contains(strings.Join(mode, " "), "iptables") {
		return
	}
	prog, err := ir.ParseIPTablesSave(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%v: output does not parse: %v", mode, err)
	}
	if err := ir.CheckIPTables(prog); err != nil {
		t.Fatalf("%v: %v", mode, err)
	}
}
