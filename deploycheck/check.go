package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/sluicehq/sluice/internal/proxyhealth"
	"github.com/sluicehq/sluice/migrations"
)

// Stack outputs the check reads (infra/stack declares them; a test holds
// the two to each other without linking the Pulumi program here).
const (
	outAPIURL           = "apiUrl"
	outProxyName        = "proxyName"
	outConsumerFunction = "consumerFunctionName"
	outMigratorFunction = "migratorFunctionName"
	outRegion           = "region"
)

// required are the outputs without which the check cannot start.
var required = []string{outAPIURL, outProxyName, outConsumerFunction, outMigratorFunction, outRegion}

// checkActions are the IAM actions the check's calls need
// (docs/iam/deploy-role-policy.json grants them).
var checkActions = []string{"rds:DescribeDBProxyTargets", "lambda:GetFunction", "lambda:ListEventSourceMappings", "lambda:InvokeFunction"}

// Outputs are a stack's outputs, as `pulumi stack output --json` prints them.
type Outputs map[string]any

func (o Outputs) str(key string) string {
	s, _ := o[key].(string)
	return s
}

// missing lists the required outputs that are absent or not strings.
func (o Outputs) missing() []string {
	var m []string
	for _, k := range required {
		if o.str(k) == "" {
			m = append(m, k)
		}
	}
	return m
}

// Clients are the AWS APIs the check calls, with the user's credentials.
type Clients struct {
	RDS    *rds.Client
	Lambda *lambda.Client
	HTTP   *http.Client
	// Credentials sign the probe when the route requires AWS_IAM
	// (Options.Sign); nil otherwise.
	Credentials aws.CredentialsProvider
}

// Options tune the check.
type Options struct {
	// ProbeWait bounds how long the probe submission may take to be
	// stored (the queue, the batching window, a cold consumer).
	ProbeWait time.Duration
	// ProbeEvery spaces the lookups.
	ProbeEvery time.Duration
	// Probe false skips the probe submission (a stack whose route needs a
	// JWT, or a check that must not write a row).
	Probe bool
	// Sign signs the probe with SigV4 for a route with apiAuth AWS_IAM.
	Sign bool
}

// Result is one line of the report.
type Result struct {
	Status string // "ok", "FAIL" or "skip"
	What   string
	Detail string
}

func (r Result) String() string { return fmt.Sprintf("%-4s %s: %s", r.Status, r.What, r.Detail) }

func ok(what, format string, a ...any) Result {
	return Result{"ok", what, fmt.Sprintf(format, a...)}
}

func fail(what, format string, a ...any) Result {
	return Result{"FAIL", what, fmt.Sprintf(format, a...)}
}

// Check runs every check in order, writes one line per result to w as it
// goes, and returns the results. The proxy's target health comes first:
// it answers the two questions only a real account settles (does the
// proxy read its secret without NAT or a Secrets Manager endpoint; does
// the proxy-to-database leg accept caching_sha2_password), and without it
// the schema and the probe cannot pass.
func Check(ctx context.Context, out Outputs, c Clients, o Options, w io.Writer) []Result {
	var results []Result
	emit := func(r Result) {
		results = append(results, r)
		fmt.Fprintln(w, r)
	}
	proxyReady := true
	for _, r := range checkProxy(ctx, c.RDS, out.str(outProxyName)) {
		proxyReady = proxyReady && r.Status == "ok"
		emit(r)
	}
	for _, fn := range []string{out.str(outMigratorFunction), out.str(outConsumerFunction)} {
		emit(checkFunction(ctx, c.Lambda, fn))
	}
	for _, r := range checkMappings(ctx, c.Lambda, out.str(outConsumerFunction)) {
		emit(r)
	}
	migrator := out.str(outMigratorFunction)
	if !proxyReady {
		emit(Result{"skip", "schema", "the proxy target is not AVAILABLE, so the migrator cannot reach the database"})
		emit(Result{"skip", "probe", "the proxy target is not AVAILABLE"})
		return results
	}
	emit(checkSchema(ctx, c.Lambda, migrator))
	if !o.Probe {
		emit(Result{"skip", "probe", "-probe=false"})
		return results
	}
	emit(checkProbe(ctx, c, o, out.str(outAPIURL), out.str(outRegion), migrator))
	return results
}

// checkProxy reports each target of the proxy: TargetHealth per the RDS
// API (DescribeDBProxyTargets).
func checkProxy(ctx context.Context, api *rds.Client, proxy string) []Result {
	what := "proxy " + proxy
	res, err := api.DescribeDBProxyTargets(ctx, &rds.DescribeDBProxyTargetsInput{DBProxyName: aws.String(proxy)})
	if err != nil {
		return []Result{fail(what, "describe-db-proxy-targets: %v", err)}
	}
	var out []Result
	for _, t := range res.Targets {
		if t.Type != "RDS_INSTANCE" {
			continue // the TRACKED_CLUSTER entry of an Aurora proxy; Sluice registers an instance
		}
		h := proxyhealth.Health{}
		if t.TargetHealth != nil {
			h = proxyhealth.Health{State: string(t.TargetHealth.State), Reason: string(t.TargetHealth.Reason), Description: aws.ToString(t.TargetHealth.Description)}
		}
		what := fmt.Sprintf("proxy %s target %s", proxy, aws.ToString(t.RdsResourceId))
		if h.Ready() {
			out = append(out, ok(what, "%s", h.Explain()))
		} else {
			out = append(out, fail(what, "%s", h.Explain()))
		}
	}
	if len(out) == 0 {
		return []Result{fail(what, "no RDS instance is registered as a target: run pulumi up (the rds.ProxyTarget resource registers it)")}
	}
	return out
}

// checkFunction reports a function's state (Lambda function states:
// Pending, Active, Inactive, Failed; GetFunction).
func checkFunction(ctx context.Context, api *lambda.Client, name string) Result {
	what := "function " + name
	res, err := api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return fail(what, "get-function: %v", err)
	}
	cfg := res.Configuration
	if cfg == nil {
		return fail(what, "get-function returned no configuration")
	}
	reason := aws.ToString(cfg.StateReason)
	switch cfg.State {
	case lambdatypes.StateActive:
		if cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed {
			return fail(what, "Active, but its last update failed (%s): %s", cfg.LastUpdateStatusReasonCode, aws.ToString(cfg.LastUpdateStatusReason))
		}
		return ok(what, "Active")
	case lambdatypes.StateInactive:
		return ok(what, "Inactive (idle for a long time; Lambda makes it Active again on its next invocation)")
	case lambdatypes.StatePending:
		return fail(what, "Pending: Lambda is still creating its network interfaces; run the check again in a few minutes")
	}
	return fail(what, "%s (%s): %s", cfg.State, cfg.StateReasonCode, reason)
}

// checkMappings reports the consumer's event source mappings
// (ListEventSourceMappings; State Enabled is the working one).
func checkMappings(ctx context.Context, api *lambda.Client, consumer string) []Result {
	what := "event source mapping of " + consumer
	res, err := api.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(consumer)})
	if err != nil {
		return []Result{fail(what, "list-event-source-mappings: %v", err)}
	}
	if len(res.EventSourceMappings) == 0 {
		return []Result{fail(what, "none: the consumer reads no queue; run pulumi up")}
	}
	var out []Result
	for _, m := range res.EventSourceMappings {
		what := fmt.Sprintf("event source mapping %s (%s)", aws.ToString(m.UUID), lastPart(aws.ToString(m.EventSourceArn)))
		state := aws.ToString(m.State)
		if state == "Enabled" {
			out = append(out, ok(what, "Enabled"))
			continue
		}
		detail := state
		if r := aws.ToString(m.StateTransitionReason); r != "" {
			detail += " (" + r + ")"
		}
		if r := aws.ToString(m.LastProcessingResult); r != "" {
			detail += "; last processing result: " + r
		}
		out = append(out, fail(what, "%s: a disabled mapping leaves submissions in the queue (operating.md says when it is disabled on purpose)", detail))
	}
	return out
}

func lastPart(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// invoke sends ev to the migrator and decodes its Result; a function error
// comes back as an error with its message.
func invoke(ctx context.Context, api *lambda.Client, fn string, ev migrations.Event) (migrations.Result, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return migrations.Result{}, err
	}
	res, err := api.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		return migrations.Result{}, fmt.Errorf("invoke %s: %w", fn, err)
	}
	if res.FunctionError != nil {
		var doc struct{ ErrorMessage string }
		if json.Unmarshal(res.Payload, &doc) != nil || doc.ErrorMessage == "" {
			doc.ErrorMessage = string(res.Payload)
		}
		return migrations.Result{}, fmt.Errorf("invoke %s: %s", fn, doc.ErrorMessage)
	}
	var r migrations.Result
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		return migrations.Result{}, fmt.Errorf("invoke %s: answer %q: %w", fn, res.Payload, err)
	}
	return r, nil
}

// checkSchema asks the migrator for the schema version (read-only).
func checkSchema(ctx context.Context, api *lambda.Client, migrator string) Result {
	const what = "schema"
	r, err := invoke(ctx, api, migrator, migrations.Event{Action: migrations.ActionVersion})
	if err != nil {
		return fail(what, "%v", err)
	}
	latest := migrations.Latest()
	switch {
	case r.Dirty:
		return fail(what, "version %d is dirty: %v", r.Version, migrations.DirtyAt(r.Version))
	case r.Version < latest:
		return fail(what, "version %d, behind this checkout's latest migration %d: run pulumi up", r.Version, latest)
	case r.Version > latest:
		return ok(what, "version %d (clean), ahead of this checkout's %d: a newer checkout deployed it", r.Version, latest)
	}
	return ok(what, "version %d (clean), this checkout's latest", r.Version)
}

// probeEmail is the probe's address; example.com is reserved for
// documentation (RFC 2606), so the row can never reach a real person.
const probeEmail = "deploycheck@example.com"

// checkProbe submits one record with a fresh idempotency key to the API
// and asks the migrator, which already reaches the database from inside
// the VPC, until the row is stored.
func checkProbe(ctx context.Context, c Clients, o Options, apiURL, region, migrator string) Result {
	key, err := probeKey()
	if err != nil {
		return fail("probe", "%v", err)
	}
	what := "probe " + key
	body, _ := json.Marshal(map[string]string{"name": "Sluice deploy check", "email": probeEmail, "idempotency_key": key})
	var signRegion string
	if o.Sign {
		signRegion = region
	}
	messageID, err := submit(ctx, c, signRegion, apiURL, body)
	if err != nil {
		return fail(what, "%v", err)
	}
	start := time.Now()
	for {
		r, err := invoke(ctx, c.Lambda, migrator, migrations.Event{Action: migrations.ActionLookup, Key: key})
		if err != nil {
			return fail(what, "accepted as message %s, then the lookup failed: %v", messageID, err)
		}
		if r.Stored != nil && *r.Stored {
			// The consumer logged in through the proxy as the application
			// user: the proxy read that user's secret and MySQL accepted
			// its plugin, which settles both open questions.
			return ok(what, "POST %s answered 200 (message %s); stored in users after %s, so the proxy reads its secrets and logs in as the application user (neither %s nor %s is needed)",
				apiURL, messageID, time.Since(start).Round(time.Second), proxyhealth.SettingSecretsManagerEndpoint, proxyhealth.SettingAppUserAuthPlugin)
		}
		if time.Since(start)+o.ProbeEvery > o.ProbeWait {
			return fail(what, "accepted as message %s but not stored within %s: look at the consumer's log group for 1045 or 9501 (if the consumer cannot log in through the proxy, %s: mysql_native_password is the fallback), the queue's ApproximateNumberOfMessagesVisible and the DLQ (operating.md)",
				messageID, o.ProbeWait, proxyhealth.SettingAppUserAuthPlugin)
		}
		select {
		case <-ctx.Done():
			return fail(what, "accepted as message %s; stopped before it was seen stored: %v", messageID, ctx.Err())
		case <-time.After(o.ProbeEvery):
		}
	}
}

// probeKey is deploycheck-<UTC time>-<random>: unique per run, and it says
// where the row came from to whoever finds it in users.
func probeKey() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("probe key: %w", err)
	}
	return "deploycheck-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b), nil
}

// submit POSTs body to url and returns the SQS message id of the answer;
// with signRegion set, signed for that region.
func submit(ctx context.Context, c Clients, signRegion string, url string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signRegion != "" {
		if err := signRequest(ctx, c.Credentials, req, body, signRegion); err != nil {
			return "", err
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return "", fmt.Errorf("POST %s: %d %s: the route requires authorization: with apiAuth AWS_IAM run with -sign; with JWT run with -probe=false", url, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var answer struct {
		SendMessageResponse struct {
			SendMessageResult struct{ MessageId string }
		}
	}
	if err := json.Unmarshal(raw, &answer); err != nil || answer.SendMessageResponse.SendMessageResult.MessageId == "" {
		return "", fmt.Errorf("POST %s: 200 without a MessageId: %s", url, bytes.TrimSpace(raw))
	}
	return answer.SendMessageResponse.SendMessageResult.MessageId, nil
}

// signRequest signs req for API Gateway's AWS_IAM authorization
// (service execute-api).
func signRequest(ctx context.Context, creds aws.CredentialsProvider, req *http.Request, body []byte, region string) error {
	if creds == nil {
		return errors.New("-sign: no AWS credentials")
	}
	cr, err := creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("-sign: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, cr, req, hex.EncodeToString(sum[:]), "execute-api", region, time.Now()); err != nil {
		return fmt.Errorf("-sign: %w", err)
	}
	return nil
}
