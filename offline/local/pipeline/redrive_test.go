package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/offline/local/poller"
	"github.com/sluicehq/sluice/offline/local/sqsenv"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// runbookPage holds the DLQ redrive runbook; runbookBlock marks each of its
// command blocks.
const runbookPage = "docs/operating.md"

var runbookBlock = regexp.MustCompile(`^<!-- runbook: dlq-redrive/([a-z-]+) -->$`)

// The runbook's blocks, in the order an operator runs them.
var runbookSteps = []string{"names", "inspect", "logs", "move", "move-by-hand", "check"}

// runbookBlocks reads the marked command blocks of the redrive runbook.
func runbookBlocks(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", runbookPage))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		m := runbookBlock.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if _, dup := blocks[m[1]]; dup {
			t.Fatalf("%s: block %s marked twice", runbookPage, m[1])
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s: the %s marker is not followed by a fenced block", runbookPage, m[1])
		}
		var body []string
		for i += 2; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		blocks[m[1]] = strings.Join(body, "\n") + "\n"
	}
	if got := slices.Sorted(maps.Keys(blocks)); !slices.Equal(got, slices.Sorted(slices.Values(runbookSteps))) {
		t.Fatalf("%s has runbook blocks %v, this test runs %v: keep them in step", runbookPage, got, runbookSteps)
	}
	return blocks
}

// stackOutputVar is one line of the names block.
var stackOutputVar = regexp.MustCompile(`^([A-Z_]+)=\$\(pulumi stack output ([A-Za-z]+)\)$`)

// attributeLog records the message attributes of every delivery, by body.
type attributeLog struct {
	mu    sync.Mutex
	attrs map[string][]map[string]string
}

func (l *attributeLog) wrap(h poller.Handler) poller.Handler {
	return poller.HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		l.mu.Lock()
		if l.attrs == nil {
			l.attrs = map[string][]map[string]string{}
		}
		for _, m := range ev.Records {
			a := map[string]string{}
			for k, v := range m.MessageAttributes {
				a[k] = aws.ToString(v.StringValue)
			}
			l.attrs[m.Body] = append(l.attrs[m.Body], a)
		}
		l.mu.Unlock()
		return h.Handle(ctx, ev)
	})
}

// TestDLQRedriveRunbook runs the DLQ redrive runbook's commands, as
// docs/operating.md writes them, against the local pipeline: records that
// kept failing while the database was down are moved back from the DLQ
// once it is up again, and the consumer stores each of them exactly once.
//
// It runs on each SQS engine the local pipeline starts; the runbook's
// CloudWatch Logs step always talks to moto, the only engine with Logs.
func TestDLQRedriveRunbook(t *testing.T) {
	for _, engine := range []string{sqsenv.EngineGoAWS, sqsenv.EngineMoto} {
		t.Run(engine, func(t *testing.T) { testDLQRedriveRunbook(t, engine) })
	}
}

func testDLQRedriveRunbook(t *testing.T, engine string) {
	const viaEdge, direct = 8, 2 // 10 records, as the runbook's text says
	testenv.NeedsMoto(t)
	testenv.NeedsMariaDBBinaries(t)
	tools := map[string]string{}
	for _, tool := range []string{"bash", "aws", "jq"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("the runbook needs %s on PATH (AWS CLI: pip install awscli; jq: apt-get install jq): %v", tool, err)
		}
		tools[tool] = path
	}
	blocks := runbookBlocks(t)

	server := startPrivateMariaDB(t)
	moto, err := sqsenv.StartMoto(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)
	s := devSettings(t)
	s.Queue.MaxReceiveCount = 2
	s.Queue.VisibilityTimeout = time.Second         // fail fast while the database is down
	consumerLog := newOutputFile(t, "consumer.log") // the consumer's JSON log, as Lambda would ship it
	delivered := &attributeLog{}
	p := startPipeline(t, s, server.Config("sluice_redrive"), delivered.wrap, func(c *Config) {
		if engine == sqsenv.EngineMoto {
			c.SQSEndpoint = moto.Endpoint()
		}
		c.Logger = slog.New(slog.NewJSONHandler(io.MultiWriter(consumerLog, t.Output()), &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	q := p.Queues()

	// The database goes away; every record sent now fails until SQS moves
	// it to the DLQ. Two of them come with a message attribute, which the
	// redrive must keep.
	server.stop()
	var bodies []string
	for i := range viaEdge + direct {
		bodies = append(bodies, record("redrive", i))
	}
	postAll(t, p.URL(), bodies[:viaEdge], 4)
	ctx := context.Background()
	for i, b := range bodies[viaEdge:] {
		if _, err := p.SQS().SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(q.URL), MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"origin": {DataType: aws.String("String"), StringValue: aws.String(fmt.Sprintf("redrive-test-%d", i))},
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitQueues(t, p, 2*time.Minute, "all records in the DLQ", func(main, dlq sqsenv.Depth) bool {
		return dlq.Visible == len(bodies) && main.Visible+main.InFlight == 0
	})
	server.start()
	t.Log("database back; the 10 records are in the DLQ")

	// The runbook, as an operator runs it. The names come from stack
	// outputs that the program must really export.
	deployedStack, err := deployed()
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]string{"queueUrl": q.URL, "dlqUrl": q.DLQURL, "dlqArn": q.DLQARN}
	env := os.Environ()
	var logGroup string
	for line := range strings.SplitSeq(strings.TrimSpace(blocks["names"]), "\n") {
		m := stackOutputVar.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			t.Fatalf("names block line %q is not VAR=$(pulumi stack output NAME)", line)
		}
		out := deployedStack.Outputs[resource.PropertyKey(m[2])]
		if !out.IsString() || out.StringValue() == "" {
			t.Fatalf("the runbook reads `pulumi stack output %s`, which the program does not export", m[2])
		}
		value, ok := local[m[2]]
		if !ok {
			// A name without a local counterpart (the consumer's log
			// group) is used as the stack defines it.
			value = out.StringValue()
		}
		if m[2] == "consumerLogGroupName" {
			logGroup = value
		}
		env = append(env, m[1]+"="+value)
	}
	if logGroup == "" {
		t.Fatal("the names block does not read the consumer's log group")
	}
	// AWS CLI v1 ignores AWS_ENDPOINT_URL_SQS for SQS (its legacy endpoint
	// customization wins), so the aws on PATH adds --endpoint-url; v2 would
	// take AWS_ENDPOINT_URL as well.
	shim := t.TempDir()
	shimScript := fmt.Sprintf("#!/bin/sh\nendpoint=%q\n[ \"$1\" = sqs ] && endpoint=%q\nexec %q --endpoint-url \"$endpoint\" \"$@\"\n", moto.Endpoint(), p.SQSEndpoint(), tools["aws"])
	if err := os.WriteFile(filepath.Join(shim, "aws"), []byte(shimScript), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+shim+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_DEFAULT_REGION="+s.Region, "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	run := func(step string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tools["bash"], "-c", "set -euo pipefail\n"+blocks[step])
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("runbook %s (%.1fs, err %v):\n%s", step, time.Since(start).Seconds(), err, out.String())
		return out.String(), err
	}

	out, err := run("inspect")
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if !strings.Contains(out, fmt.Sprintf(`"ApproximateNumberOfMessages": "%d"`, len(bodies))) || !strings.Contains(out, "redrive-") {
		t.Errorf("inspect does not show the %d messages and their bodies", len(bodies))
	}

	// Lambda ships the function's log lines to its log group; here the
	// consumer's own lines of the outage go there.
	shipLogs(t, moto.Endpoint(), p, logGroup, consumerLog.written(t))
	if out, err = run("logs"); err != nil {
		t.Fatalf("logs: %v", err)
	}
	if !strings.Contains(out, "batch not committed; reporting every record for retry") {
		t.Errorf("logs does not show the consumer's warning about the failed batches")
	}

	out, err = run("move")
	switch {
	case err == nil:
		t.Log("start-message-move-task worked here: the fallback is not needed")
	case strings.Contains(out, "StartMessageMoveTask"):
		t.Logf("%s lacks StartMessageMoveTask, as the runbook says; running its fallback", engine)
		start := time.Now()
		if _, err := run("move-by-hand"); err != nil {
			t.Fatalf("move-by-hand: %v", err)
		}
		t.Logf("moved %d messages by hand in %.1fs", len(bodies), time.Since(start).Seconds())
	default:
		t.Fatalf("move failed for another reason than a missing StartMessageMoveTask: %v", err)
	}

	c := waitFor(t, p, 2*time.Minute, "redriven records stored", func(c Counts) bool {
		return c.Stored >= int64(len(bodies)) && c.Queued == 0 && c.InFlight == 0 && c.DLQ == 0
	})
	if out, err = run("check"); err != nil {
		t.Fatalf("check: %v", err)
	}
	if n := strings.Count(out, `"ApproximateNumberOfMessages": "0"`); n != 2 {
		t.Errorf("check shows %d empty queues, want the DLQ and the main queue", n)
	}
	if c.Quarantined != 0 {
		t.Errorf("%d records quarantined", c.Quarantined)
	}
	storedOnceByBody(t, p, bodies)
	delivered.mu.Lock()
	defer delivered.mu.Unlock()
	for i, b := range bodies[viaEdge:] {
		got := delivered.attrs[b]
		want := fmt.Sprintf("redrive-test-%d", i)
		if len(got) == 0 || got[len(got)-1]["origin"] != want {
			t.Errorf("after the redrive, %s arrived with attributes %v, want origin=%s", b, got, want)
		}
	}
}

// waitQueues polls the depths of the main queue and the DLQ (the database
// may be down, so Counts cannot be used).
func waitQueues(t *testing.T, p *Pipeline, limit time.Duration, what string, cond func(main, dlq sqsenv.Depth) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	ctx := context.Background()
	for {
		main, err1 := sqsenv.GetDepth(ctx, p.SQS(), p.Queues().URL)
		dlq, err2 := sqsenv.GetDepth(ctx, p.SQS(), p.Queues().DLQURL)
		if err1 == nil && err2 == nil && cond(main, dlq) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: main %+v (%v), DLQ %+v (%v)", what, limit, main, err1, dlq, err2)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// shipLogs puts the JSON log lines into a log stream of group, as Lambda
// does with a function's output.
func shipLogs(t *testing.T, logsEndpoint string, p *Pipeline, group string, lines []byte) {
	t.Helper()
	var batch []string
	sc := bufio.NewScanner(bytes.NewReader(lines))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(batch) < 100 {
		batch = append(batch, sc.Text())
	}
	if len(batch) == 0 {
		t.Fatal("the consumer logged nothing during the outage")
	}
	now := time.Now().UnixMilli()
	events := make([]map[string]any, len(batch))
	for i, l := range batch {
		events[i] = map[string]any{"timestamp": now, "message": l}
	}
	eventsJSON, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"logs", "create-log-group", "--log-group-name", group},
		{"logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "consumer"},
		{"logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "consumer", "--log-events", string(eventsJSON)},
	} {
		cmd := exec.Command("aws", append([]string{"--endpoint-url", logsEndpoint, "--region", p.cfg.Settings.Region}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_CONFIG_FILE=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
}

// storedOnceByBody checks that users holds exactly one row per body (a
// redriven message has a new message id, so ids cannot be compared).
func storedOnceByBody(t *testing.T, p *Pipeline, bodies []string) {
	t.Helper()
	want := map[string]int{}
	for _, b := range bodies {
		var r struct{ Email string }
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			t.Fatal(err)
		}
		want[r.Email] = 0
	}
	rows, err := p.Admin().Query("SELECT email FROM users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			t.Fatal(err)
		}
		total++
		if _, ok := want[email]; !ok {
			t.Errorf("unexpected row %s", email)
			continue
		}
		want[email]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for email, n := range want {
		if n != 1 {
			t.Errorf("%s stored %d times, want once", email, n)
		}
	}
	if total != len(bodies) {
		t.Errorf("users has %d rows, want %d", total, len(bodies))
	}
}
