// Package ir holds the backend programs that the compiler produces and the
// renderers print: iptables tables, chains and rules (iptables.go), the
// nftables table with its chains, sets and maps (nft.go), IPVS virtual
// servers, ipsets and addresses (ipvs.go) with the reader of ipvsadm-save
// rules (ipvsadm.go); and what the tool commands read programs with: the
// parser that reads iptables rule arguments back into typed matches and a
// canonical form (parse.go), the reader of nftables rulesets in both nft
// forms (nftparse.go), which diff and explain use on compiled programs and
// on a node's dumps alike, and the tracers that follow one packet through
// an iptables program (trace.go), an nftables table (nfttrace.go) and IPVS
// mode (ipvstrace.go) for explain, inspect and diff.
//
// The package is data only: it imports nothing from Kubernetes.
package ir
