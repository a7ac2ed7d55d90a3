package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/stackrun"
)

func TestPolicySection(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			run, err := stackrun.Run("../../Pulumi." + stack + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			sec, err := policySection(run)
			if err != nil {
				t.Fatal(err)
			}
			// The stack declares its public route (sluice:publicRoutes), so
			// the default preview has no finding at all, and the list is
			// empty rather than null.
			raw, err := json.Marshal(sec.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if sec.Key != "policies" || sec.Failed || string(raw) != "[]" || strings.Contains(sec.Text, "FAIL") {
				t.Fatalf("%s: failed %v json %s\n%s", stack, sec.Failed, raw, sec.Text)
			}
			if !strings.Contains(sec.Text, "pass  advisory   apigw-route-authorization") {
				t.Errorf("text lacks the route verdict:\n%s", sec.Text)
			}
		})
	}
}

// TestUndeclaredPublicRoute: a stack that does not declare its open route
// public still gets the advisory finding, without failing the preview.
func TestUndeclaredPublicRoute(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	config, err := settings.ReadStackConfig(filepath.Join(root, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config[settings.Key(settings.KeyPublicRoutes)] = ""
	run, err := stackrun.RunConfig(root, "dev", config)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := policySection(run)
	if err != nil {
		t.Fatal(err)
	}
	list := violations(t, sec)
	if sec.Failed || len(list) != 1 || list[0]["policy"] != "apigw-route-authorization" || list[0]["enforcementLevel"] != "advisory" ||
		!strings.Contains(list[0]["message"], "sluice:publicRoutes") {
		t.Fatalf("undeclared public route: failed %v, %v", sec.Failed, list)
	}
	if !strings.Contains(sec.Text, "FAIL  advisory   apigw-route-authorization") {
		t.Errorf("text lacks the verdict:\n%s", sec.Text)
	}
}

// TestMandatoryViolationFailsPreview: a public database fails the section.
func TestMandatoryViolationFailsPreview(t *testing.T) {
	run, err := stackrun.Run("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range run.Resources {
		if r.Type == "aws:rds/instance:Instance" {
			in := r.Inputs.Copy()
			in["publiclyAccessible"] = resource.NewProperty(true)
			run.Resources[i].Inputs = in
		}
	}
	sec, err := policySection(run)
	if err != nil {
		t.Fatal(err)
	}
	list := violations(t, sec)
	if !sec.Failed || len(list) != 1 || list[0]["policy"] != "rds-instance-not-public" ||
		list[0]["enforcementLevel"] != "mandatory" || list[0]["resourceType"] != "aws:rds/instance:Instance" ||
		list[0]["resourceName"] == "" || !strings.HasPrefix(list[0]["message"], "[critical]") {
		t.Fatalf("public database: failed %v, %v", sec.Failed, list)
	}
	if !strings.Contains(sec.Text, "FAIL  mandatory  rds-instance-not-public") {
		t.Errorf("text lacks the verdict:\n%s", sec.Text)
	}
}

func violations(t *testing.T, sec Section) []map[string]string {
	t.Helper()
	raw, err := json.Marshal(sec.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]string
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	return list
}
