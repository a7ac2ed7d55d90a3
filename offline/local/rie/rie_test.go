// Package rie tests the real consumer artifact: the bootstrap binary, built
// for linux/amd64 from the same code as the arm64 Lambda zip, runs under the
// AWS Lambda Runtime Interface Emulator, receives SQS events over the Lambda
// Runtime API exactly as in AWS, and writes to MariaDB.
//
// The emulator comes from testkit/lambdarie (built once from its Go module,
// outside go.mod, and cached).
package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/lambdarie"
	"github.com/sluicehq/sluice/testkit/testenv"
)

func TestBootstrapUnderRIEWritesToMariaDB(t *testing.T) {
	app := appDatabase(t)
	fn := startConsumer(t, app)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		message("m-1", `{"name":"山田 太郎","email":"taro@example.jp"}`),
		message("m-2", `{"name":"not json`),
		message("m-3", `{"name":"Ada","email":"ada@example.com"}`),
	}}
	for delivery := 1; delivery <= 2; delivery++ { // the second is a redelivery
		resp := invoke(t, fn, ev)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: batchItemFailures %+v, want none (the poison record is quarantined, not retried)", delivery, resp.BatchItemFailures)
		}
	}

	admin := app
	admin.User, admin.Password = testdb.Server().User, testdb.Server().Password
	db, err := dbconn.Open(context.Background(), admin, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]string{}
	rows, err := db.Query("SELECT submission_id, name FROM users")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got[id] = name
	}
	rows.Close()
	want := map[string]string{"m-1": "山田 太郎", "m-3": "Ada"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users after two deliveries = %v, want %v", got, want)
	}
	var reason string
	if err := db.QueryRow("SELECT reason FROM quarantine WHERE submission_id = 'm-2'").Scan(&reason); err != nil {
		t.Fatalf("quarantine row for m-2: %v", err)
	}
	if reason != "invalid_json" {
		t.Errorf("quarantine reason %q, want invalid_json", reason)
	}
}

// TestBootstrapUnderRIEReportsRetryWhenTheDatabaseIsDown: with the database
// unreachable, every record comes back in batchItemFailures, so SQS
// redelivers them.
func TestBootstrapUnderRIEReportsRetryWhenTheDatabaseIsDown(t *testing.T) {
	down := dbconn.Config{Endpoint: closedAddr(t), Name: "sluice", User: "sluice_app", Auth: dbconn.AuthPassword, Password: "unused"}
	fn := startConsumer(t, down)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		message("d-1", `{"name":"A","email":"a@example.com"}`),
		message("d-2", `{"name":"B","email":"b@example.com"}`),
	}}
	resp := invoke(t, fn, ev)
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if fmt.Sprint(ids) != "[d-1 d-2]" {
		t.Errorf("batchItemFailures %v, want both records", ids)
	}
}

func message(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId:     id,
		ReceiptHandle: "rh-" + id,
		Body:          body,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    strconv.FormatInt(time.Now().UnixMilli(), 10),
			"SenderId":                         "AIDAEXAMPLE",
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-intake",
		AWSRegion:      "ap-northeast-1",
	}
}

// invoke posts ev to the emulator's invocation endpoint, as the event
// source mapping's synchronous Invoke does, and decodes the response.
func invoke(t *testing.T, fn *lambdarie.Function, ev events.SQSEvent) events.SQSEventResponse {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fn.Invoke(t.Context(), body)
	if err != nil {
		t.Fatalf("%v\n%s", err, fn.Output())
	}
	var out events.SQSEventResponse
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("invoke response %q is not an SQSEventResponse (a function error?): %v", raw, err)
	}
	return out
}

// appDatabase is a migrated test database and a throw-away application user
// with a password, as the consumer connects in AWS (there with IAM).
func appDatabase(t *testing.T) dbconn.Config {
	t.Helper()
	admin := testdb.New(t)
	ctx := context.Background()
	if err := migrations.Up(ctx, admin); err != nil {
		t.Fatal(err)
	}
	app := admin
	app.User, app.Password = testdb.NewUser(t), testdb.NewPassword(t)
	if err := migrations.EnsureAppUser(ctx, admin, app.User, app.Password); err != nil {
		t.Fatal(err)
	}
	return app
}

// startConsumer runs the consumer bootstrap under the emulator, configured
// for db as infra configures it in AWS (there with IAM auth and TLS).
func startConsumer(t *testing.T, db dbconn.Config) *lambdarie.Function {
	t.Helper()
	testenv.NeedsLambdaRIE(t) // before the bootstrap build, which a skip would waste
	fn := lambdarie.Start(t, lambdarie.BuildBootstrap(t, "../../../consumer/cmd/consumer"), []string{
		"AWS_REGION=ap-northeast-1",
		"AWS_LAMBDA_FUNCTION_NAME=sluice-consumer",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		dbconn.EnvEndpoint + "=" + db.Endpoint,
		dbconn.EnvName + "=" + db.Name,
		dbconn.EnvUser + "=" + db.User,
		dbconn.EnvAuth + "=password",
		dbconn.EnvPassword + "=" + db.Password,
		dbconn.EnvTLS + "=false",
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", fn.Output())
		}
	})
	return fn
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
