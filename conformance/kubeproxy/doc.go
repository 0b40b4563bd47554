// Package kubeproxy runs the real kube-proxy proxiers of k8s.io/kubernetes
// (linked at the version pinned in this module's go.mod) against fake
// backends and returns, byte for byte, what they would program.
//
// It is the "want" side of kubeproxyc's differential tests. One call builds
// one single-stack proxier from its exported NewProxier constructor, swaps
// the few host-touching dependencies the constructor wires internally for
// the fakes the kubernetes tree ships (see patch.go), delivers the objects
// the way kube-proxy's informers would, and runs exactly one full sync.
//
// kube-proxy builds parts of its output while ranging over Go maps, so two
// runs on the same input may order service-port blocks (and, in a few
// topology cases, endpoint chains) differently. Every function here returns
// the canonical order that kubeproxyc emits: service-port blocks in
// ascending ServicePortName string order, endpoint chains within a block in
// ascending "ip:port" string order (see canon.go). That order is one of the
// outputs kube-proxy itself can produce.
package kubeproxy
