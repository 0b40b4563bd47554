// Package benchgen writes the synthetic cluster the oracle's -bench mode
// builds (N ClusterIP services with E ready endpoints each) as a kubectl
// List, in YAML or JSON. The YAML is byte-identical to what
// "oracle -bench N,E -emit-input" prints, so that kubeproxyc and kube-proxy
// are measured on the same objects. It is written directly as text because
// marshalling a million endpoints through reflection takes longer than the
// runs it feeds.
//
// Per service i (0-based):
//   - namespace bench-<i%20>, name svc-<i, 5 digits>, one TCP port "http"
//     80 -> 8080, ClusterIP 10.96.0.10 + i;
//   - i%10 == 1: type NodePort, nodePort 30000 + i%2768;
//   - i%10 == 2: sessionAffinity ClientIP (10800 s);
//   - one EndpointSlice <name>-abcde with E ready endpoints; pod IPs count
//     up from 10.244.0.1 across all services, nodes are node1..node50.
//
// Above 13,840 services the oracle's node ports repeat (30000 + i%2768),
// which no API server allows and kubeproxyc's loader rejects. The Valid
// variants keep those services (i%10 == 1, i >= 13840) of type ClusterIP
// instead; below that size they print what the plain ones print.
package benchgen

import (
	"bufio"
	"io"
	"strconv"
)

const (
	servicesBase = 10<<24 | 96<<16 | 10 // 10.96.0.10
	podBase      = 10<<24 | 244<<16 | 1 // 10.244.0.1
	nodeCount    = 50
)

// service is what one service and its slice print.
type service struct {
	ns, name string
	ip       []byte
	nodePort int // 0 unless type NodePort
	affinity bool
}

// firstRepeat is the first service whose node port repeats an earlier one.
const firstRepeat = 13840

func newService(i int, ipbuf []byte, valid bool) service {
	d := strconv.Itoa(i)
	for len(d) < 5 {
		d = "0" + d
	}
	s := service{
		ns:   "bench-" + strconv.Itoa(i%20),
		name: "svc-" + d,
		ip:   appendIPv4(ipbuf[:0], servicesBase+uint32(i)),
	}
	switch i % 10 {
	case 1:
		if !valid || i < firstRepeat {
			s.nodePort = 30000 + i%2768
		}
	case 2:
		s.affinity = true
	}
	return s
}

func appendIPv4(b []byte, a uint32) []byte {
	for k := 3; k >= 0; k-- {
		b = strconv.AppendUint(b, uint64(a>>(8*k)&0xff), 10)
		if k > 0 {
			b = append(b, '.')
		}
	}
	return b
}

// endpoint returns the pod IP and node number of endpoint k (counted over
// all services).
func endpoint(k int, ipbuf []byte) ([]byte, int) {
	return appendIPv4(ipbuf[:0], podBase+uint32(k)), 1 + k%nodeCount
}

// text is a bufio.Writer that remembers its first error.
type text struct{ *bufio.Writer }

func (t text) s(parts ...string) {
	for _, p := range parts {
		t.WriteString(p)
	}
}

// YAML writes n services with e endpoints each as a YAML List, exactly as
// the oracle's -emit-input does.
func YAML(w io.Writer, n, e int) error { return writeYAML(w, n, e, false) }

// ValidYAML is YAML without repeated node ports.
func ValidYAML(w io.Writer, n, e int) error { return writeYAML(w, n, e, true) }

// JSON writes the same objects as a JSON List the way "kubectl get -o json"
// prints one: keys in alphabetical order, four-space indentation.
func JSON(w io.Writer, n, e int) error { return writeJSON(w, n, e, false) }

// ValidJSON is JSON without repeated node ports.
func ValidJSON(w io.Writer, n, e int) error { return writeJSON(w, n, e, true) }

// ValidJSON2 is ValidJSON indented by two spaces per level, as jq prints
// it: at 100k services kubectl's four-space form is over 512 MiB, more
// than kubeproxyc reads.
func ValidJSON2(w io.Writer, n, e int) error {
	h := &halfIndent{w: w, start: true}
	return writeJSON(h, n, e, true)
}

// halfIndent passes text on with the leading spaces of every line halved.
type halfIndent struct {
	w      io.Writer
	start  bool // at the start of a line
	spaces int  // leading spaces seen on this line so far
	buf    []byte
}

func (h *halfIndent) Write(p []byte) (int, error) {
	h.buf = h.buf[:0]
	for _, c := range p {
		switch {
		case h.start && c == ' ':
			h.spaces++
			continue
		case h.start:
			for i := 0; i < h.spaces/2; i++ {
				h.buf = append(h.buf, ' ')
			}
			h.start, h.spaces = false, 0
		}
		h.buf = append(h.buf, c)
		if c == '\n' {
			h.start = true
		}
	}
	if _, err := h.w.Write(h.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

func writeYAML(w io.Writer, n, e int, valid bool) error {
	t := text{bufio.NewWriterSize(w, 64<<10)}
	var ipb, epb [16]byte
	t.s("apiVersion: v1\nitems:\n")
	for i := 0; i < n; i++ {
		s := newService(i, ipb[:], valid)
		typ := "ClusterIP"
		t.s("- apiVersion: v1\n  kind: Service\n  metadata:\n    labels:\n      app: ", s.name,
			"\n    name: ", s.name, "\n    namespace: ", s.ns, "\n  spec:\n    clusterIP: ")
		t.Write(s.ip)
		t.s("\n    clusterIPs:\n    - ")
		t.Write(s.ip)
		t.s("\n")
		if s.nodePort != 0 {
			typ = "NodePort"
			t.s("    externalTrafficPolicy: Cluster\n")
		}
		t.s("    internalTrafficPolicy: Cluster\n    ipFamilies:\n    - IPv4\n    ipFamilyPolicy: SingleStack\n    ports:\n    - name: http\n")
		if s.nodePort != 0 {
			t.s("      nodePort: ", strconv.Itoa(s.nodePort), "\n")
		}
		t.s("      port: 80\n      protocol: TCP\n      targetPort: 8080\n    selector:\n      app: ", s.name, "\n")
		if s.affinity {
			t.s("    sessionAffinity: ClientIP\n    sessionAffinityConfig:\n      clientIP:\n        timeoutSeconds: 10800\n")
		} else {
			t.s("    sessionAffinity: None\n")
		}
		t.s("    type: ", typ, "\n  status:\n    loadBalancer: {}\n")
	}
	for i := 0; i < n; i++ {
		s := newService(i, ipb[:], valid)
		t.s("- addressType: IPv4\n  apiVersion: discovery.k8s.io/v1\n  endpoints:")
		if e == 0 {
			t.s(" null")
		}
		t.s("\n")
		for j := 0; j < e; j++ {
			ip, node := endpoint(i*e+j, epb[:])
			t.s("  - addresses:\n    - ")
			t.Write(ip)
			t.s("\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n    nodeName: node",
				strconv.Itoa(node), "\n")
		}
		t.s("  kind: EndpointSlice\n  metadata:\n    labels:\n      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io\n      kubernetes.io/service-name: ",
			s.name, "\n    name: ", s.name, "-abcde\n    namespace: ", s.ns,
			"\n  ports:\n  - name: http\n    port: 8080\n    protocol: TCP\n")
	}
	t.s("kind: List\n")
	return t.Flush()
}

func writeJSON(w io.Writer, n, e int, valid bool) error {
	t := text{bufio.NewWriterSize(w, 64<<10)}
	var ipb, epb [16]byte
	t.s("{\n    \"apiVersion\": \"v1\",\n    \"items\": [")
	first := true
	sep := func() {
		if !first {
			t.s(",")
		}
		first = false
		t.s("\n")
	}
	for i := 0; i < n; i++ {
		s := newService(i, ipb[:], valid)
		sep()
		typ := "ClusterIP"
		t.s(`        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "labels": {
                    "app": "`, s.name, `"
                },
                "name": "`, s.name, `",
                "namespace": "`, s.ns, `"
            },
            "spec": {
                "clusterIP": "`)
		t.Write(s.ip)
		t.s(`",
                "clusterIPs": [
                    "`)
		t.Write(s.ip)
		t.s(`"
                ],
`)
		if s.nodePort != 0 {
			typ = "NodePort"
			t.s(`                "externalTrafficPolicy": "Cluster",
`)
		}
		t.s(`                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "http",
`)
		if s.nodePort != 0 {
			t.s(`                        "nodePort": `, strconv.Itoa(s.nodePort), ",\n")
		}
		t.s(`                        "port": 80,
                        "protocol": "TCP",
                        "targetPort": 8080
                    }
                ],
                "selector": {
                    "app": "`, s.name, `"
                },
`)
		if s.affinity {
			t.s(`                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {
                    "clientIP": {
                        "timeoutSeconds": 10800
                    }
                },
`)
		} else {
			t.s(`                "sessionAffinity": "None",
`)
		}
		t.s(`                "type": "`, typ, `"
            },
            "status": {
                "loadBalancer": {}
            }
        }`)
	}
	for i := 0; i < n; i++ {
		s := newService(i, ipb[:], valid)
		sep()
		t.s(`        {
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": `)
		if e == 0 {
			t.s("null")
		} else {
			t.s("[")
		}
		for j := 0; j < e; j++ {
			ip, node := endpoint(i*e+j, epb[:])
			if j > 0 {
				t.s(",")
			}
			t.s(`
                {
                    "addresses": [
                        "`)
			t.Write(ip)
			t.s(`"
                    ],
                    "conditions": {
                        "ready": true,
                        "serving": true,
                        "terminating": false
                    },
                    "nodeName": "node`, strconv.Itoa(node), `"
                }`)
		}
		if e > 0 {
			t.s("\n            ]")
		}
		t.s(`,
            "kind": "EndpointSlice",
            "metadata": {
                "labels": {
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "kubernetes.io/service-name": "`, s.name, `"
                },
                "name": "`, s.name, `-abcde",
                "namespace": "`, s.ns, `"
            },
            "ports": [
                {
                    "name": "http",
                    "port": 8080,
                    "protocol": "TCP"
                }
            ]
        }`)
	}
	if !first {
		t.s("\n    ")
	}
	t.s("],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
	return t.Flush()
}
