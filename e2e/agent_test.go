//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// The test binary doubles as the pods' servers and as the clients: run with
// envRole set, TestMain hands over to runAgent instead of running tests.
// That way every process the suite starts inside a namespace is the one
// binary, started with `ip netns exec NS <test binary>`.
const (
	envRole = "KPCE2E_ROLE" // "server" or "client"
	envSpec = "KPCE2E_SPEC" // the role's JSON spec
)

// serverLifetime bounds how long a server runs if nobody stops it. Servers
// also exit when their stdin closes, which happens when the test process
// stops them or dies.
const serverLifetime = 15 * time.Minute

// serverSpec tells a server its name and where to listen.
type serverSpec struct {
	Name string   `json:"name"`
	TCP  []string `json:"tcp"` // ip:port to listen on
	UDP  []string `json:"udp"` // ip:port to receive datagrams on
}

// clientSpec is one scenario's packets, as a client sends them.
type clientSpec struct {
	Proto   string        `json:"proto"` // TCP or UDP
	Src     string        `json:"src"`   // address to bind
	Dst     string        `json:"dst"`   // ip:port
	Count   int           `json:"count"`
	Timeout time.Duration `json:"timeout"` // per connection or datagram
}

// The outcomes of one attempt.
const (
	outAnswer  = "answer"
	outRefused = "refused"
	outTimeout = "timeout"
	outError   = "error"
)

// attempt is what became of one connection or datagram.
type attempt struct {
	Outcome string `json:"outcome"`
	// Server, Local and Seen come from the answer: the server's name, the
	// address it was reached on (the endpoint) and the client address it
	// saw.
	Server string        `json:"server,omitempty"`
	Local  string        `json:"local,omitempty"`
	Seen   string        `json:"seen,omitempty"`
	Err    string        `json:"err,omitempty"`
	Took   time.Duration `json:"took"`
}

// runAgent runs the role named by the environment and returns the exit
// code.
func runAgent(role string) int {
	var err error
	switch role {
	case "server":
		var s serverSpec
		if err = json.Unmarshal([]byte(os.Getenv(envSpec)), &s); err == nil {
			err = serve(s)
		}
	case "client":
		var c clientSpec
		if err = json.Unmarshal([]byte(os.Getenv(envSpec)), &c); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(send(c))
		}
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e %s: %v\n", role, err)
		return 1
	}
	return 0
}

// reply is the line a server answers with: its name, the address the
// client reached and the client address it saw.
func reply(name string, local, remote net.Addr) []byte {
	return []byte(name + " " + local.String() + " " + remote.String() + "\n")
}

// serve listens on every address of s, answers every connection and
// datagram, prints "ready" once all sockets are bound, and returns when
// stdin closes or serverLifetime has passed.
func serve(s serverSpec) error {
	for _, a := range s.TCP {
		ln, err := net.Listen("tcp4", a)
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					_, _ = c.Write(reply(s.Name, c.LocalAddr(), c.RemoteAddr()))
				}()
			}
		}()
	}
	for _, a := range s.UDP {
		pc, err := net.ListenPacket("udp4", a)
		if err != nil {
			return err
		}
		go func() {
			buf := make([]byte, 512)
			for {
				_, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(reply(s.Name, pc.LocalAddr(), from), from)
			}
		}()
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(serverLifetime):
	}
	return nil
}

// send makes c.Count connections (TCP) or sends c.Count datagrams (UDP),
// each from a new socket bound to c.Src, one after the other.
func send(c clientSpec) []attempt {
	out := make([]attempt, 0, c.Count)
	for range c.Count {
		start := time.Now()
		var a attempt
		if c.Proto == "UDP" {
			a = sendUDP(c)
		} else {
			a = sendTCP(c)
		}
		a.Took = time.Since(start)
		out = append(out, a)
	}
	return out
}

func sendTCP(c clientSpec) attempt {
	d := net.Dialer{Timeout: c.Timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.Src)}}
	conn, err := d.Dial("tcp4", c.Dst)
	if err != nil {
		return failed(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(c.Timeout))
	data, err := io.ReadAll(conn)
	if err != nil && len(data) == 0 {
		return failed(err)
	}
	return parseReply(data)
}

func sendUDP(c clientSpec) attempt {
	dst, err := net.ResolveUDPAddr("udp4", c.Dst)
	if err != nil {
		return failed(err)
	}
	conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(c.Src)}, dst)
	if err != nil {
		return failed(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(c.Timeout))
	if _, err := conn.Write([]byte("query\n")); err != nil {
		return failed(err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		return failed(err)
	}
	return parseReply(buf[:n])
}

// failed classifies a socket error: refused (an ICMP error or a TCP reset
// came back), timeout (nothing came back) or another error.
func failed(err error) attempt {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return attempt{Outcome: outRefused, Err: err.Error()}
	case errors.As(err, &ne) && ne.Timeout():
		return attempt{Outcome: outTimeout, Err: err.Error()}
	}
	return attempt{Outcome: outError, Err: err.Error()}
}

func parseReply(data []byte) attempt {
	f := strings.Fields(string(data))
	if len(f) != 3 {
		return attempt{Outcome: outError, Err: fmt.Sprintf("malformed answer %q", data)}
	}
	seen, _, _ := net.SplitHostPort(f[2])
	return attempt{Outcome: outAnswer, Server: f[0], Local: f[1], Seen: seen}
}
