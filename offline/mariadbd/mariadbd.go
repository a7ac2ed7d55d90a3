// Package mariadbd runs a private MariaDB server: its own data directory
// and loopback port, root with an empty password, owned by one test or one
// rehearsal, which can stop and restart it without touching the machine's
// shared server. mariadb-install-db and mariadbd come from Debian's
// mariadb-server package.
package mariadbd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// Server is one private mariadbd.
type Server struct {
	dir     string
	port    int
	opts    Options
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile *os.File
}

// Options change how the server runs.
type Options struct {
	// Args are extra mariadbd options (TLS certificates, for one).
	Args []string
	// CAFile, when set, makes Config (and the readiness check) connect
	// with TLS verified against this CA.
	CAFile string
}

// Start initialises a data directory under dir (which must be empty or
// new), starts the server on a free loopback port and waits until it
// answers.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// StartWith is Start with options.
func StartWith(dir string, o Options) (*Server, error) {
	install := exec.Command("mariadb-install-db", append([]string{"--no-defaults",
		"--datadir=" + filepath.Join(dir, "data"), "--auth-root-authentication-method=normal",
		"--skip-test-db"}, asUser()...)...)
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db (apt-get install mariadb-server provides it): %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, port: l.Addr().(*net.TCPAddr).Port, opts: o}
	l.Close()
	if s.logFile, err = os.Create(filepath.Join(dir, "mariadbd.log")); err != nil {
		return nil, err
	}
	if err := s.Restart(); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// asUser is the --user flag the server needs when started as root (it
// refuses to run as root otherwise); any other user runs it as itself.
func asUser() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

// Endpoint is the server's host:port.
func (s *Server) Endpoint() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Config is an admin login (root) to database name on this server.
func (s *Server) Config(name string) dbconn.Config {
	return dbconn.Config{Endpoint: s.Endpoint(), Name: name, User: "root", Auth: dbconn.AuthPassword,
		TLS: s.opts.CAFile != "", TLSCAFile: s.opts.CAFile}
}

// Restart starts the server again after Stop (Start starts it the first
// time) and waits until it answers.
func (s *Server) Restart() error {
	s.cmd = exec.Command("mariadbd", "--no-defaults",
		"--datadir="+filepath.Join(s.dir, "data"),
		"--socket="+filepath.Join(s.dir, "mariadbd.sock"),
		"--pid-file="+filepath.Join(s.dir, "mariadbd.pid"),
		"--port="+strconv.Itoa(s.port), "--bind-address=127.0.0.1",
		"--skip-log-bin", "--innodb-buffer-pool-size=32M",
		"--max-connections=50")
	s.cmd.Args = append(s.cmd.Args, asUser()...)
	s.cmd.Args = append(s.cmd.Args, s.opts.Args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	// Its own process group, killed with its parent.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() {
		_ = s.cmd.Wait()
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := dbconn.Open(ctx, s.Config("mysql"), dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		if err := db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(s.logFile.Name())
			return fmt.Errorf("mariadbd exited during start-up:\n%s", log)
		case <-ctx.Done():
			return errors.New("mariadbd on port " + strconv.Itoa(s.port) + " not ready after 60 s")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop shuts the server down as an outage would (SIGTERM: connections are
// dropped), waiting until the process is gone.
func (s *Server) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.Kill()
	}
}

// Kill stops the server at once, if it runs, and closes its log.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	}
}

// Close kills the server and closes its log file.
func (s *Server) Close() {
	s.Kill()
	if s.logFile != nil {
		s.logFile.Close()
	}
}
