package mysqlgate

import (
	"bufio"
	"database/sql"
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// echoServer stands in for the MySQL server: it greets with a line and
// echoes what it is sent.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("greeting\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestGateRefusesThenRejectsThenPasses(t *testing.T) {
	g, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	if _, err := net.Dial("tcp", g.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial before Open = %v, want connection refused", err)
	}
	if err := g.Open(2); err != nil {
		t.Fatal(err)
	}

	// The MySQL driver reads the rejection as the server's error.
	db, err := sql.Open("mysql", "nobody@tcp("+g.Addr()+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 2; i++ {
		err := db.Ping()
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 9501 || me.Message != ProxyTimeout.Message || string(me.SQLState[:]) != "HY000" {
			t.Fatalf("ping %d through the gate = %v, want MySQL error 9501 (HY000) %q", i+1, err, ProxyTimeout.Message)
		}
	}

	c, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); err != nil || line != "greeting\n" {
		t.Fatalf("after the rejections, first line = %q, %v; want the backend's greeting", line, err)
	}
	c.Write([]byte("ping\n"))
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo through the gate = %q, %v", line, err)
	}
	if g.Rejected() != 2 || g.Passed() != 1 {
		t.Errorf("rejected %d, passed %d; want 2 and 1", g.Rejected(), g.Passed())
	}
}

func TestErrorPacket(t *testing.T) {
	got := Error{Number: 1040, SQLState: "08004", Message: "Too many connections"}.Packet()
	want := append([]byte{29, 0, 0, 0, 0xff, 0x10, 0x04, '#', '0', '8', '0', '0', '4'}, "Too many connections"...)
	if string(got) != string(want) {
		t.Errorf("Packet() = % x\nwant       % x", got, want)
	}
}

func TestGateRejectsUntilPass(t *testing.T) {
	g, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Open(-1); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", "nobody@tcp("+g.Addr()+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 5; i++ {
		var me *mysql.MySQLError
		if err := db.Ping(); !errors.As(err, &me) || me.Number != 9501 {
			t.Fatalf("ping %d before Pass = %v, want 9501", i+1, err)
		}
	}
	g.Pass()
	c, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "greeting\n" {
		t.Fatalf("after Pass, first line = %q, %v; want the backend's greeting", line, err)
	}
	if g.Rejected() != 5 || g.Passed() != 1 {
		t.Errorf("rejected %d, passed %d; want 5 and 1", g.Rejected(), g.Passed())
	}
}
