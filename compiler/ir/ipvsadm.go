package ir

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseIPVSAdm reads virtual and real servers written in the rule syntax of
// "ipvsadm-save -n" (which "ipvsadm -R" reads): "-A" lines for virtual
// servers, "-a" lines for their real servers. It understands the options
// ipvsadm-save prints for NAT services: -t/-u/--sctp-service, -s, -p
// [timeout], -M netmask, -b flags, -r, -m, -w, -x and -y. Blank lines and
// "#" comments are skipped.
//
// The result is in the canonical order of IPVS.VirtualServers, so a parsed
// dump compares with a compiled program. A real server for a virtual server
// not declared before it, a virtual server or real server declared twice,
// an address of the wrong form, or a real server that is not masqueraded
// (-g, -i) is an error naming the line.
func ParseIPVSAdm(r io.Reader) ([]VirtualServer, error) {
	type key struct {
		addr  netip.Addr
		port  uint16
		proto string
	}
	var out []*VirtualServer
	byKey := map[key]*VirtualServer{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		errf := func(format string, a ...any) error {
			return fmt.Errorf("line %d: %q: %s", n, line, fmt.Sprintf(format, a...))
		}
		if len(f) < 3 || (f[0] != "-A" && f[0] != "-a") {
			return nil, errf("expected -A or -a, a protocol option and a service address")
		}
		proto, ok := map[string]string{"-t": ProtoTCP, "-u": ProtoUDP, "--sctp-service": ProtoSCTP}[f[1]]
		if !ok {
			return nil, errf("unsupported service type %s (want -t, -u or --sctp-service)", f[1])
		}
		addr, port, err := parseHostPort(f[2])
		if err != nil {
			return nil, errf("%v", err)
		}
		k := key{addr, port, proto}
		opts := f[3:]
		// value returns the argument of option i, if there is one.
		value := func(i int) (string, bool) {
			if i+1 < len(opts) && !strings.HasPrefix(opts[i+1], "-") {
				return opts[i+1], true
			}
			return "", false
		}
		if f[0] == "-A" {
			if byKey[k] != nil {
				return nil, errf("virtual server declared twice")
			}
			vs := &VirtualServer{Address: addr, Port: port, Protocol: proto}
			for i := 0; i < len(opts); i++ {
				v, has := value(i)
				switch opts[i] {
				case "-s":
					if !has {
						return nil, errf("-s needs a scheduler")
					}
					vs.Scheduler = v
				case "-p":
					vs.Persistent = true
					vs.Timeout = 300 // ipvsadm's default persistence timeout
					if has {
						t, err := strconv.ParseUint(v, 10, 32)
						if err != nil {
							return nil, errf("-p %s: not a timeout in seconds", v)
						}
						vs.Timeout = uint32(t)
					}
				case "-M":
					if !has {
						return nil, errf("-M needs a netmask")
					}
				case "-b":
					if !has {
						return nil, errf("-b needs scheduler flags")
					}
					for _, fl := range strings.Split(v, ",") {
						switch fl {
						case "mh-port", "flag-2":
							vs.MHPort = true
						default:
							return nil, errf("-b %s: unsupported scheduler flag", fl)
						}
					}
				default:
					return nil, errf("unsupported virtual server option %s", opts[i])
				}
				if has {
					i++
				}
			}
			if vs.Scheduler == "" {
				return nil, errf("no scheduler (-s)")
			}
			byKey[k] = vs
			out = append(out, vs)
			continue
		}
		vs := byKey[k]
		if vs == nil {
			return nil, errf("real server of a virtual server not declared before")
		}
		rs := RealServer{Weight: 1}
		masq, haveRS := false, false
		for i := 0; i < len(opts); i++ {
			v, has := value(i)
			switch opts[i] {
			case "-r":
				if !has {
					return nil, errf("-r needs a server address")
				}
				a, p, err := parseHostPort(v)
				if err != nil {
					return nil, errf("-r: %v", err)
				}
				if a.Is6() != addr.Is6() {
					return nil, errf("-r %s: not of the virtual server's IP family", v)
				}
				rs.Address, rs.Port, haveRS = a, p, true
			case "-m":
				masq = true
			case "-g", "-i":
				return nil, errf("forwarding method %s: only masquerading (-m) is supported", opts[i])
			case "-w":
				w, err := strconv.Atoi(v)
				if !has || err != nil || w < 0 || w > 65535 {
					return nil, errf("-w needs a weight from 0 to 65535")
				}
				rs.Weight = w
			case "-x", "-y":
				if _, err := strconv.ParseUint(v, 10, 32); !has || err != nil {
					return nil, errf("%s needs a connection threshold", opts[i])
				}
			default:
				return nil, errf("unsupported real server option %s", opts[i])
			}
			if has {
				i++
			}
		}
		if !haveRS {
			return nil, errf("no real server (-r)")
		}
		if !masq {
			return nil, errf("no forwarding method: kube-proxy's real servers are masqueraded (-m)")
		}
		for _, x := range vs.RealServers {
			if x.Address == rs.Address && x.Port == rs.Port {
				return nil, errf("real server declared twice")
			}
		}
		vs.RealServers = append(vs.RealServers, rs)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	res := make([]VirtualServer, 0, len(out))
	for _, vs := range out {
		slices.SortFunc(vs.RealServers, CompareRealServers)
		res = append(res, *vs)
	}
	slices.SortFunc(res, CompareVirtualServers)
	return res, nil
}

// CompareVirtualServers orders virtual servers by address (bytes), port and
// protocol: the order of IPVS.VirtualServers.
func CompareVirtualServers(a, b VirtualServer) int {
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	return strings.Compare(a.Protocol, b.Protocol)
}

// CompareRealServers orders real servers by address (bytes) and port: the
// order of VirtualServer.RealServers.
func CompareRealServers(a, b RealServer) int {
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// parseHostPort reads "1.2.3.4:80" or "[fd00::1]:80".
func parseHostPort(s string) (netip.Addr, uint16, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%s: not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)", s)
	}
	a := ap.Addr()
	if a.Zone() != "" || a.Is4In6() {
		return netip.Addr{}, 0, fmt.Errorf("%s: unsupported address form", s)
	}
	return a, ap.Port(), nil
}
