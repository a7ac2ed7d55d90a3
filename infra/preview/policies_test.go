package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/infra/mocks"
)

func TestPolicySection(t *testing.T) {
	run, err := mocks.Run("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := policySection(run)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Key != "policies" || sec.Failed {
		t.Fatalf("dev stack: key %q failed %v: %+v", sec.Key, sec.Failed, sec.JSON)
	}

	// With the public intake route given IAM authorization, nothing is
	// reported, and the list is empty rather than null.
	for i, r := range run.Resources {
		if r.Type == "aws:apigatewayv2/route:Route" {
			in := r.Inputs.Copy()
			in["authorizationType"] = resource.NewProperty("AWS_IAM")
			run.Resources[i].Inputs = in
		}
	}
	sec, err = policySection(run)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(sec.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Failed || string(raw) != "[]" {
		t.Fatalf("fully compliant dev stack: failed %v json %s", sec.Failed, raw)
	}

	// Make the database public: the section fails and lists the violation.
	for i, r := range run.Resources {
		if r.Type == "aws:rds/instance:Instance" {
			in := r.Inputs.Copy()
			in["publiclyAccessible"] = resource.NewProperty(true)
			run.Resources[i].Inputs = in
		}
	}
	sec, err = policySection(run)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]string
	raw, _ = json.Marshal(sec.JSON)
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	if !sec.Failed || len(list) != 1 || list[0]["policy"] != "rds-instance-not-public" ||
		list[0]["enforcementLevel"] != "mandatory" || list[0]["resourceType"] != "aws:rds/instance:Instance" ||
		list[0]["resourceName"] == "" || !strings.HasPrefix(list[0]["message"], "[critical]") {
		t.Fatalf("public database: failed %v, %s", sec.Failed, raw)
	}
	if !strings.Contains(sec.Text, "FAIL  mandatory  rds-instance-not-public") {
		t.Errorf("text lacks the verdict:\n%s", sec.Text)
	}
}
