// Package e2e proves kubeproxyc's output in a real kernel, and holds the
// scenario table that states what that output must do to a packet.
//
// The table (testdata/scenarios.yaml, read with [LoadTable]) names, for each
// scenario, one packet (where it comes from, source, destination, protocol)
// and the verdict kube-proxy's rules give it: which endpoints may answer and
// whether they see the client's address or the node's (masquerade), or that
// the packet is rejected or dropped. It compiles testdata/cluster.yaml, which
// [Testdata] embeds together with the table. The table needs no build tag:
// other tests (those of `kubeproxyc explain`, for one) read it to check that
// they reach the verdicts the kernel reached.
//
// The end-to-end suite itself is behind the build tag e2e
// (`go test -tags e2e ./e2e`, or `make e2e`) and must run as root. For each
// proxy mode it builds a small cluster out of network namespaces joined by
// veth pairs: the node under test (node1), a second node, pods on both, and
// an external client on the nodes' LAN. It renders testdata/cluster.yaml
// with the kubeproxyc binary, loads the result into node1 with
// iptables-restore or nft, starts a tiny TCP and UDP server in every pod (the
// test binary itself, run again in a server mode) and sends every
// scenario's packets from the namespace that owns the source address. Every
// namespace it makes is named kpce2e-PID-..., and deleted when the test ends;
// namespaces left behind by a run that crashed are deleted by the next run.
// docs/verification.md shows the topology and the results.
package e2e
