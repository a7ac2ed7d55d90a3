package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// standIn answers the four AWS calls the check makes, on loopback, in the
// wire formats of the APIs (the SDK clients reach it through
// AWS_ENDPOINT_URL_RDS and AWS_ENDPOINT_URL_LAMBDA). It stands in for the
// cloud only: what it answers is set by each test; Invoke is handed to a
// function the test supplies (in the end-to-end test, the real migrator
// under the Lambda Runtime Interface Emulator).
type standIn struct {
	mu sync.Mutex
	// Targets per proxy name.
	targets map[string][]target
	// functions by name: State (and StateReasonCode when not Active).
	functions map[string]function
	// mappings by function name.
	mappings map[string][]mapping
	// invoke runs one invocation: the payload the function returned, and
	// whether it failed (the X-Amz-Function-Error header).
	invoke func(function string, payload []byte) (out []byte, failed bool)
	calls  []string
}

type target struct {
	ID, State, Reason, Description string
}

type function struct {
	State, StateReasonCode, StateReason string
}

type mapping struct {
	UUID, State, EventSourceArn string
}

func newStandIn(t *testing.T) (*standIn, *httptest.Server) {
	s := &standIn{targets: map[string][]target{}, functions: map[string]function{}, mappings: map[string][]mapping{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	const fns = "/2015-03-31/functions/"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		s.rds(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, fns) && !strings.Contains(strings.TrimPrefix(r.URL.Path, fns), "/"):
		s.getFunction(w, strings.TrimPrefix(r.URL.Path, fns))
	case r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/2015-03-31/event-source-mappings":
		s.listMappings(w, r.URL.Query().Get("FunctionName"))
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, fns) && strings.HasSuffix(r.URL.Path, "/invocations"):
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, fns), "/invocations")
		s.calls = append(s.calls, "Invoke "+name+" "+string(body))
		invoke := s.invoke
		s.mu.Unlock()
		out, failed := invoke(name, body)
		s.mu.Lock()
		// Lambda Invoke: 200 with the function's payload; a function error
		// sets X-Amz-Function-Error
		// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
		if failed {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	default:
		http.Error(w, "stand-in: no such call "+r.Method+" "+r.URL.String(), http.StatusNotFound)
	}
}

// rds answers the RDS Query API (form-encoded Action; XML answer with the
// 2014-10-31 namespace). Only DescribeDBProxyTargets
// (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBProxyTargets.html),
// whose targets carry TargetHealth
// (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_TargetHealth.html).
func (s *standIn) rds(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := parseForm(string(body))
	if err != nil || form["Action"] != "DescribeDBProxyTargets" {
		http.Error(w, "stand-in: unexpected RDS call "+string(body), http.StatusBadRequest)
		return
	}
	name := form["DBProxyName"]
	s.calls = append(s.calls, "DescribeDBProxyTargets "+name)
	ts, known := s.targets[name]
	w.Header().Set("Content-Type", "text/xml")
	if !known {
		// DBProxyNotFoundFault, HTTP 404.
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>DBProxyNotFoundFault</Code><Message>DBProxy %s is not found.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, xmlText(name))
		return
	}
	var members strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&members, "<member><RdsResourceId>%s</RdsResourceId><Type>RDS_INSTANCE</Type><Port>3306</Port><TargetHealth><State>%s</State>", xmlText(t.ID), t.State)
		if t.Reason != "" {
			fmt.Fprintf(&members, "<Reason>%s</Reason>", t.Reason)
		}
		if t.Description != "" {
			fmt.Fprintf(&members, "<Description>%s</Description>", xmlText(t.Description))
		}
		members.WriteString("</TargetHealth></member>")
	}
	fmt.Fprintf(w, `<DescribeDBProxyTargetsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBProxyTargetsResult><Targets>%s</Targets></DescribeDBProxyTargetsResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DescribeDBProxyTargetsResponse>`, members.String())
}

// getFunction answers Lambda GetFunction with the function's state
// (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html;
// states: https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html).
func (s *standIn) getFunction(w http.ResponseWriter, name string) {
	s.calls = append(s.calls, "GetFunction "+name)
	f, known := s.functions[name]
	if !known {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		writeJSON(w, http.StatusNotFound, map[string]string{"Type": "User", "message": "Function not found: " + name})
		return
	}
	cfg := map[string]any{"FunctionName": name, "State": f.State, "LastUpdateStatus": "Successful"}
	if f.StateReasonCode != "" {
		cfg["StateReasonCode"], cfg["StateReason"] = f.StateReasonCode, f.StateReason
	}
	writeJSON(w, http.StatusOK, map[string]any{"Configuration": cfg})
}

// listMappings answers Lambda ListEventSourceMappings filtered by function
// (https://docs.aws.amazon.com/lambda/latest/api/API_ListEventSourceMappings.html).
func (s *standIn) listMappings(w http.ResponseWriter, fn string) {
	s.calls = append(s.calls, "ListEventSourceMappings "+fn)
	var out []map[string]string
	for _, m := range s.mappings[fn] {
		out = append(out, map[string]string{"UUID": m.UUID, "State": m.State, "EventSourceArn": m.EventSourceArn, "FunctionArn": "arn:aws:lambda:ap-northeast-1:123456789012:function:" + fn})
	}
	writeJSON(w, http.StatusOK, map[string]any{"EventSourceMappings": out})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func parseForm(body string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(body, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, err := unescape(k)
		if err != nil {
			return nil, err
		}
		if out[k], err = unescape(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func unescape(s string) (string, error) { return url.QueryUnescape(s) }
