package compiler

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
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

// Prefixes of kube-proxy's per-service nftables chains and sets. All of them
// live in kube-proxy's own table, so they carry no "kube-" prefix.
const (
	NFTPrefixService  = "service-"  // endpoints for the Cluster traffic policy
	NFTPrefixLocal    = "local-"    // endpoints for the Local traffic policy
	NFTPrefixExternal = "external-" // external traffic (NodePort, externalIPs, LB IPs)
	NFTPrefixFirewall = "firewall-" // loadBalancerSourceRanges firewall
	NFTPrefixEndpoint = "endpoint-" // one endpoint (ClientIP affinity only)
	NFTPrefixAffinity = "affinity-" // the affinity set of one endpoint
)

// nftNameBaseMax is the longest name base kube-proxy puts after a prefix:
// nftables' 256-character name limit less 16 for the longest prefix.
const nftNameBaseMax = 256 - 16

// NFTHashAndTruncate is kube-proxy's hashAndTruncate: name prefixed with
// the first 8 characters of base32(sha256(name)) and a dash, cut to 240
// characters (the last three replaced by "...") if longer. The hash keeps
// names unique when they are cut, and makes chains of one service that
// differ in one digit easy to tell apart.
func NFTHashAndTruncate(name string) string {
	return string(appendNFTHashAndTruncate(nil, []byte(name)))
}

// appendNFTHashAndTruncate appends NFTHashAndTruncate(name) to dst; name
// must not overlap dst's spare capacity.
func appendNFTHashAndTruncate(dst, name []byte) []byte {
	sum := sha256.Sum256(name)
	var h [8]byte // 8 base32 characters encode exactly 5 bytes
	base32.StdEncoding.Encode(h[:], sum[:5])
	start := len(dst)
	dst = append(append(append(dst, h[:]...), '-'), name...)
	if len(dst)-start > nftNameBaseMax {
		dst = append(dst[:start+nftNameBaseMax-3], "..."...)
	}
	return dst
}

// NFTServiceNameBase is the name base of a service port's nftables chains:
// hash + "-namespace/name/protocol/portname" (portname may be empty).
func NFTServiceNameBase(sp *ServicePort) string {
	return string(appendNFTHashAndTruncate(nil, appendNFTServiceName(nil, sp)))
}

// appendNFTServiceName appends "namespace/name/protocol/portname", the
// hashed part of a service port's name base.
func appendNFTServiceName(dst []byte, sp *ServicePort) []byte {
	dst = append(append(dst, sp.Namespace...), '/')
	dst = append(append(dst, sp.Name...), '/')
	dst = append(append(dst, sp.ProtoLower...), '/')
	return append(dst, sp.PortName...)
}

// appendNFTEndpointSuffix appends "__ip/port", what an endpoint's hashed
// name adds to its service port's, with the colons of an IPv6 address
// turned into dots (colons are not allowed in names).
func appendNFTEndpointSuffix(dst []byte, ep *Endpoint) []byte {
	dst = append(dst, "__"...)
	start := len(dst)
	dst = ep.IP.AppendTo(dst)
	if ep.IP.Is6() {
		for i := start; i < len(dst); i++ {
			if dst[i] == ':' {
				dst[i] = '.'
			}
		}
	}
	return strconv.AppendInt(append(dst, '/'), int64(ep.Port), 10)
}

// NFTEndpointNameBase is the name base of an endpoint's chain and affinity
// set: hash + "-namespace/name/protocol/portname__ip/port", with the colons
// of an IPv6 address turned into dots.
func NFTEndpointNameBase(sp *ServicePort, ep *Endpoint) string {
	name := appendNFTEndpointSuffix(appendNFTServiceName(nil, sp), ep)
	return string(appendNFTHashAndTruncate(nil, name))
}

// NFTChainNames are the per-service-port nftables chains; all share one
// name base.
type NFTChainNames struct {
	Service, Local, External, Firewall string
}

// NFTChains returns the nftables chain names of a service port.
func NFTChains(sp *ServicePort) NFTChainNames {
	b := NFTServiceNameBase(sp)
	return NFTChainNames{
		Service:  NFTPrefixService + b,
		Local:    NFTPrefixLocal + b,
		External: NFTPrefixExternal + b,
		Firewall: NFTPrefixFirewall + b,
	}
}
