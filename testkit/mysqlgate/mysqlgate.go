// Package mysqlgate is a TCP gate in front of a MySQL server that behaves
// like an RDS Proxy whose target is not ready yet, for tests of clients that
// must wait for it (a kit, like net/http/httptest; it imports nothing of
// Sluice).
//
// A new Gate holds a loopback address on which nothing listens, so
// connections are refused, as while the proxy's endpoint is being set up.
// Open starts listening: the first n connections are answered with a MySQL
// ERR packet in place of the server greeting (by default error 9501, what
// RDS Proxy answers while its target is REGISTERING or UNAVAILABLE; see
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.troubleshooting.html)
// and closed; every later one is spliced to the server.
package mysqlgate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Error is the MySQL error a rejected connection is answered with.
type Error struct {
	Number   uint16
	SQLState string // five characters
	Message  string
}

// ProxyTimeout is RDS Proxy's answer while it has no available target.
var ProxyTimeout = Error{Number: 9501, SQLState: "HY000", Message: "Timed-out waiting to acquire database connection"}

// Packet is e as the server's first packet (sequence 0): 0xff, the error
// number, '#' and the SQL state, the message (MySQL client/server protocol,
// ERR_Packet).
func (e Error) Packet() []byte {
	payload := []byte{0xff, byte(e.Number), byte(e.Number >> 8), '#'}
	payload = append(payload, e.SQLState...)
	payload = append(payload, e.Message...)
	header := make([]byte, 4)
	binary.LittleEndian.PutUint32(header, uint32(len(payload))) // 3 bytes length, then sequence 0
	header[3] = 0
	return append(header, payload...)
}

// Gate is a MySQL endpoint that refuses, then rejects, then passes.
type Gate struct {
	backend string
	addr    string
	// Reply is what rejected connections get; set it before Open.
	Reply Error

	mu       sync.Mutex
	ln       net.Listener
	reject   int
	rejected int
	passed   int
	closed   bool
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// New returns a gate for the MySQL server at backend (host:port) on a free
// loopback port where nothing listens yet.
func New(backend string) (*Gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mysqlgate: reserve a port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, fmt.Errorf("mysqlgate: %w", err)
	}
	return &Gate{backend: backend, addr: addr, Reply: ProxyTimeout, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the gate's host:port, refusing until Open.
func (g *Gate) Addr() string { return g.addr }

// Open starts accepting connections on Addr: the next reject of them are
// answered with Reply and closed, the rest are spliced to the backend. A
// negative reject answers every connection with Reply until Pass.
func (g *Gate) Open(reject int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("mysqlgate: closed")
	}
	if g.ln != nil {
		return errors.New("mysqlgate: already open")
	}
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		return fmt.Errorf("mysqlgate: listen on %s: %w", g.addr, err)
	}
	g.ln, g.reject = ln, reject
	g.wg.Add(1)
	go g.serve(ln)
	return nil
}

// Pass stops rejecting: every later connection is spliced to the backend.
func (g *Gate) Pass() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reject = 0
}

// Rejected is how many connections were answered with Reply.
func (g *Gate) Rejected() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rejected
}

// Passed is how many connections were spliced to the backend.
func (g *Gate) Passed() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.passed
}

// Close stops listening and cuts every open connection.
func (g *Gate) Close() error {
	g.mu.Lock()
	g.closed = true
	var err error
	if g.ln != nil {
		err = g.ln.Close()
	}
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
	return err
}

func (g *Gate) serve(ln net.Listener) {
	defer g.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			c.Close()
			return
		}
		reject := g.reject != 0
		if reject {
			if g.reject > 0 {
				g.reject--
			}
			g.rejected++
		} else {
			g.passed++
		}
		g.conns[c] = struct{}{}
		g.wg.Add(1)
		g.mu.Unlock()
		go func() {
			defer g.wg.Done()
			defer g.forget(c)
			if reject {
				c.Write(g.Reply.Packet())
				return
			}
			g.splice(c)
		}()
	}
}

func (g *Gate) forget(c net.Conn) {
	c.Close()
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
}

// splice copies both ways until either side closes.
func (g *Gate) splice(c net.Conn) {
	b, err := net.Dial("tcp", g.backend)
	if err != nil {
		return // the client sees the connection close, as with a lost server
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		b.Close()
		return
	}
	g.conns[b] = struct{}{}
	g.mu.Unlock()
	defer g.forget(b)
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); b.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, b); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}
