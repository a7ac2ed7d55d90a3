package pipeline

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/testenv"
)

// privateMariaDB is a mariadbd that one test owns: its own data directory
// and loopback port, so the test can stop and restart it without touching
// the machine's shared server. It is killed at cleanup whatever happens.
type privateMariaDB struct {
	t       *testing.T
	dir     string
	port    int
	args    []string // extra mariadbd options
	caFile  string   // when set, Config connects with TLS verified against it
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile *os.File
}

func startPrivateMariaDB(t *testing.T) *privateMariaDB {
	t.Helper()
	return startPrivateMariaDBWith(t, "", nil)
}

// startPrivateMariaDBWith starts the server with extra mariadbd options;
// with caFile set, Config (and the readiness check) use TLS verified
// against that CA.
func startPrivateMariaDBWith(t *testing.T, caFile string, args []string) *privateMariaDB {
	t.Helper()
	testenv.NeedsMariaDBBinaries(t)
	dir := t.TempDir()
	m := &privateMariaDB{t: t, dir: dir, args: args, caFile: caFile}
	install := exec.Command("mariadb-install-db", "--no-defaults",
		"--datadir="+filepath.Join(dir, "data"), "--auth-root-authentication-method=normal",
		"--user=root", "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db (apt-get install mariadb-server provides it): %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if m.logFile, err = os.Create(filepath.Join(dir, "mariadbd.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.kill()
		m.logFile.Close()
	})
	m.start()
	return m
}

// Config is an admin login to database name on this server.
func (m *privateMariaDB) Config(name string) dbconn.Config {
	return dbconn.Config{
		Endpoint: "127.0.0.1:" + strconv.Itoa(m.port), Name: name,
		User: "root", Auth: dbconn.AuthPassword, TLS: m.caFile != "", TLSCAFile: m.caFile,
	}
}

func (m *privateMariaDB) start() {
	m.t.Helper()
	m.cmd = exec.Command("mariadbd", "--no-defaults",
		"--datadir="+filepath.Join(m.dir, "data"),
		"--socket="+filepath.Join(m.dir, "mariadbd.sock"),
		"--pid-file="+filepath.Join(m.dir, "mariadbd.pid"),
		"--port="+strconv.Itoa(m.port), "--bind-address=127.0.0.1",
		"--user=root", "--skip-log-bin", "--innodb-buffer-pool-size=32M",
		"--max-connections=50")
	m.cmd.Args = append(m.cmd.Args, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = m.logFile, m.logFile
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mariadbd: %v", err)
	}
	exited := make(chan struct{})
	m.exited = exited
	go func() {
		_ = m.cmd.Wait()
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := dbconn.Open(ctx, m.Config("mysql"), dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		m.t.Fatal(err)
	}
	defer db.Close()
	for {
		if err := db.PingContext(ctx); err == nil {
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(m.logFile.Name())
			m.t.Fatalf("mariadbd exited during start-up:\n%s", log)
		case <-ctx.Done():
			m.t.Fatalf("mariadbd on port %d not ready after 60 s", m.port)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop shuts the server down as an outage would (SIGTERM: connections are
// dropped), waiting until the process is gone.
func (m *privateMariaDB) stop() {
	m.t.Helper()
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(60 * time.Second):
		m.kill()
	}
}

func (m *privateMariaDB) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exited:
		return
	default:
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.exited
}
