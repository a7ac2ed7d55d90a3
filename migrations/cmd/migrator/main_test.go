package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
)

// envFor returns the SLUICE_DB_* environment that points at cfg, plus
// extra variables.
func envFor(cfg dbconn.Config, extra map[string]string) func(string) string {
	env := map[string]string{
		dbconn.EnvEndpoint: cfg.Endpoint,
		dbconn.EnvName:     cfg.Name,
		dbconn.EnvUser:     cfg.User,
		dbconn.EnvAuth:     string(dbconn.AuthPassword),
		dbconn.EnvPassword: cfg.Password,
		dbconn.EnvTLS:      "false",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func TestLambdaHandler(t *testing.T) {
	cfg := testdb.New(t)
	user := testdb.NewUser(t)
	const password = "lambda-secret-value"
	var logs bytes.Buffer
	h := lambda.NewHandlerWithOptions(newLambdaHandler(envFor(cfg, nil), slog.New(slog.NewJSONHandler(&logs, nil))), lambdaOptions()...)
	latest := migrations.Latest()

	for _, tc := range []struct {
		name, event, want, wantErr string
	}{
		{name: "up", event: fmt.Sprintf(`{"action":"up","appUser":%q,"appPassword":%q}`, user, password),
			want: fmt.Sprintf(`{"action":"up","version":%d,"dirty":false,"appUser":%q}`, latest, user)},
		{name: "version", event: `{"action":"version"}`,
			want: fmt.Sprintf(`{"action":"version","version":%d,"dirty":false}`, latest)},
		{name: "down", event: `{"action":"down","steps":1}`,
			want: fmt.Sprintf(`{"action":"down","version":%d,"dirty":false}`, latest-1)},
		{name: "force", event: fmt.Sprintf(`{"action":"force","version":%d}`, latest-1),
			want: fmt.Sprintf(`{"action":"force","version":%d,"dirty":false}`, latest-1)},
		{name: "bad action", event: `{"action":"sideways"}`, wantErr: `unknown action "sideways"`},
		{name: "misspelt field", event: fmt.Sprintf(`{"action":"up","appUser":%q,"appPasword":%q}`, user, password), wantErr: `unknown field "appPasword"`},
		{name: "not an object", event: `"up"`, wantErr: "cannot unmarshal"},
		{name: "up again", event: fmt.Sprintf(`{"action":"up","appUser":%q,"appPassword":%q}`, user, password),
			want: fmt.Sprintf(`{"action":"up","version":%d,"dirty":false,"appUser":%q}`, latest, user)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Invoke(context.Background(), []byte(tc.event))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Invoke(%s) = %s, %v; want error %q", tc.event, out, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke(%s): %v", tc.event, err)
			}
			if string(out) != tc.want {
				t.Fatalf("Invoke(%s) = %s, want %s", tc.event, out, tc.want)
			}
		})
	}

	if strings.Contains(logs.String(), password) {
		t.Fatalf("the password is in the logs:\n%s", logs.String())
	}
	// Every log line is one JSON object, and failures are logged.
	failures := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "migrator failed" {
			failures++
		}
	}
	if failures != 1 { // the bad action; decoding errors never reach the handler
		t.Errorf("%d failures logged, want 1:\n%s", failures, logs.String())
	}
}

func TestLambdaHandlerReportsBadSettings(t *testing.T) {
	var logs bytes.Buffer
	h := lambda.NewHandlerWithOptions(newLambdaHandler(func(string) string { return "" }, slog.New(slog.NewJSONHandler(&logs, nil))), lambdaOptions()...)
	_, err := h.Invoke(context.Background(), []byte(`{"action":"version"}`))
	if err == nil || !strings.Contains(err.Error(), "SLUICE_DB_ENDPOINT is required") {
		t.Fatalf("Invoke without settings = %v, want the missing variable named", err)
	}
}

// cli runs the command line and returns its exit code and output.
func cli(getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunUsageErrors(t *testing.T) {
	cfg := testdb.New(t)
	env := envFor(cfg, nil)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, "usage: migrator"},
		{[]string{"sideways"}, `unknown command "sideways"`},
		{[]string{"down"}, "down takes 1 argument(s), got 0"},
		{[]string{"down", "two"}, "down two: not an integer"},
		{[]string{"force"}, "force takes 1 argument(s), got 0"},
		{[]string{"up", "now"}, "up takes 0 argument(s), got 1"},
	} {
		code, stdout, stderr := cli(env, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.stderr) || stdout != "" {
			t.Errorf("migrator %q = %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.stderr)
		}
	}
	if code, stdout, _ := cli(env, "help"); code != 0 || !strings.Contains(stdout, "force V") {
		t.Errorf("migrator help = %d, %q", code, stdout)
	}
	code, _, stderr := cli(func(string) string { return "" }, "version")
	if code != 2 || !strings.Contains(stderr, "SLUICE_DB_ENDPOINT is required") {
		t.Errorf("migrator version without settings = %d, %q", code, stderr)
	}
}

func TestRunCommands(t *testing.T) {
	cfg, admin := testdb.Open(t, dbconn.PoolOptions{})
	user := testdb.NewUser(t)
	const password = "cli-secret-value"
	plain := envFor(cfg, nil)
	withUser := envFor(cfg, map[string]string{envAppUser: user, envAppPassword: password})
	db := cfg.Name
	latest := migrations.Latest()

	steps := []struct {
		name   string
		before string // SQL run as admin first
		env    func(string) string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{name: "version of an empty database", env: plain, args: []string{"version"},
			stdout: []string{fmt.Sprintf("database %s: version 0 (clean)", db)}},
		{name: "up without password", env: plain, args: []string{"up"},
			stdout: []string{"SLUICE_APP_PASSWORD is empty: application user sluice_app left as it is", fmt.Sprintf("version %d (clean)", latest)}},
		{name: "up with user", env: withUser, args: []string{"up"},
			stdout: []string{fmt.Sprintf("application user %s: SELECT, INSERT, UPDATE on users, quarantine", user), fmt.Sprintf("version %d (clean)", latest)}},
		{name: "down to 3", env: plain, args: []string{"down", strconv.Itoa(latest - 3)},
			stdout: []string{"version 3 (clean)"}},
		{name: "down too far", env: plain, args: []string{"down", "9"}, code: 1,
			stderr: []string{"only 3 migrations are applied"}},
		{name: "failing migration", env: plain, args: []string{"up"}, code: 1,
			before: "ALTER TABLE users ADD COLUMN submitted_at INT",
			stderr: []string{"Duplicate column name 'submitted_at'", "database is dirty at version 4", "run `migrator force 3` and `migrator up`"}},
		{name: "version when dirty", env: plain, args: []string{"version"},
			stdout: []string{fmt.Sprintf("database %s: version 4 (dirty)", db), "run `migrator force 3` and `migrator up`"}},
		{name: "up when dirty", env: plain, args: []string{"up"}, code: 1,
			stderr: []string{"database is dirty at version 4", "run `migrator force 3` and `migrator up`"}},
		{name: "force unknown", env: plain, args: []string{"force", "42"}, code: 1,
			stderr: []string{"force 42: no such migration"}},
		{name: "force after inspection", env: plain, args: []string{"force", "3"},
			before: "ALTER TABLE users DROP COLUMN submitted_at",
			stdout: []string{"version 3 (clean)"}},
		{name: "up after repair", env: withUser, args: []string{"up"},
			stdout: []string{fmt.Sprintf("version %d (clean)", latest)}},
		{name: "bad app user", env: envFor(cfg, map[string]string{envAppUser: "no such'user"}), args: []string{"up"}, code: 1,
			stderr: []string{"SLUICE_APP_USER: application user name"}},
	}
	for _, s := range steps {
		if s.before != "" {
			if _, err := admin.Exec(s.before); err != nil {
				t.Fatalf("%s: %s: %v", s.name, s.before, err)
			}
		}
		code, stdout, stderr := cli(s.env, s.args...)
		if code != s.code {
			t.Errorf("%s: migrator %q exited %d, want %d\nstdout: %s\nstderr: %s", s.name, s.args, code, s.code, stdout, stderr)
		}
		for _, w := range s.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout %q lacks %q", s.name, stdout, w)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q lacks %q", s.name, stderr, w)
			}
		}
		if strings.Contains(stdout+stderr, password) {
			t.Fatalf("%s: the password was printed", s.name)
		}
	}
}

// An invocation with less than stopMargin left starts nothing: a migration
// it began could be cut off by the Lambda timeout and leave the database
// dirty.
func TestLambdaHandlerKeepsAStopMargin(t *testing.T) {
	cfg := testdb.New(t)
	var logs bytes.Buffer
	h := newLambdaHandler(envFor(cfg, nil), slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), stopMargin/2)
	defer cancel()
	_, err := h(ctx, migrations.Event{Action: "up", AppPassword: "margin-secret"})
	if err == nil || !strings.Contains(err.Error(), "not started: context deadline exceeded") {
		t.Fatalf("up with %v left = %v, want it not started", stopMargin/2, err)
	}
	st, err := migrations.Version(context.Background(), cfg)
	if err != nil || st != (migrations.State{}) {
		t.Fatalf("after the refused up: %+v, %v; want version 0", st, err)
	}
}
