// Package ir holds the backend programs that the compiler produces and the
// renderers print: iptables tables, chains and rules (iptables.go), the
// nftables table with its chains, sets and maps (nft.go), IPVS virtual
// servers, ipsets and addresses (ipvs.go) with the reader of ipvsadm-save
// rules (ipvsadm.go), the
// parser that reads iptables rule arguments back into typed matches
// (parse.go), which explain and diff use both on compiled programs and on
// iptables-save dumps, and the tracer (trace.go) that follows one packet
// through an iptables program for explain and inspect.
//
// The package is data only: it imports nothing from Kubernetes.
package ir
