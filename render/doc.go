// Package render writes compiled programs (package ir) as the text that the
// kernel tools read: iptables-restore payloads (iptables.go), nft -f
// rulesets (nft.go), and ipvsadm -R, ipset restore and address lists
// (ipvs.go). Every renderer
// streams to an io.Writer through a buffered writer and never iterates over a
// map, so its output depends only on the program.
package render
