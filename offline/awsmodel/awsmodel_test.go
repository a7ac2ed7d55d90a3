package awsmodel

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestReplaces(t *testing.T) {
	crud := resource.PropertyMap{"lifecycleScope": resource.NewProperty("CRUD")}
	tests := []struct {
		typ     string
		changed []string
		news    resource.PropertyMap
		want    []string
	}{
		{"aws:lambda/invocation:Invocation", []string{"triggers"}, nil, []string{"triggers"}},
		{"aws:lambda/invocation:Invocation", []string{"input"}, nil, []string{"input"}},
		{"aws:lambda/invocation:Invocation", []string{"input"}, crud, nil},
		{"aws:lambda/invocation:Invocation", []string{"terraformKey"}, nil, nil},
		{"aws:rds/instance:Instance", []string{"identifier", "instanceClass", "deletionProtection"}, nil, nil},
		{"aws:rds/instance:Instance", []string{"username", "allocatedStorage"}, nil, []string{"username"}},
		{"aws:lambda/eventSourceMapping:EventSourceMapping", []string{"batchSize", "scalingConfig", "functionName"}, nil, nil},
		{"aws:lambda/eventSourceMapping:EventSourceMapping", []string{"eventSourceArn"}, nil, []string{"eventSourceArn"}},
		{"aws:secretsmanager/secretVersion:SecretVersion", []string{"secretString"}, nil, []string{"secretString"}},
		{"aws:lambda/function:Function", []string{"code", "memorySize", "environment"}, nil, nil},
		{"aws:lambda/function:Function", []string{"name"}, nil, []string{"name"}},
		{"aws:rds/proxyTarget:ProxyTarget", []string{"dbInstanceIdentifier"}, nil, []string{"dbInstanceIdentifier"}},
		{"aws:foo/bar:Bar", []string{"anything"}, nil, nil},
	}
	for _, tt := range tests {
		if got := Replaces(tt.typ, tt.changed, tt.news); !slices.Equal(got, tt.want) {
			t.Errorf("Replaces(%s, %v) = %v, want %v", tt.typ, tt.changed, got, tt.want)
		}
	}
}

func TestCheckDelete(t *testing.T) {
	const instance = "aws:rds/instance:Instance"
	props := func(kv ...any) resource.PropertyMap {
		m := resource.PropertyMap{"identifier": resource.NewProperty("db-1")}
		for i := 0; i < len(kv); i += 2 {
			m[resource.PropertyKey(kv[i].(string))] = resource.NewPropertyValue(kv[i+1])
		}
		return m
	}
	tests := []struct {
		name  string
		typ   string
		state resource.PropertyMap
		want  string // part of the error; "" for none
	}{
		{"protected", instance, props("deletionProtection", true, "skipFinalSnapshot", true), "Cannot delete protected DB Instance"},
		{"unprotected, no snapshot", instance, props("deletionProtection", false, "skipFinalSnapshot", true), ""},
		{"snapshot without identifier", instance, props("skipFinalSnapshot", false), "final_snapshot_identifier is required"},
		{"snapshot with identifier", instance, props("skipFinalSnapshot", false, "finalSnapshotIdentifier", "db-final"), ""},
		{"other type", "aws:sqs/queue:Queue", props("deletionProtection", true), ""},
	}
	for _, tt := range tests {
		err := CheckDelete(tt.typ, tt.state)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: CheckDelete = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestAutoName(t *testing.T) {
	const queue = "aws:sqs/queue:Queue"
	key, a := AutoName(queue, "q", resource.PropertyMap{}, nil)
	_, again := AutoName(queue, "q", resource.PropertyMap{}, nil)
	_, seeded := AutoName(queue, "q", resource.PropertyMap{}, []byte{1, 2, 3})
	if key != "name" || a != again || !strings.HasPrefix(a, "q-") || len(a) != len("q-")+7 {
		t.Errorf("AutoName without seed = %s %q, %q", key, a, again)
	}
	if seeded == a || !strings.HasPrefix(seeded, "q-") {
		t.Errorf("AutoName with a seed = %q (without: %q)", seeded, a)
	}
	if k, _ := AutoName(queue, "q", resource.PropertyMap{"name": resource.NewProperty("fixed")}, nil); k != "" {
		t.Error("a given name was replaced")
	}
	if k, _ := AutoName("aws:lambda/invocation:Invocation", "x", resource.PropertyMap{}, nil); k != "" {
		t.Error("a type without a name property got one")
	}
}

type echo struct{ calls int }

func (e *echo) Invoke(function string, payload []byte) ([]byte, error) {
	e.calls++
	if string(payload) == "fail" {
		return nil, &FunctionError{Function: function, Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}
	}
	return append([]byte(function+":"), payload...), nil
}

func TestCreate(t *testing.T) {
	lambda := &echo{}
	m := Model{Region: "eu-west-1", Lambda: lambda}
	q, err := m.Create("aws:sqs/queue:Queue", "q", resource.PropertyMap{})
	if err != nil {
		t.Fatal(err)
	}
	name := q.Outputs["name"].StringValue()
	if q.ID != "https://sqs.eu-west-1.amazonaws.com/123456789012/"+name || q.Outputs["arn"].StringValue() != "arn:aws:sqs:eu-west-1:123456789012:"+name || !q.Modelled {
		t.Errorf("queue %s: %v", q.ID, q.Outputs)
	}

	// Unique changes what AWS generates, not what names derive from.
	vpc1, _ := m.Create("aws:ec2/vpc:Vpc", "v", resource.PropertyMap{})
	m.Unique = "other"
	vpc2, _ := m.Create("aws:ec2/vpc:Vpc", "v", resource.PropertyMap{})
	q2, _ := m.Create("aws:sqs/queue:Queue", "q", resource.PropertyMap{})
	if vpc1.ID == vpc2.ID || q2.ID != q.ID {
		t.Errorf("with Unique: vpc %s → %s, queue %s → %s", vpc1.ID, vpc2.ID, q.ID, q2.ID)
	}

	inv, err := m.Create("aws:lambda/invocation:Invocation", "up", resource.PropertyMap{
		"functionName": resource.NewProperty("fn"),
		"input":        resource.MakeSecret(resource.NewProperty(`{"action":"up"}`)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Outputs["result"].StringValue(); got != `fn:{"action":"up"}` || !strings.HasPrefix(inv.ID, "fn_$LATEST_") {
		t.Errorf("invocation %s result %q", inv.ID, got)
	}
	_, err = m.Create("aws:lambda/invocation:Invocation", "up", resource.PropertyMap{
		"functionName": resource.NewProperty("fn"), "input": resource.NewProperty("fail"),
	})
	var fe *FunctionError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "Lambda function (fn) returned error: ({\"errorMessage\":\"boom\"") {
		t.Errorf("a failing function: %v", err)
	}

	db, _ := m.Create("aws:rds/instance:Instance", "db", resource.PropertyMap{"manageMasterUserPassword": resource.NewProperty(true)})
	secrets := db.Outputs["masterUserSecrets"].ArrayValue()
	if len(secrets) != 1 || !strings.HasPrefix(secrets[0].ObjectValue()["secretArn"].StringValue(), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-") {
		t.Errorf("managed master secret %v", secrets)
	}
	if x, _ := m.Create("aws:foo/bar:Bar", "x", resource.PropertyMap{}); x.Modelled {
		t.Error("an unknown type reported as modelled")
	}
}

func TestPlanned(t *testing.T) {
	lambda := &echo{}
	m := Model{Region: "ap-northeast-1", Lambda: lambda}
	in := resource.PropertyMap{
		"name":    resource.NewProperty("q-1234567"),
		"policy":  resource.MakeComputed(resource.NewProperty("")),
		"kmsData": resource.MakeSecret(resource.NewProperty("s")),
	}
	p := m.Planned("aws:sqs/queue:Queue", "q", in)
	for _, k := range []resource.PropertyKey{"arn", "url"} {
		if !p[k].IsComputed() {
			t.Errorf("planned %s = %v, want unknown", k, p[k])
		}
	}
	if p["name"].StringValue() != "q-1234567" || !p["policy"].IsComputed() || !p["kmsData"].IsSecret() {
		t.Errorf("planned inputs changed: %v", p)
	}
	inv := m.Planned("aws:lambda/invocation:Invocation", "up", resource.PropertyMap{"functionName": resource.NewProperty("fn"), "input": resource.NewProperty("{}")})
	if !inv["result"].IsComputed() || lambda.calls != 0 {
		t.Errorf("planned invocation %v after %d calls: a preview invokes nothing", inv, lambda.calls)
	}
}

func TestInvoke(t *testing.T) {
	m := Model{Region: "ap-northeast-1"}
	tests := []struct {
		tok  string
		args resource.PropertyMap
		want map[string]any
	}{
		{"aws:index/getCallerIdentity:getCallerIdentity", nil, map[string]any{"accountId": Account, "arn": "arn:aws:iam::123456789012:user/" + CallerUser}},
		{"aws:index/getRegion:getRegion", nil, map[string]any{"name": "ap-northeast-1", "endpoint": "ec2.ap-northeast-1.amazonaws.com"}},
		{"aws:index/getRegion:getRegion", resource.PropertyMap{"name": resource.NewProperty("us-east-1")}, map[string]any{"name": "us-east-1"}},
		{"aws:index/getPartition:getPartition", nil, map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"}},
		{"aws:index/getAvailabilityZones:getAvailabilityZones", nil, map[string]any{
			"names":   []any{"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"},
			"zoneIds": []any{"apne1-az1", "apne1-az2", "apne1-az3"},
		}},
	}
	for _, tt := range tests {
		out, err := m.Invoke(tt.tok, tt.args)
		if err != nil {
			t.Fatalf("%s: %v", tt.tok, err)
		}
		got := out.Mappable()
		for k, want := range tt.want {
			if !resource.NewPropertyValue(got[k]).DeepEquals(resource.NewPropertyValue(want)) {
				t.Errorf("%s: %s = %v, want %v", tt.tok, k, got[k], want)
			}
		}
	}
	if _, err := m.Invoke("aws:ec2/getVpc:getVpc", nil); err == nil || !strings.Contains(err.Error(), "aws:ec2/getVpc:getVpc") {
		t.Errorf("an unmodelled data source: %v", err)
	}
}
