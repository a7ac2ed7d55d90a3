package fakeaws

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// TestProxyTargetWarmsUp: the address a function is given for a new
// target refuses connections, then answers 9501, then passes them to the
// server; once over, the target is remembered as available and functions
// connect directly, until the target is deregistered. The test opens the
// gate itself where the stand-in's timer would.
func TestProxyTargetWarmsUp(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("greeting"))
			c.Close()
		}
	}()
	dir := t.TempDir()
	srv := NewServer("6.83.4", Config{StateDir: dir, MySQL: dbconn.Config{Endpoint: backend.Addr().String()},
		Warmup: Warmup{Refuse: time.Hour, Reject: 1}})
	st, err := srv.openStore("test")
	if err != nil {
		t.Fatal(err)
	}
	const target = "sluice-dev-proxy/default/RDS_INSTANCE/sluice-dev-db"
	addr, err := srv.proxyAddress(st, target)
	if err != nil || addr == backend.Addr().String() {
		t.Fatalf("a new target's address = %q, %v; want its gate", addr, err)
	}
	read := func() ([]byte, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return io.ReadAll(c)
	}
	if _, err := read(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while registering: %v, want connection refused", err)
	}

	g := srv.gates[target]
	if err := g.gate.Open(g.reject); err != nil {
		t.Fatal(err)
	}
	g.opened.Store(true)
	got, err := read()
	// ERR packet: 4-byte header, 0xff, the error number little-endian.
	if err != nil || len(got) < 7 || got[4] != 0xff || int(got[5])|int(got[6])<<8 != 9501 {
		t.Fatalf("while unavailable: %q, %v; want MySQL error 9501", got, err)
	}
	if err := srv.settleProxyTargets(st); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err != nil || string(got) != "greeting" {
		t.Errorf("once available, through the gate: %q, %v; want the server's greeting", got, err)
	}
	if again, _ := srv.proxyAddress(st, target); again != backend.Addr().String() {
		t.Errorf("an available target's address = %q, want the server's %s", again, backend.Addr())
	}
	if err := srv.deregisterProxyTarget(st, target); err != nil {
		t.Fatal(err)
	}
	if again, _ := srv.proxyAddress(st, target); again == backend.Addr().String() {
		t.Error("a target registered again is available at once; it warms up anew")
	}
}
