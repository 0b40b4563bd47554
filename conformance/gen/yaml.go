package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// YAML returns the objects as a multi-document YAML stream, in document
// order, without the null and empty fields typed marshalling leaves (such
// as creationTimestamp and an empty status), so that a case reads like a
// hand-written manifest.
func (c *Case) YAML() []byte {
	var b bytes.Buffer
	for i, o := range c.Objects {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(objectYAML(o))
	}
	return b.Bytes()
}

// Flags returns the case's kubeproxyc flags as one line.
func (c *Case) Flags() string { return strings.Join(c.Node.Args(), " ") }

func objectYAML(o runtime.Object) []byte {
	data, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("gen: marshalling %T: %v", o, err))
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		panic(err)
	}
	if st, ok := m["status"].(map[string]any); ok && m["kind"] == "Node" {
		// structs without omitempty: what a Node reports about its kubelet
		delete(st, "daemonEndpoints")
		delete(st, "nodeInfo")
	}
	prune(m)
	// apiVersion, kind and metadata first, the rest in name order
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) string {
		switch k {
		case "apiVersion":
			return "0"
		case "kind":
			return "1"
		case "metadata":
			return "2"
		}
		return "3" + k
	}
	sort.Slice(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	var b bytes.Buffer
	for _, k := range keys {
		out, err := yaml.Marshal(map[string]any{k: m[k]})
		if err != nil {
			panic(err)
		}
		b.Write(out)
	}
	return b.Bytes()
}

// prune drops nulls, empty maps and empty lists, recursively. None of
// them means anything else than the field being absent.
func prune(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, x := range t {
			if prune(x) {
				delete(t, k)
			}
		}
		return len(t) == 0
	case []any:
		for _, x := range t {
			prune(x)
		}
		return len(t) == 0
	}
	return false
}

// Clone returns a deep copy of the case.
func (c *Case) Clone() *Case {
	n := *c
	n.Node = c.Node.clone()
	n.Objects = make([]runtime.Object, len(c.Objects))
	for i, o := range c.Objects {
		n.Objects[i] = o.DeepCopyObject()
	}
	return &n
}

func (n Node) clone() Node {
	cp := func(s []string) []string { return append([]string(nil), s...) }
	n.NodeIPs = cp(n.NodeIPs)
	n.ClusterCIDRs = cp(n.ClusterCIDRs)
	n.PodCIDRs = cp(n.PodCIDRs)
	n.NodePortAddresses = cp(n.NodePortAddresses)
	n.ServiceCIDRs = cp(n.ServiceCIDRs)
	n.IPVSExcludeCIDRs = cp(n.IPVSExcludeCIDRs)
	return n
}
