package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/lambdarie"
)

// The sessions in docs/database.md and docs/operating.md are recorded by the
// tests below from the built migrator and the mysql client against a test
// database; the throw-away names are shown as the docs' sluice_demo and
// sluice_demo_app, and the server as 127.0.0.1:3306.
const (
	demoDB       = "sluice_demo"
	demoUser     = "sluice_demo_app"
	demoPassword = "demo-only-password"
)

// logTimes are the values that change with every migration added (the
// schema version and the progress lines, masked first, while they are
// whole) and those of a run that change every time: slog's time and
// golang-migrate's durations.
var logTimes = append(doccheck.SchemaVersions(),
	doccheck.Ignore(regexp.MustCompile(`time=\S+|"time":"[^"]*"`)),
	doccheck.Ignore(regexp.MustCompile(`\([0-9.]+[µmn]?s\)`)),
)

// session runs commands as a shell would and records them with their
// output (stdout and stderr in the order written).
type session struct {
	t      *testing.T
	cfg    dbconn.Config // the test database, as the admin user
	bin    string        // the built migrator
	out    strings.Builder
	rename *strings.Replacer // real names to the names the docs show
}

// newSession makes a test database and builds the migrator; appUser, when
// not empty, is the throw-away application user the docs call
// sluice_demo_app.
func newSession(t *testing.T, appUser string) *session {
	t.Helper()
	cfg := testdb.New(t)
	if _, err := exec.LookPath("mysql"); err != nil {
		t.Fatalf("the mysql client is needed (apt-get install mariadb-client): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "migrator")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pairs := []string{cfg.Name, demoDB, cfg.Endpoint, "127.0.0.1:3306", "'" + cfg.User + "'@", "'root'@"}
	if appUser != "" {
		pairs = append(pairs, appUser, demoUser)
	}
	return &session{t: t, cfg: cfg, bin: bin, rename: strings.NewReplacer(pairs...)}
}

// migrator runs the migrator with the SLUICE_DB_* of the test database plus
// env, and records it as shown.
func (s *session) migrator(shown string, env []string, args ...string) {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(),
		"SLUICE_DB_ENDPOINT="+s.cfg.Endpoint, "SLUICE_DB_NAME="+s.cfg.Name, "SLUICE_DB_USER="+s.cfg.User,
		"SLUICE_DB_PASSWORD="+s.cfg.Password, "SLUICE_DB_AUTH=password", "SLUICE_DB_TLS=false")
	cmd.Env = append(cmd.Env, env...)
	s.record(shown, cmd)
}

// mysql runs the mysql client as user against the test database and
// records it as shown.
func (s *session) mysql(shown, user, password, sql string) {
	s.t.Helper()
	host, port, _ := strings.Cut(s.cfg.Endpoint, ":")
	cmd := exec.Command("mysql", "-u"+user, "-h"+host, "-P"+port, s.cfg.Name, "-e", sql)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+password)
	s.record(shown, cmd)
}

func (s *session) record(shown string, cmd *exec.Cmd) {
	s.t.Helper()
	s.out.WriteString("$ " + shown + "\n")
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	var exit *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
		s.t.Fatalf("%s: %v", shown, err)
	}
}

// exec runs SQL as the admin user without recording it.
func (s *session) exec(sql string) {
	s.t.Helper()
	db, err := dbconn.Open(context.Background(), s.cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(sql); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

func (s *session) transcript() string { return s.rename.Replace(s.out.String()) }

// TestCommandLineAsDocumented records the command-line session of
// docs/database.md.
func TestCommandLineAsDocumented(t *testing.T) {
	user := testdb.NewUser(t)
	s := newSession(t, user)
	s.out.WriteString("$ go build -o /tmp/migrator ./migrations/cmd/migrator\n" +
		"$ export SLUICE_DB_ENDPOINT=127.0.0.1:3306 SLUICE_DB_NAME=" + demoDB + " SLUICE_DB_USER=root SLUICE_DB_AUTH=password SLUICE_DB_TLS=false\n")
	s.migrator("./migrator version", nil, "version")
	s.migrator("./migrator up", nil, "up")
	s.migrator("SLUICE_APP_USER="+demoUser+" SLUICE_APP_PASSWORD='"+demoPassword+"' ./migrator up",
		[]string{"SLUICE_APP_USER=" + user, "SLUICE_APP_PASSWORD=" + demoPassword}, "up")
	s.migrator("./migrator down 2", nil, "down", "2")
	s.migrator("./migrator up", nil, "up")
	s.migrator("SLUICE_APP_USER='x; DROP' SLUICE_APP_PASSWORD=p ./migrator up",
		[]string{"SLUICE_APP_USER=x; DROP", "SLUICE_APP_PASSWORD=p"}, "up")
	doccheck.Check(t, "docs/database.md", "migrator-cli", s.transcript(), logTimes...)

	// The application user as the consumer sees it.
	grants := &session{t: t, cfg: s.cfg, rename: s.rename}
	grants.mysql("mysql -u"+demoUser+" -p"+demoPassword+" -h127.0.0.1 "+demoDB+" -e 'SHOW GRANTS'", user, demoPassword, "SHOW GRANTS")
	grants.mysql("mysql -u"+demoUser+" -p"+demoPassword+" -h127.0.0.1 "+demoDB+" -e 'DELETE FROM users'", user, demoPassword, "DELETE FROM users")
	hash := regexp.MustCompile(`PASSWORD '\*[0-9A-F]+'`)
	doccheck.Check(t, "docs/database.md", "app-user-grants", sortTableGrants(hash.ReplaceAllString(grants.transcript(), "PASSWORD '*…'")))
}

// sortTableGrants sorts the runs of table-level GRANT lines: the server
// lists them in an order that can change with the database's name.
func sortTableGrants(s string) string {
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], "GRANT ") && !strings.HasPrefix(lines[j], "GRANT USAGE") {
			j++
		}
		slices.Sort(lines[i:j])
		i = j + 1
	}
	return strings.Join(lines, "\n")
}

// TestDirtyDatabaseAsDocumented records the repair of a migration that failed
// part-way, in docs/operating.md: a hand-made quarantine table blocks
// migration 5.
func TestDirtyDatabaseAsDocumented(t *testing.T) {
	s := newSession(t, "")
	s.migrator("", nil, "up")
	// Back to version 4 whatever the latest version, so that the repair's up
	// applies the later migrations onto the schema they expect.
	s.migrator("", nil, "down", strconv.Itoa(migrations.Latest()-4))
	s.exec("CREATE TABLE quarantine (id INT) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
	s.out.Reset()

	s.migrator("./migrator up", nil, "up")
	s.migrator("./migrator version", nil, "version")
	s.mysql(`mysql -uroot -h127.0.0.1 `+demoDB+` -e "SHOW CREATE TABLE quarantine\G"`, s.cfg.User, s.cfg.Password, `SHOW CREATE TABLE quarantine\G`)
	s.mysql(`mysql -uroot -h127.0.0.1 `+demoDB+` -e "DROP TABLE quarantine"`, s.cfg.User, s.cfg.Password, "DROP TABLE quarantine")
	s.migrator("./migrator force 4", nil, "force", "4")
	s.migrator("./migrator up", nil, "up")
	doccheck.Check(t, "docs/operating.md", "dirty-database", s.transcript(), logTimes...)
}

// TestLambdaEventsAsDocumented records the events of docs/database.md sent
// to the migrator behind the Lambda Runtime Interface Emulator, and the
// function's log lines for the first one.
func TestLambdaEventsAsDocumented(t *testing.T) {
	cfg := testdb.New(t)
	user := testdb.NewUser(t)
	fn := lambdarie.Start(t, lambdarie.BuildBootstrap(t, "."), []string{
		"AWS_LAMBDA_FUNCTION_TIMEOUT=300",
		"SLUICE_DB_ENDPOINT=" + cfg.Endpoint, "SLUICE_DB_NAME=" + cfg.Name, "SLUICE_DB_USER=" + cfg.User,
		"SLUICE_DB_PASSWORD=" + cfg.Password, "SLUICE_DB_AUTH=password", "SLUICE_DB_TLS=false",
	})
	u, err := url.Parse(fn.URL)
	if err != nil {
		t.Fatal(err)
	}
	rename := strings.NewReplacer(cfg.Name, demoDB, user, demoUser, cfg.Endpoint, "127.0.0.1:3306", u.Host, "127.0.0.1:19312")
	var out strings.Builder
	for _, ev := range []string{
		`{"action":"up","appUser":"` + user + `","appPassword":"` + demoPassword + `"}`,
		`{"action":"version"}`,
		`{"action":"down","steps":1}`,
		`{"action":"force"}`,
		`{"action":"up","appUser":"` + user + `","appPasword":"typo"}`,
	} {
		body, err := fn.Invoke(context.Background(), []byte(ev))
		if err != nil {
			t.Fatalf("%v\n%s", err, fn.Output())
		}
		out.WriteString("$ curl -s -XPOST " + fn.URL + " -d '" + ev + "'\n" + string(body) + "\n")
	}
	doccheck.Check(t, "docs/database.md", "migrator-lambda", rename.Replace(out.String()), doccheck.SchemaVersions()...)

	// The first event's log: what was asked (the password only as
	// appPasswordSet), the first migration, the result.
	var log []string
	for _, line := range strings.Split(fn.Output(), "\n") {
		switch {
		case len(log) == 0 && strings.Contains(line, `"msg":"migrator invoked"`),
			len(log) == 1 && strings.Contains(line, `"msg":"1/u `):
			log = append(log, line)
		case len(log) == 2 && strings.Contains(line, `"msg":"migrator done"`):
			log = append(log, "…", line)
		}
	}
	if len(log) != 4 {
		t.Fatalf("the first event's invoked, first-migration and done lines not found in\n%s", fn.Output())
	}
	if strings.Contains(fn.Output(), demoPassword) {
		t.Fatalf("the password is in the function's output:\n%s", fn.Output())
	}
	doccheck.Check(t, "docs/database.md", "migrator-lambda-log", rename.Replace(strings.Join(log, "\n")), logTimes...)
}
