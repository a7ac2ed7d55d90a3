package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/lambdarie"
)

// TestBinaryUnderLambdaRuntime runs the built migrator behind the Lambda
// Runtime API (the emulator) and sends it the events infra sends.
func TestBinaryUnderLambdaRuntime(t *testing.T) {
	cfg := testdb.New(t)
	user := testdb.NewUser(t)
	const password = "rie-secret-value"
	fn := lambdarie.Start(t, lambdarie.BuildBootstrap(t, "."), []string{
		"AWS_LAMBDA_FUNCTION_TIMEOUT=300",
		"SLUICE_DB_ENDPOINT=" + cfg.Endpoint,
		"SLUICE_DB_NAME=" + cfg.Name,
		"SLUICE_DB_USER=" + cfg.User,
		"SLUICE_DB_PASSWORD=" + cfg.Password,
		"SLUICE_DB_AUTH=password",
		"SLUICE_DB_TLS=false",
	})

	latest := migrations.Latest()
	for _, tc := range []struct {
		event string
		want  string // the exact JSON result, or
		error string // a fragment of errorMessage
	}{
		{event: fmt.Sprintf(`{"action":"up","appUser":%q,"appPassword":%q}`, user, password),
			want: fmt.Sprintf(`{"action":"up","version":%d,"dirty":false,"appUser":%q}`, latest, user)},
		{event: `{"action":"version"}`, want: fmt.Sprintf(`{"action":"version","version":%d,"dirty":false}`, latest)},
		{event: `{"action":"sideways"}`, error: `unknown action \"sideways\"`},
		{event: `{"action":"up"}`, error: `appPassword is required`},
	} {
		body, err := fn.Invoke(context.Background(), []byte(tc.event))
		if err != nil {
			t.Fatalf("%v\n%s", err, fn.Output())
		}
		got := string(body)
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("invoke %s = %s, want %s", tc.event, got, tc.want)
		case tc.error != "" && !(strings.Contains(got, `"errorMessage"`) && strings.Contains(got, tc.error)):
			t.Errorf("invoke %s = %s, want an errorMessage with %s", tc.event, got, tc.error)
		}
	}

	logs := fn.Output()
	if strings.Contains(logs, password) {
		t.Fatalf("the password is in the function's output:\n%s", logs)
	}
	var done int
	for _, line := range strings.Split(logs, "\n") {
		var rec struct{ Msg string }
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "migrator done" {
			done++
		}
	}
	if done != 2 {
		t.Errorf("%d JSON \"migrator done\" lines, want 2:\n%s", done, logs)
	}
}
