package render

import (
	"bufio"
	"io"
	"strconv"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// The four artifacts of IPVS mode, as the --emit flag names them, in the
// order the combined form prints them.
const (
	IPVSArtifactIPVSAdm   = "ipvsadm"
	IPVSArtifactIPSet     = "ipset"
	IPVSArtifactAddresses = "addresses"
	IPVSArtifactIPTables  = "iptables"
)

// IPVSArtifacts lists the artifact names in combined-form order.
var IPVSArtifacts = []string{IPVSArtifactIPVSAdm, IPVSArtifactIPSet, IPVSArtifactAddresses, IPVSArtifactIPTables}

// IPVSFiles are the file names "render -o DIR" gives the artifacts, and
// IPVSApplyFile the name of the script that applies them. The apply script
// reads the files by these names.
var IPVSFiles = map[string]string{
	IPVSArtifactIPVSAdm:   "ipvsadm.rules",
	IPVSArtifactIPSet:     "ipset.rules",
	IPVSArtifactAddresses: "addresses",
	IPVSArtifactIPTables:  "iptables.rules",
}

// IPVSApplyFile is the name of the apply script in an output directory.
const IPVSApplyFile = "apply.sh"

// ipvsSectionHeaders are the comment lines that introduce each artifact in
// the combined form (the oracle's section names).
var ipvsSectionHeaders = map[string]string{
	IPVSArtifactIPVSAdm:   "# ipvsadm-save -n\n",
	IPVSArtifactIPSet:     "# ipset save\n",
	IPVSArtifactAddresses: "# addresses on kube-ipvs0\n",
	IPVSArtifactIPTables:  "# iptables-restore payload\n",
}

// IPVSArtifact writes one artifact by its --emit name; it returns false for
// an unknown name.
func IPVSArtifact(w io.Writer, p *ir.IPVS, name string) (bool, error) {
	switch name {
	case IPVSArtifactIPVSAdm:
		return true, IPVSAdmRestore(w, p)
	case IPVSArtifactIPSet:
		return true, IPSetRestore(w, p)
	case IPVSArtifactAddresses:
		return true, IPVSAddresses(w, p)
	case IPVSArtifactIPTables:
		return true, IPTablesRestore(w, p.IPTables)
	}
	return false, nil
}

// IPVSState writes the four artifacts in one stream, each after its
// "# ..." header line: the form the oracle prints for "-mode ipvs".
func IPVSState(w io.Writer, p *ir.IPVS) error {
	for _, a := range IPVSArtifacts {
		if _, err := io.WriteString(w, ipvsSectionHeaders[a]); err != nil {
			return err
		}
		if _, err := IPVSArtifact(w, p, a); err != nil {
			return err
		}
	}
	return nil
}

// ipvsProtoFlag is ipvsadm's option for a service of the protocol.
func ipvsProtoFlag(proto string) string {
	switch proto {
	case ir.ProtoUDP:
		return "-u "
	case ir.ProtoSCTP:
		return "--sctp-service "
	}
	return "-t "
}

// appendHostPort appends "ip:port", or "[ip]:port" for IPv6.
func appendHostPort(b []byte, v *ir.VirtualServer, rs *ir.RealServer) []byte {
	addr, port := v.Address, v.Port
	if rs != nil {
		addr, port = rs.Address, rs.Port
	}
	if addr.Is6() {
		b = append(b, '[')
		b = addr.AppendTo(b)
		b = append(b, ']')
	} else {
		b = addr.AppendTo(b)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// IPVSAdmRestore writes the virtual and real servers in the rule syntax
// that "ipvsadm-save -n" prints and "ipvsadm -R" reads:
//
//	-A -t 10.96.0.10:80 -s rr [-p TIMEOUT] [-b mh-port]
//	-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1
func IPVSAdmRestore(w io.Writer, p *ir.IPVS) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line, svc []byte
	for i := range p.VirtualServers {
		v := &p.VirtualServers[i]
		svc = appendHostPort(append(svc[:0], ipvsProtoFlag(v.Protocol)...), v, nil)
		line = append(line[:0], "-A "...)
		line = append(line, svc...)
		line = append(line, " -s "...)
		line = append(line, v.Scheduler...)
		if v.Persistent {
			line = append(line, " -p "...)
			line = strconv.AppendUint(line, uint64(v.Timeout), 10)
		}
		if v.MHPort {
			line = append(line, " -b mh-port"...)
		}
		line = append(line, '\n')
		bw.Write(line)
		for j := range v.RealServers {
			rs := &v.RealServers[j]
			line = append(line[:0], "-a "...)
			line = append(line, svc...)
			line = append(line, " -r "...)
			line = appendHostPort(line, v, rs)
			line = append(line, " -m -w "...)
			line = strconv.AppendInt(line, int64(rs.Weight), 10)
			line = append(line, '\n')
			bw.Write(line)
		}
	}
	return bw.Flush()
}

// IPSetRestore writes the sets as "ipset restore" input: a create line per
// set (with kube-proxy's options), then the entries of each set.
func IPSetRestore(w io.Writer, p *ir.IPVS) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for i := range p.Sets {
		s := &p.Sets[i]
		bw.WriteString("create ")
		bw.WriteString(s.Name)
		bw.WriteByte(' ')
		bw.WriteString(s.Type)
		if s.IsHash() {
			bw.WriteString(" family ")
			bw.WriteString(s.Family)
			bw.WriteString(" hashsize ")
			bw.WriteString(strconv.Itoa(s.HashSize))
			bw.WriteString(" maxelem ")
			bw.WriteString(strconv.Itoa(s.MaxElem))
		} else {
			bw.WriteString(" range ")
			bw.WriteString(s.PortRange)
		}
		bw.WriteByte('\n')
	}
	for i := range p.Sets {
		s := &p.Sets[i]
		for _, e := range s.Entries {
			bw.WriteString("add ")
			bw.WriteString(s.Name)
			bw.WriteByte(' ')
			bw.WriteString(e)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// IPVSAddresses writes the addresses bound to kube-ipvs0, one
// "address/prefix" per line (/32 or /128, as kube-proxy binds them).
func IPVSAddresses(w io.Writer, p *ir.IPVS) error {
	bw := bufio.NewWriterSize(w, 16<<10)
	var line []byte
	for _, a := range p.Addresses {
		line = a.AppendTo(line[:0])
		if a.Is6() {
			line = append(line, "/128\n"...)
		} else {
			line = append(line, "/32\n"...)
		}
		bw.Write(line)
	}
	return bw.Flush()
}
