package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/migrations"
)

// awsEnv points the SDK at the stand-in with dummy credentials and
// nothing read from the user's files.
func awsEnv(t *testing.T, endpoint string) {
	t.Setenv("AWS_ENDPOINT_URL_RDS", endpoint)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

const (
	proxyName = "sluice-dev-proxy"
	consumer  = "sluice-dev-consumer"
	migrator  = "sluice-dev-migrator"
)

func outputsFor(apiURL string) Outputs {
	return Outputs{outAPIURL: apiURL, outProxyName: proxyName, outConsumerFunction: consumer,
		outMigratorFunction: migrator, outRegion: "ap-northeast-1", "dbName": "sluice", "schemaVersion": 5}
}

// healthy sets the stand-in to a working stack whose migrator answers
// version with v and sees the probe stored on the second lookup.
func healthy(s *standIn, v int, dirty bool) {
	s.targets[proxyName] = []target{{ID: "sluice-dev-db", State: "AVAILABLE"}}
	s.functions[consumer] = function{State: "Active"}
	s.functions[migrator] = function{State: "Active"}
	s.mappings[consumer] = []mapping{{UUID: "6d9bce8e-836b-442c-8070-74e77903c815", State: "Enabled", EventSourceArn: "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-intake"}}
	lookups := 0
	s.invoke = func(fn string, payload []byte) ([]byte, bool) {
		var ev migrations.Event
		if fn != migrator || json.Unmarshal(payload, &ev) != nil {
			return []byte(`{"errorMessage":"unexpected invocation","errorType":"errorString"}`), true
		}
		switch ev.Action {
		case migrations.ActionVersion:
			return []byte(fmt.Sprintf(`{"action":"version","version":%d,"dirty":%t}`, v, dirty)), false
		case migrations.ActionLookup:
			lookups++
			return []byte(fmt.Sprintf(`{"action":"lookup","version":%d,"dirty":false,"stored":%t}`, v, lookups >= 2)), false
		}
		return []byte(`{"errorMessage":"the check may only send read-only actions","errorType":"errorString"}`), true
	}
}

// api answers POST /submit as API Gateway's SQS-SendMessage integration
// does, with status code; it records the bodies.
func api(t *testing.T, code int, bodies *[]string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		*bodies = append(*bodies, b.String())
		if code != http.StatusOK {
			http.Error(w, `{"message":"Forbidden"}`, code)
			return
		}
		fmt.Fprint(w, `{"SendMessageResponse":{"ResponseMetadata":{"RequestId":"r"},"SendMessageResult":{"MD5OfMessageBody":"x","MessageId":"0f2a6e62-1f7c-4b1e-9d6e-2b1c7c1d9e01"}}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/submit"
}

func runCheck(t *testing.T, out Outputs, o Options) (string, []Result) {
	t.Helper()
	c, err := newClients(context.Background(), out.str(outRegion))
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	res := Check(context.Background(), out, c, o, &w)
	return w.String(), res
}

func statuses(rs []Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Status)
	}
	return strings.Join(s, " ")
}

func TestCheck(t *testing.T) {
	latest := migrations.Latest()
	probe := Options{Probe: true, ProbeWait: time.Minute, ProbeEvery: time.Millisecond}
	tests := []struct {
		name   string
		setup  func(*standIn)
		apiRC  int
		opts   Options
		want   string   // statuses in order: proxy, migrator, consumer, mapping, schema, probe
		lines  []string // fragments of the report
		probes int      // POSTs to the API
	}{
		{name: "a working stack", setup: func(s *standIn) { healthy(s, latest, false) }, opts: probe,
			want: "ok ok ok ok ok ok", probes: 1,
			lines: []string{"ok   proxy sluice-dev-proxy target sluice-dev-db: AVAILABLE", "(neither sluice:secretsManagerEndpoint nor sluice:appUserAuthPlugin is needed)",
				"ok   function sluice-dev-migrator: Active", "ok   event source mapping 6d9bce8e-836b-442c-8070-74e77903c815 (sluice-dev-intake): Enabled",
				fmt.Sprintf("ok   schema: version %d (clean), this checkout's latest", latest), "answered 200 (message 0f2a6e62-", "stored in users after"}},
		{name: "the proxy cannot log in (item 8: caching_sha2_password)", apiRC: 200, opts: probe,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				s.targets[proxyName] = []target{{ID: "sluice-dev-db", State: "UNAVAILABLE", Reason: "AUTH_FAILURE", Description: "Proxy does not have any registered credentials."}}
			},
			want:  "FAIL ok ok ok skip skip",
			lines: []string{"FAIL proxy sluice-dev-proxy target sluice-dev-db: UNAVAILABLE (AUTH_FAILURE): Proxy does not have any registered credentials", "set sluice:appUserAuthPlugin: mysql_native_password"}},
		{name: "the proxy cannot read its secret (item 8: no NAT, no endpoint)", apiRC: 200, opts: probe,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				s.targets[proxyName] = []target{{ID: "sluice-dev-db", State: "UNAVAILABLE", Reason: "PENDING_PROXY_CAPACITY"}}
			},
			want: "FAIL ok ok ok skip skip", lines: []string{"set sluice:secretsManagerEndpoint: true"}},
		{name: "the target is still registering", apiRC: 200, opts: probe,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				s.targets[proxyName] = []target{{ID: "sluice-dev-db", State: "REGISTERING"}}
			},
			want: "FAIL ok ok ok skip skip", lines: []string{"REGISTERING: the target was just registered"}},
		{name: "no such proxy", apiRC: 200, opts: probe,
			setup: func(s *standIn) { healthy(s, latest, false); delete(s.targets, proxyName) },
			want:  "FAIL ok ok ok skip skip", lines: []string{"DBProxyNotFoundFault"}},
		{name: "a pending consumer and a disabled mapping", apiRC: 200, opts: probe, probes: 1,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				s.functions[consumer] = function{State: "Pending"}
				s.mappings[consumer][0].State = "Disabled"
			},
			want:  "ok ok FAIL FAIL ok ok",
			lines: []string{"FAIL function sluice-dev-consumer: Pending", "FAIL event source mapping 6d9bce8e-836b-442c-8070-74e77903c815 (sluice-dev-intake): Disabled"}},
		{name: "a failed function", apiRC: 200, opts: probe, probes: 1,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				s.functions[migrator] = function{State: "Failed", StateReasonCode: "SubnetOutOfIPAddresses", StateReason: "no free IP"}
			},
			want: "ok FAIL ok ok ok ok", lines: []string{"Failed (SubnetOutOfIPAddresses): no free IP"}},
		{name: "a dirty schema", apiRC: 200, opts: probe, probes: 1,
			setup: func(s *standIn) { healthy(s, 4, true) },
			want:  "ok ok ok ok FAIL ok", lines: []string{"version 4 is dirty", "migrator force 3"}},
		{name: "a schema behind this checkout", apiRC: 200, opts: probe, probes: 1,
			setup: func(s *standIn) { healthy(s, latest-1, false) },
			want:  "ok ok ok ok FAIL ok", lines: []string{"behind this checkout's latest migration"}},
		{name: "a route that needs authorization", apiRC: http.StatusForbidden, opts: probe, probes: 1,
			setup: func(s *standIn) { healthy(s, latest, false) },
			want:  "ok ok ok ok ok FAIL", lines: []string{"403", "with apiAuth AWS_IAM run with -sign"}},
		{name: "a probe that is never stored", apiRC: 200, opts: Options{Probe: true, ProbeWait: 5 * time.Millisecond, ProbeEvery: 2 * time.Millisecond}, probes: 1,
			setup: func(s *standIn) {
				healthy(s, latest, false)
				inner := s.invoke
				s.invoke = func(fn string, p []byte) ([]byte, bool) {
					out, failed := inner(fn, p)
					return bytes.Replace(out, []byte(`"stored":true`), []byte(`"stored":false`), 1), failed
				}
			},
			want: "ok ok ok ok ok FAIL", lines: []string{"but not stored within 5ms", "sluice:appUserAuthPlugin: mysql_native_password is the fallback"}},
		{name: "no probe", setup: func(s *standIn) { healthy(s, latest, false) }, opts: Options{},
			want: "ok ok ok ok ok skip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newStandIn(t)
			awsEnv(t, srv.URL)
			tc.setup(s)
			var bodies []string
			rc := tc.apiRC
			if rc == 0 {
				rc = http.StatusOK
			}
			report, res := runCheck(t, outputsFor(api(t, rc, &bodies)), tc.opts)
			if got := statuses(res); got != tc.want {
				t.Errorf("statuses %q, want %q\n%s", got, tc.want, report)
			}
			for _, l := range tc.lines {
				if !strings.Contains(report, l) {
					t.Errorf("report lacks %q:\n%s", l, report)
				}
			}
			if len(bodies) != tc.probes {
				t.Errorf("%d probes posted, want %d", len(bodies), tc.probes)
			}
			for _, b := range bodies {
				var rec map[string]string
				if err := json.Unmarshal([]byte(b), &rec); err != nil || !strings.HasPrefix(rec["idempotency_key"], "deploycheck-") || rec["email"] != probeEmail {
					t.Errorf("probe body %s: want a record with a deploycheck- idempotency key", b)
				}
			}
			// Read-only: the migrator is only ever asked for version and lookup.
			for _, c := range s.calls {
				if strings.HasPrefix(c, "Invoke") && !strings.Contains(c, `"action":"version"`) && !strings.Contains(c, `"action":"lookup"`) {
					t.Errorf("the check sent %s", c)
				}
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	s, srv := newStandIn(t)
	awsEnv(t, srv.URL)
	healthy(s, migrations.Latest(), false)
	var bodies []string
	write := func(o Outputs) string {
		p := filepath.Join(t.TempDir(), "outputs.json")
		b, _ := json.Marshal(o)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write(outputsFor(api(t, 200, &bodies)))
	partial := outputsFor("http://127.0.0.1:1/submit")
	delete(partial, outProxyName)
	for _, tc := range []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"-outputs", good, "-probe-wait", "10s"}, exitOK, "deploycheck: 6 checks passed"},
		{[]string{"-outputs", write(partial)}, exitUsage, "the stack has no output proxyName"},
		{[]string{}, exitUsage, "usage: go run ./deploycheck --stack <stack>"},
		{[]string{"-stack", "dev", "-outputs", good}, exitUsage, "usage:"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.output) {
			t.Errorf("deploycheck %q = %d\n%s%s\nwant %d and %q", tc.args, code, out.String(), errOut.String(), tc.code, tc.output)
		}
	}
	s.mappings[consumer][0].State = "Disabled"
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-outputs", good, "-probe=false"}, &out, &out); code != exitFail || !strings.Contains(out.String(), "deploycheck: 1 of 6 checks failed") {
		t.Errorf("a disabled mapping: exit %d\n%s", code, out.String())
	}
}

// TestOutputNamesAreTheStacks holds the output names read here to the
// constants infra/stack declares, without linking the Pulumi program.
func TestOutputNamesAreTheStacks(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../infra/stack/stack.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil {
				declared[v] = true
			}
		}
		return true
	})
	for _, name := range required {
		if !declared[name] {
			t.Errorf("output %q is not a string in infra/stack/stack.go", name)
		}
	}
}

// TestProbeSignedForIAMRoutes: with Sign the probe carries a SigV4
// signature for execute-api in the stack's region.
func TestProbeSignedForIAMRoutes(t *testing.T) {
	s, srv := newStandIn(t)
	awsEnv(t, srv.URL)
	healthy(s, migrations.Latest(), false)
	var auth []string
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "" {
			http.Error(w, `{"message":"Forbidden"}`, http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"SendMessageResponse":{"SendMessageResult":{"MessageId":"0f2a6e62-1f7c-4b1e-9d6e-2b1c7c1d9e01"}}}`)
	}))
	defer apiSrv.Close()
	for _, sign := range []bool{false, true} {
		auth = nil
		report, res := runCheck(t, outputsFor(apiSrv.URL+"/submit"), Options{Probe: true, Sign: sign, ProbeWait: time.Minute, ProbeEvery: time.Millisecond})
		probe := res[len(res)-1]
		if (probe.Status == "ok") != sign || len(auth) != 1 {
			t.Fatalf("sign=%t: probe %s, %d requests\n%s", sign, probe, len(auth), report)
		}
		if sign && !strings.HasPrefix(auth[0], "AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/") || sign && !strings.Contains(auth[0], "/ap-northeast-1/execute-api/aws4_request") {
			t.Errorf("Authorization %q, want SigV4 for execute-api in ap-northeast-1", auth[0])
		}
	}
}
