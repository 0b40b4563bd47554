package compiler

import (
	"crypto/sha256"
	"encoding/base32"
)

// Prefixes of kube-proxy's per-service iptables chains.
const (
	ChainPrefixSVC = "KUBE-SVC-" // endpoints for the Cluster traffic policy
	ChainPrefixSVL = "KUBE-SVL-" // endpoints for the Local traffic policy
	ChainPrefixEXT = "KUBE-EXT-" // external traffic (NodePort, externalIPs, LB IPs)
	ChainPrefixFW  = "KUBE-FW-"  // loadBalancerSourceRanges firewall
	ChainPrefixSEP = "KUBE-SEP-" // one endpoint
)

// PortProtoHash is kube-proxy's portProtoHash: the first 16 characters of
// the base32 encoding of sha256(servicePortName + protocol), with protocol
// in lower case. Chain names are hashed because iptables chain names must
// be at most 28 characters long, and the longer they are the harder they
// are to read.
func PortProtoHash(servicePortName, protocol string) string {
	return hash16(servicePortName + protocol)
}

// EndpointChainName is the KUBE-SEP chain of one endpoint of a service
// port: the hash also covers the endpoint's "ip:port".
func EndpointChainName(servicePortName, protocol, endpoint string) string {
	return ChainPrefixSEP + hash16(servicePortName+protocol+endpoint)
}

// hash16 returns base32(sha256(s))[:16]; 16 base32 characters are exactly
// the encoding of the first 10 bytes of the digest.
func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	var out [16]byte
	base32.StdEncoding.Encode(out[:], sum[:10])
	return string(out[:])
}

// ChainNames are the per-service-port iptables chains; all share one hash.
type ChainNames struct {
	SVC, SVL, EXT, FW string
}

// IPTablesChains returns the chain names of a service port.
func IPTablesChains(sp *ServicePort) ChainNames {
	h := PortProtoHash(sp.NameString, sp.ProtoLower)
	return ChainNames{
		SVC: ChainPrefixSVC + h,
		SVL: ChainPrefixSVL + h,
		EXT: ChainPrefixEXT + h,
		FW:  ChainPrefixFW + h,
	}
}
