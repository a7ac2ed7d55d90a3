package mocks

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestURN(t *testing.T) {
	m := &Mocks{Project: "sluice", Stack: "dev"}
	root := "urn:pulumi:dev::sluice::pulumi:pulumi:Stack::sluice-dev"
	comp := m.urn(root, "sluice:queue:Queue", "q")
	if comp != "urn:pulumi:dev::sluice::sluice:queue:Queue::q" {
		t.Errorf("component URN %s", comp)
	}
	if got := m.urn(comp, "aws:sqs/queue:Queue", "q"); got != "urn:pulumi:dev::sluice::sluice:queue:Queue$aws:sqs/queue:Queue::q" {
		t.Errorf("child URN %s", got)
	}
}

func TestAWSShapes(t *testing.T) {
	m := &Mocks{Project: "sluice", Stack: "dev", Region: "ap-northeast-1"}
	newRes := func(typ, name string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
		t.Helper()
		id, out, err := m.NewResource(pulumi.MockResourceArgs{TypeToken: typ, Name: name, Inputs: inputs, Custom: true})
		if err != nil {
			t.Fatal(err)
		}
		return id, out
	}
	_, px := newRes("aws:rds/proxy:Proxy", "p", resource.PropertyMap{})
	if arn := px["arn"].StringValue(); !strings.HasPrefix(arn, "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-") || len(arn) != len("arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-")+17 {
		t.Errorf("proxy ARN %s", arn)
	}
	id, q := newRes("aws:sqs/queue:Queue", "q", resource.PropertyMap{})
	if id != q["url"].StringValue() || !strings.HasPrefix(id, "https://sqs.ap-northeast-1.amazonaws.com/123456789012/q-") {
		t.Errorf("queue id %s url %s", id, q["url"].StringValue())
	}
	if q["arn"].StringValue() != "arn:aws:sqs:ap-northeast-1:123456789012:"+q["name"].StringValue() {
		t.Errorf("queue ARN %s does not match its name", q["arn"].StringValue())
	}
	// A given name keeps its name; deterministic ids.
	again, _ := newRes("aws:sqs/queue:Queue", "q", resource.PropertyMap{})
	if again != id {
		t.Error("ids are not deterministic")
	}
	_, named := newRes("aws:sqs/queue:Queue", "n", resource.PropertyMap{"name": resource.NewProperty("fixed")})
	if named["name"].StringValue() != "fixed" {
		t.Error("an explicit name was replaced")
	}
	_, db := newRes("aws:rds/instance:Instance", "db", resource.PropertyMap{"manageMasterUserPassword": resource.NewProperty(true)})
	secret := db["masterUserSecrets"].ArrayValue()[0].ObjectValue()["secretArn"].StringValue()
	if !strings.HasPrefix(secret, "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-") {
		t.Errorf("managed secret ARN %s", secret)
	}
	_, plain := newRes("aws:rds/instance:Instance", "db2", resource.PropertyMap{})
	if _, ok := plain["masterUserSecrets"]; ok {
		t.Error("a managed secret without manageMasterUserPassword")
	}
	if n := len(m.Registrations()); n != 6 {
		t.Errorf("%d registrations recorded, want 6", n)
	}
	if got := m.GenericTypes(); len(got) != 0 {
		t.Errorf("known types reported generic: %v", got)
	}
	newRes("aws:foo/bar:Bar", "x", resource.PropertyMap{})
	if got := m.GenericTypes(); len(got) != 1 || got[0] != "aws:foo/bar:Bar" {
		t.Errorf("generic types %v", got)
	}
	if _, err := m.Call(pulumi.MockCallArgs{Token: "aws:index/getCallerIdentity:getCallerIdentity"}); err != nil {
		t.Error(err)
	}
	if _, err := m.Call(pulumi.MockCallArgs{Token: "aws:ec2/getAmi:getAmi"}); err == nil {
		t.Error("an unmocked function answered")
	}
}
