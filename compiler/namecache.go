package compiler

import (
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"strconv"
	"strings"
)

// stringArena hands out strings cut from large shared blocks, so that
// building a million short strings (endpoint keys, chain names) costs a
// few allocations instead of a million. Strings already handed out keep
// their block alive; a block is never written again once it is full.
type stringArena struct {
	b strings.Builder
}

const arenaBlock = 64 << 10

// room makes sure n more bytes fit in the current block.
func (a *stringArena) room(n int) {
	if a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(max(n, arenaBlock))
	}
}

// last returns the bytes written since start as a string.
func (a *stringArena) last(start int) string {
	return a.b.String()[start:]
}

// bytes returns b as a string.
func (a *stringArena) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaBlock/16 {
		return string(b) // a big one gets its own allocation
	}
	a.room(len(b))
	start := a.b.Len()
	a.b.Write(b)
	return a.last(start)
}

// join returns the concatenation of the strings.
func (a *stringArena) join(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > arenaBlock/16 {
		return strings.Join(parts, "")
	}
	a.room(n)
	start := a.b.Len()
	for _, p := range parts {
		a.b.WriteString(p)
	}
	return a.last(start)
}

// servicePortName returns kube-proxy's ServicePortName string:
// "namespace/name:port", or "namespace/name" for an unnamed port.
func (a *stringArena) servicePortName(namespace, name, port string) string {
	if port == "" {
		return a.join(namespace, "/", name)
	}
	return a.join(namespace, "/", name, ":", port)
}

// hostPort returns JoinHostPort(ip, port).
func (a *stringArena) hostPort(ip netip.Addr, port int) string {
	a.room(len("[]:65535") + 45) // the longest IPv6 text form
	start := a.b.Len()
	var buf [64]byte
	b := buf[:0]
	if ip.Is4() {
		b = ip.AppendTo(b)
	} else {
		b = append(ip.AppendTo(append(b, '[')), ']')
	}
	b = strconv.AppendInt(append(b, ':'), int64(port), 10)
	a.b.Write(b)
	return a.last(start)
}

// sepNames computes the KUBE-SEP chain names of one service port's
// endpoints once each, without an allocation per name: the hash input is
// built in a reused buffer and the names come from an arena. An iptables
// payload needs the same name up to four times per endpoint (affinity
// check, load-balancing jump, chain declaration, affinity set). The names
// of a port with few endpoints are looked up by a scan, cheaper than a map.
type sepNames struct {
	arena stringArena
	buf   []byte
	eps   []*Endpoint // a few endpoints and their names, or
	names []string
	cache map[*Endpoint]string // many
	sp    *ServicePort
}

// sepScanMax is the most endpoints looked up by a scan.
const sepScanMax = 32

// reset starts the names of a new service port.
func (s *sepNames) reset(sp *ServicePort) {
	s.eps, s.names = s.eps[:0], s.names[:0]
	if len(sp.Endpoints) > sepScanMax {
		if s.cache == nil {
			s.cache = make(map[*Endpoint]string)
		}
		clear(s.cache)
	}
	s.sp = sp
	// The hash input starts with the service port name and protocol,
	// the same for all its endpoints.
	s.buf = append(append(s.buf[:0], sp.NameString...), sp.ProtoLower...)
}

// chains returns IPTablesChains(sp) for the port of the last reset, the
// four names cut from one arena string.
func (s *sepNames) chains() ChainNames {
	sum := sha256.Sum256(s.buf[:len(s.sp.NameString)+len(s.sp.ProtoLower)])
	var b [len(ChainPrefixSVC) + len(ChainPrefixSVL) + len(ChainPrefixEXT) + len(ChainPrefixFW) + 4*16]byte
	n := 0
	ends := [4]int{}
	for i, prefix := range [4]string{ChainPrefixSVC, ChainPrefixSVL, ChainPrefixEXT, ChainPrefixFW} {
		n += copy(b[n:], prefix)
		base32.StdEncoding.Encode(b[n:n+16], sum[:10])
		n += 16
		ends[i] = n
	}
	all := s.arena.bytes(b[:n])
	return ChainNames{SVC: all[:ends[0]], SVL: all[ends[0]:ends[1]], EXT: all[ends[1]:ends[2]], FW: all[ends[2]:ends[3]]}
}

// name returns EndpointChainName(sp.NameString, sp.ProtoLower, ep.String).
func (s *sepNames) name(ep *Endpoint) string {
	scan := len(s.sp.Endpoints) <= sepScanMax
	if scan {
		for i, e := range s.eps {
			if e == ep {
				return s.names[i]
			}
		}
	} else if n, ok := s.cache[ep]; ok {
		return n
	}
	prefix := len(s.sp.NameString) + len(s.sp.ProtoLower)
	s.buf = append(s.buf[:prefix], ep.String...)
	sum := sha256.Sum256(s.buf)
	var name [len(ChainPrefixSEP) + 16]byte
	copy(name[:], ChainPrefixSEP)
	base32.StdEncoding.Encode(name[len(ChainPrefixSEP):], sum[:10])
	n := s.arena.bytes(name[:])
	if scan {
		s.eps, s.names = append(s.eps, ep), append(s.names, n)
	} else {
		s.cache[ep] = n
	}
	return n
}
