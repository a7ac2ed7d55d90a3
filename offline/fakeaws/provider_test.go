package fakeaws

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/infra/lambdabuild"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/testkit/testenv"
)

func urn(typ, name string) string { return "urn:pulumi:dev::sluice::" + typ + "::" + name }

func mustMarshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(m)
	if err != nil {
		t.Fatalf("marshal %v: %v", m, err)
	}
	return s
}

func mustUnmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal(s)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return m
}

func check(t *testing.T, srv *Server, typ, name string, olds, news resource.PropertyMap, seed []byte) resource.PropertyMap {
	t.Helper()
	resp, err := srv.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn(typ, name), Olds: mustMarshal(t, olds), News: mustMarshal(t, news), RandomSeed: seed})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return mustUnmarshal(t, resp.GetInputs())
}

func TestCheckAutonames(t *testing.T) {
	srv := NewServer("6.83.4", Config{})
	const queue = "aws:sqs/queue:Queue"
	first := check(t, srv, queue, "q", nil, resource.PropertyMap{}, []byte("seed-1"))
	name := first["name"].StringValue()
	if !strings.HasPrefix(name, "q-") || len(name) != len("q-")+7 || !defaulted(first, "name") {
		t.Fatalf("autoname %q, defaults %v", name, first[defaultsKey])
	}
	// A later run keeps the generated name, whatever its seed.
	if again := check(t, srv, queue, "q", first, resource.PropertyMap{}, []byte("seed-2")); again["name"].StringValue() != name {
		t.Errorf("the name changed between runs: %q → %q", name, again["name"].StringValue())
	}
	// A new resource (no olds) with another seed gets another name.
	if other := check(t, srv, queue, "q", nil, resource.PropertyMap{}, []byte("seed-2")); other["name"].StringValue() == name {
		t.Error("two seeds gave one name")
	}
	given := check(t, srv, queue, "q", nil, resource.PropertyMap{"name": resource.NewProperty("fixed")}, nil)
	if given["name"].StringValue() != "fixed" || defaulted(given, "name") {
		t.Errorf("a given name became %v", given)
	}
	unknown := check(t, srv, queue, "q", nil, resource.PropertyMap{"name": resource.MakeComputed(resource.NewProperty(""))}, nil)
	if !unknown["name"].IsComputed() {
		t.Errorf("an unknown name became %v", unknown["name"])
	}
}

func TestDiff(t *testing.T) {
	srv := NewServer("6.83.4", Config{})
	named := resource.PropertyMap{"name": resource.NewProperty("fn"), "memorySize": resource.NewProperty(128.0)}
	autonamed := resource.PropertyMap{"name": resource.NewProperty("q-1234567"), defaultsKey: resource.NewProperty([]resource.PropertyValue{resource.NewProperty("name")})}
	with := func(m resource.PropertyMap, k string, v resource.PropertyValue) resource.PropertyMap {
		c := m.Copy()
		c[resource.PropertyKey(k)] = v
		return c
	}
	inv := resource.PropertyMap{
		"functionName": resource.NewProperty("migrator"),
		"input":        resource.MakeSecret(resource.NewProperty(`{"appPassword":"a"}`)),
		"triggers":     resource.NewProperty(resource.PropertyMap{"appPassword": resource.NewProperty("1")}),
	}
	tests := []struct {
		name     string
		typ      string
		olds     resource.PropertyMap
		news     resource.PropertyMap
		want     pulumirpc.DiffResponse_DiffChanges
		diffs    []string
		replaces []string
		dbr      bool
	}{
		{"same", "aws:lambda/function:Function", named, named.Copy(), pulumirpc.DiffResponse_DIFF_NONE, nil, nil, false},
		{"in place", "aws:lambda/function:Function", named, with(named, "memorySize", resource.NewProperty(256.0)), pulumirpc.DiffResponse_DIFF_SOME, []string{"memorySize"}, nil, false},
		{"named replace deletes first", "aws:lambda/function:Function", named, with(named, "name", resource.NewProperty("fn2")), pulumirpc.DiffResponse_DIFF_SOME, []string{"name"}, []string{"name"}, true},
		{"autonamed replace creates first", "aws:sqs/queue:Queue", autonamed, with(autonamed, "fifoQueue", resource.NewProperty(true)), pulumirpc.DiffResponse_DIFF_SOME, []string{"fifoQueue"}, []string{"fifoQueue"}, false},
		{"same secret input", "aws:lambda/invocation:Invocation", inv, inv.Copy(), pulumirpc.DiffResponse_DIFF_NONE, nil, nil, false},
		{"new trigger and input", "aws:lambda/invocation:Invocation", inv,
			with(with(inv, "triggers", resource.NewProperty(resource.PropertyMap{"appPassword": resource.NewProperty("2")})), "input", resource.MakeSecret(resource.NewProperty(`{"appPassword":"b"}`))),
			pulumirpc.DiffResponse_DIFF_SOME, []string{"input", "triggers"}, []string{"input", "triggers"}, false},
		{"batch size", "aws:lambda/eventSourceMapping:EventSourceMapping", resource.PropertyMap{"batchSize": resource.NewProperty(10.0)},
			resource.PropertyMap{"batchSize": resource.NewProperty(20.0)}, pulumirpc.DiffResponse_DIFF_SOME, []string{"batchSize"}, nil, false},
		{"now unknown", "aws:lambda/eventSourceMapping:EventSourceMapping", resource.PropertyMap{"eventSourceArn": resource.NewProperty("arn:q")},
			resource.PropertyMap{"eventSourceArn": resource.MakeComputed(resource.NewProperty(""))}, pulumirpc.DiffResponse_DIFF_SOME, []string{"eventSourceArn"}, []string{"eventSourceArn"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn: urn(tt.typ, "r"), OldInputs: mustMarshal(t, tt.olds), News: mustMarshal(t, tt.news),
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetChanges() != tt.want || !slices.Equal(resp.GetDiffs(), tt.diffs) || !slices.Equal(resp.GetReplaces(), tt.replaces) || resp.GetDeleteBeforeReplace() != tt.dbr {
				t.Errorf("Diff = %v diffs %v replaces %v dbr %v; want %v %v %v %v", resp.GetChanges(), resp.GetDiffs(), resp.GetReplaces(),
					resp.GetDeleteBeforeReplace(), tt.want, tt.diffs, tt.replaces, tt.dbr)
			}
		})
	}
}

func TestPreviewCreatesNothing(t *testing.T) {
	srv := NewServer("6.83.4", Config{})
	in := resource.PropertyMap{
		"name":          resource.NewProperty("ingest-1234567"),
		"redrivePolicy": resource.MakeComputed(resource.NewProperty("")),
		"token":         resource.MakeSecret(resource.NewProperty("s3cr3t")),
	}
	resp, err := srv.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn("aws:sqs/queue:Queue", "ingest"), Properties: mustMarshal(t, in), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	got := mustUnmarshal(t, resp.GetProperties())
	if resp.GetId() != "" || !got["arn"].IsComputed() || !got["url"].IsComputed() || !got["redrivePolicy"].IsComputed() || !got["token"].IsSecret() {
		t.Errorf("preview create: id %q, %v", resp.GetId(), got)
	}
	// Outside a preview, a create needs a state directory.
	_, err = srv.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn("aws:sqs/queue:Queue", "ingest"), Properties: mustMarshal(t, in)})
	if err == nil || !strings.Contains(err.Error(), EnvState) {
		t.Errorf("create without a state directory: %v", err)
	}
}

func TestCreateUpdateDeleteRemember(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer("6.83.4", Config{StateDir: dir})
	ctx := context.Background()
	const typ = "aws:lambda/eventSourceMapping:EventSourceMapping"
	in := resource.PropertyMap{"batchSize": resource.NewProperty(10.0), "functionName": resource.NewProperty("arn:aws:lambda:ap-northeast-1:123456789012:function:fn")}
	created, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typ, "m"), Properties: mustMarshal(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	out := mustUnmarshal(t, created.GetProperties())
	st, _ := OpenStore(dir)
	if recs, _ := st.List(typ); len(recs) != 1 || recs[0].ID != created.GetId() || recs[0].Outputs["uuid"].StringValue() != created.GetId() {
		t.Fatalf("store after create: %v", recs)
	}
	news := in.Copy()
	news["batchSize"] = resource.NewProperty(20.0)
	updated, err := srv.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn(typ, "m"), Id: created.GetId(),
		Olds: created.GetProperties(), OldInputs: mustMarshal(t, in), News: mustMarshal(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	up := mustUnmarshal(t, updated.GetProperties())
	if up["batchSize"].NumberValue() != 20 || up["uuid"].StringValue() != out["uuid"].StringValue() || up["arn"].StringValue() != out["arn"].StringValue() {
		t.Errorf("update: %v (created %v)", up, out)
	}
	if _, err := srv.Delete(ctx, &pulumirpc.DeleteRequest{Urn: urn(typ, "m"), Id: created.GetId(), Properties: updated.GetProperties()}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := st.List(""); len(recs) != 0 {
		t.Errorf("store after delete: %v", recs)
	}
}

func TestDeleteProtectedInstanceFails(t *testing.T) {
	dir := t.TempDir()
	srv := NewServer("6.83.4", Config{StateDir: dir})
	state := resource.PropertyMap{"identifier": resource.NewProperty("db-1"), "deletionProtection": resource.NewProperty(true)}
	_, err := srv.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urn("aws:rds/instance:Instance", "db"), Id: "db-X", Properties: mustMarshal(t, state)})
	if err == nil || !strings.Contains(err.Error(), "Cannot delete protected DB Instance") {
		t.Errorf("delete of a protected instance: %v", err)
	}
}

func TestStoreKeepsSecrets(t *testing.T) {
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := Record{Type: "aws:secretsmanager/secretVersion:SecretVersion", ID: "arn|v1", Outputs: resource.PropertyMap{
		"secretString": resource.MakeSecret(resource.NewProperty(`{"username":"u"}`)),
		"n":            resource.NewProperty(3.0),
	}}
	if err := st.Put(r); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Get(r.Type, r.ID)
	if err != nil || !ok || !got.Outputs.DeepEquals(r.Outputs) || !got.Outputs["secretString"].IsSecret() {
		t.Errorf("Get = %v %v %v", got.Outputs, ok, err)
	}
}

func TestInvokeUnknownDataSourceFailsWithItsName(t *testing.T) {
	srv := NewServer("6.83.4", Config{})
	const tok = "aws:ec2/getVpc:getVpc"
	_, err := srv.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tok})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), tok) {
		t.Fatalf("Invoke(%s) = %v, want Unimplemented naming the token", tok, err)
	}
	resp, err := srv.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "aws:index/getCallerIdentity:getCallerIdentity"})
	if err != nil || mustUnmarshal(t, resp.GetReturn())["accountId"].StringValue() != "123456789012" {
		t.Errorf("getCallerIdentity = %v, %v", resp, err)
	}
}

// TestInvocationRunsTheFunctionsBootstrap creates, through the provider
// protocol, what an invocation needs (an app secret, a proxy with its
// target, an arm64 function) and invokes the function: its own bootstrap
// runs under aws-lambda-rie through qemu, with its environment except the
// database address and auth, and a function error fails the create.
func TestInvocationRunsTheFunctionsBootstrap(t *testing.T) {
	testenv.NeedsQemu(t)
	testenv.NeedsLambdaRIE(t)
	ctx := context.Background()
	dir := t.TempDir()
	const backing = "127.0.0.1:33061"
	srv := NewServer("6.83.4", Config{StateDir: dir, MySQL: dbconn.Config{Endpoint: backing, Name: "mysql", User: "root", Auth: dbconn.AuthPassword}})
	create := func(typ, name string, in resource.PropertyMap) (string, resource.PropertyMap, error) {
		resp, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typ, name), Properties: mustMarshal(t, in)})
		if err != nil {
			return "", nil, err
		}
		return resp.GetId(), mustUnmarshal(t, resp.GetProperties()), nil
	}
	must := func(id string, out resource.PropertyMap, err error) resource.PropertyMap {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	const secretARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app-AbCdEf"
	must(create("aws:secretsmanager/secretVersion:SecretVersion", "app-1", resource.PropertyMap{
		"secretId":     resource.NewProperty(secretARN),
		"secretString": resource.MakeSecret(resource.NewProperty(`{"username":"app","password":"pw-1"}`)),
	}))
	proxy := must(create("aws:rds/proxy:Proxy", "px", resource.PropertyMap{
		"name":  resource.NewProperty("px-1234567"),
		"auths": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{"secretArn": resource.NewProperty(secretARN)})}),
	}))
	must(create("aws:rds/proxyTarget:ProxyTarget", "tg", resource.PropertyMap{
		"dbProxyName": resource.NewProperty("px-1234567"), "targetGroupName": resource.NewProperty("default"),
		"dbInstanceIdentifier": resource.NewProperty("db-1"),
	}))

	archive, err := lambdabuild.Build(ctx, lambdabuild.Options{Package: "./offline/fakeaws/testdata/echo", Dir: ".", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	code, err := resource.NewPathArchive(archive.Path)
	if err != nil {
		t.Fatal(err)
	}
	fn := must(create("aws:lambda/function:Function", "echo", resource.PropertyMap{
		"name":           resource.NewProperty("echo-fn"),
		"architectures":  resource.NewProperty([]resource.PropertyValue{resource.NewProperty("arm64")}),
		"code":           resource.NewProperty(code),
		"sourceCodeHash": resource.NewProperty(archive.SourceCodeHash),
		"timeout":        resource.NewProperty(30.0),
		"environment": resource.NewProperty(resource.PropertyMap{"variables": resource.NewProperty(resource.PropertyMap{
			dbconn.EnvEndpoint: resource.NewProperty(proxy["endpoint"].StringValue() + ":3306"),
			dbconn.EnvUser:     resource.NewProperty("app"),
			dbconn.EnvAuth:     resource.NewProperty("iam"),
			dbconn.EnvTLS:      resource.NewProperty("true"),
			"SLUICE_KEPT":      resource.NewProperty("kept"),
		})}),
	}))
	if fn["codeSha256"].StringValue() != archive.SourceCodeHash {
		t.Errorf("Lambda stored code %s, the archive is %s", fn["codeSha256"].StringValue(), archive.SourceCodeHash)
	}

	inv := must(create("aws:lambda/invocation:Invocation", "up", resource.PropertyMap{
		"functionName": resource.NewProperty("echo-fn"),
		"input":        resource.MakeSecret(resource.NewProperty(`{"env":["SLUICE_DB_ENDPOINT","SLUICE_DB_AUTH","SLUICE_DB_PASSWORD","SLUICE_DB_TLS","SLUICE_KEPT","AWS_LAMBDA_FUNCTION_NAME"]}`)),
	}))
	var env map[string]string
	if err := json.Unmarshal([]byte(inv["result"].StringValue()), &env); err != nil {
		t.Fatalf("result %q: %v", inv["result"].StringValue(), err)
	}
	want := map[string]string{"SLUICE_DB_ENDPOINT": backing, "SLUICE_DB_AUTH": "password", "SLUICE_DB_PASSWORD": "pw-1",
		"SLUICE_DB_TLS": "false", "SLUICE_KEPT": "kept", "AWS_LAMBDA_FUNCTION_NAME": "echo-fn"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("the function saw %s=%q, want %q", k, env[k], v)
		}
	}

	_, _, err = create("aws:lambda/invocation:Invocation", "fail", resource.PropertyMap{
		"functionName": resource.NewProperty("echo-fn"),
		"input":        resource.NewProperty(`{"fail":"migration 6 failed: bad SQL"}`),
	})
	if err == nil || !strings.Contains(err.Error(), "Lambda function (echo-fn) returned error") || !strings.Contains(err.Error(), "migration 6 failed: bad SQL") {
		t.Errorf("a failing function: %v", err)
	}

	runs, logs, err := Invocations(dir, "echo-fn")
	if err != nil || len(runs) != 2 {
		t.Fatalf("%d invocations recorded (%v)", len(runs), err)
	}
	if runs[0].Machine != "EM_AARCH64" || filepath.Base(runs[0].Command[0]) != QEMUAarch64 || runs[0].CodeSha256 != archive.SourceCodeHash ||
		runs[0].FunctionError != "" || runs[1].FunctionError == "" || runs[0].Database != "db-1" {
		t.Errorf("invocations %+v\n%s", runs, logs[1])
	}
	if strings.Contains(logs[0], "pw-1") {
		t.Error("the password is in the function's log")
	}
}
