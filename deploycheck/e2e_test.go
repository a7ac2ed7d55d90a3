package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/local/pipeline"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/lambdarie"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// TestFirstDeployCheckEndToEnd runs the built command, as a user runs it
// after `pulumi up`, against the local pipeline (the HTTP edge, SQS on
// moto_server, the consumer, MariaDB) for the probe and the stand-in AWS
// APIs for the rest, whose Invoke runs the real migrator bootstrap under
// the Lambda Runtime Interface Emulator against the pipeline's database.
// The report is the one docs/deploying.md shows.
func TestFirstDeployCheckEndToEnd(t *testing.T) {
	testenv.NeedsMoto(t)
	s, err := settings.LoadFile("../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := testdb.New(t)
	p, err := pipeline.Start(context.Background(), pipeline.Config{
		Settings: s, DB: db, AppUser: testdb.NewUser(t), Addr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)

	fn := lambdarie.Start(t, lambdarie.BuildBootstrap(t, "../migrations/cmd/migrator"), []string{
		"AWS_LAMBDA_FUNCTION_TIMEOUT=300",
		"SLUICE_DB_ENDPOINT=" + db.Endpoint, "SLUICE_DB_NAME=" + db.Name, "SLUICE_DB_USER=" + db.User,
		"SLUICE_DB_PASSWORD=" + db.Password, "SLUICE_DB_AUTH=password", "SLUICE_DB_TLS=false",
	})
	aws, srv := newStandIn(t)
	healthy(aws, migrations.Latest(), false)
	aws.invoke = func(name string, payload []byte) ([]byte, bool) {
		if name != migrator {
			return []byte(`{"errorMessage":"no such function"}`), true
		}
		r, err := fn.Call(context.Background(), payload)
		if err != nil {
			return []byte(`{"errorMessage":` + strconvQuote(err.Error()) + `}`), true
		}
		// The emulator does not set X-Amz-Function-Error; Lambda does.
		return r.Payload, strings.Contains(string(r.Payload), `"errorMessage"`)
	}

	outputs := filepath.Join(t.TempDir(), "outputs.json")
	raw, _ := json.Marshal(outputsFor(p.URL() + "/submit"))
	if err := os.WriteFile(outputs, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "deploycheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	check := func() (int, string) {
		cmd := exec.Command(bin, "-outputs", outputs, "-probe-wait", "2m")
		cmd.Env = append(os.Environ(),
			"AWS_ENDPOINT_URL_RDS="+srv.URL, "AWS_ENDPOINT_URL_LAMBDA="+srv.URL,
			"AWS_ACCESS_KEY_ID=AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY=stand-in-secret", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
			"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !asExit(err, &exit) {
			t.Fatal(err)
		}
		code := 0
		if exit != nil {
			code = exit.ExitCode()
		}
		return code, string(out)
	}

	code, report := check()
	if code != exitOK {
		t.Fatalf("deploycheck exited %d:\n%s\nmigrator:\n%s", code, report, fn.Output())
	}
	var stored int
	if err := p.Admin().QueryRow("SELECT COUNT(*) FROM users WHERE submission_id LIKE 'key:deploycheck-%' AND email = ?", probeEmail).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("probe rows in users: %d, %v; want 1", stored, err)
	}
	shown := "$ go run ./deploycheck --stack dev\n" + strings.ReplaceAll(report, p.URL(), "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com")
	doccheck.Check(t, "docs/deploying.md", "deploycheck-ok", shown,
		doccheck.Ignore(regexp.MustCompile(`deploycheck-[0-9TZ]+-[0-9a-f]+`)),
		doccheck.Ignore(regexp.MustCompile(`message [0-9a-f-]{36}`)),
		doccheck.Ignore(regexp.MustCompile(`after [0-9hms]+`)))

	// The proxy that cannot log in to MySQL: the first line says so and
	// names the fallback; nothing reaches the database.
	aws.targets[proxyName] = []target{{ID: "sluice-dev-db", State: "UNAVAILABLE", Reason: "AUTH_FAILURE"}}
	code, report = check()
	if code != exitFail {
		t.Fatalf("deploycheck with AUTH_FAILURE exited %d:\n%s", code, report)
	}
	doccheck.Check(t, "docs/deploying.md", "deploycheck-auth-failure", "$ go run ./deploycheck --stack dev\n"+report)
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
