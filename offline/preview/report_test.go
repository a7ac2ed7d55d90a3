package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

func TestPreviewJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--stack", "dev", "--json", "--dir", "../.."}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Stack     string
		Resources []struct {
			Type, Name, URN, Parent string
			Inputs                  map[string]any
		}
		Outputs map[string]any
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	if got.Stack != "dev" || len(got.Resources) < 40 {
		t.Fatalf("stack %q with %d resources", got.Stack, len(got.Resources))
	}
	seen := map[string]bool{}
	for _, r := range got.Resources {
		seen[r.Type] = true
		switch r.Type {
		case "aws:secretsmanager/secretVersion:SecretVersion":
			if r.Inputs["secretString"] != Secret {
				t.Errorf("secret value shown as %v", r.Inputs["secretString"])
			}
		case "aws:lambda/invocation:Invocation":
			if r.Inputs["input"] != Secret {
				t.Errorf("migration input (carries the password) shown as %v", r.Inputs["input"])
			}
		case "aws:rds/instance:Instance":
			if r.Inputs["publiclyAccessible"] != false || r.Inputs["instanceClass"] != "db.t4g.micro" {
				t.Errorf("instance inputs %v", r.Inputs)
			}
		}
	}
	for _, typ := range []string{"aws:rds/instance:Instance", "aws:rds/proxy:Proxy", "aws:sqs/queue:Queue", "aws:lambda/function:Function", "sluice:network:Network"} {
		if !seen[typ] {
			t.Errorf("no %s in the preview", typ)
		}
	}
	for _, k := range []string{"apiUrl", "queueUrl", "dlqUrl", "proxyEndpoint", "dashboardUrl", "alarmTopicArn"} {
		if s, _ := got.Outputs[k].(string); s == "" || s == Unknown {
			t.Errorf("output %s = %v", k, got.Outputs[k])
		}
	}
}

func TestPreviewText(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--stack", "prod", "--dir", "../.."}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{`stack "prod"`, "+ sluice:network:Network", "    + aws:rds/instance:Instance", "multiAz: true", "Outputs:", "queueUrl"} {
		if !strings.Contains(out, want) {
			t.Errorf("text preview lacks %q", want)
		}
	}
	// The outputs' values start in one column, whatever the longest name.
	_, outputs, _ := strings.Cut(out, "\nOutputs:\n")
	outputs, _, _ = strings.Cut(outputs, "\n\n")
	columns := map[int][]string{}
	for _, line := range strings.Split(outputs, "\n") {
		name := strings.Fields(line)[0]
		col := strings.Index(line, name) + len(name)
		col += len(line[col:]) - len(strings.TrimLeft(line[col:], " "))
		columns[col] = append(columns[col], name)
	}
	if len(columns) != 1 {
		t.Errorf("output values start in %d columns: %v", len(columns), columns)
	}
	// Components come in pipeline order.
	if strings.Index(out, "sluice:network:Network") > strings.Index(out, "sluice:queue:Queue") {
		t.Error("network is not listed before the queue")
	}
	// docs/policy-pack.md shows the verdicts for prod, the stack
	// production-safeguards applies to.
	i := strings.Index(out, "\nPolicies (")
	if i < 0 {
		t.Fatal("text preview has no policy verdicts")
	}
	doccheck.Check(t, "docs/policy-pack.md", "policies-prod", out[i+1:])
}

func TestPreviewBadSettings(t *testing.T) {
	dir := t.TempDir()
	stackFile, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(stackFile), "sluice:batchingWindowSeconds: 1", "sluice:batchingWindowSeconds: 1\n  sluice:batchSiz: 20", 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"--stack", "bad", "--dir", dir}, &stdout, &stderr)
	if code != exitBadSettings || stdout.Len() != 0 || !strings.Contains(stderr.String(), `sluice:batchSiz = "20": unknown key`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if code := run([]string{"--stack", "missing", "--dir", dir}, &stdout, &stderr); code != exitFailure {
		t.Errorf("missing stack file: exit %d", code)
	}
}

func TestPlain(t *testing.T) {
	tests := []struct {
		name string
		in   resource.PropertyValue
		want string
	}{
		{"secret", resource.MakeSecret(resource.NewProperty("hunter2")), `"[secret]"`},
		{"nested secret", resource.NewProperty(resource.PropertyMap{"a": resource.MakeSecret(resource.NewProperty(1.0))}), `{"a":"[secret]"}`},
		{"secret output", resource.NewProperty(resource.Output{Element: resource.NewProperty("x"), Known: true, Secret: true}), `"[secret]"`},
		{"unknown output", resource.NewProperty(resource.Output{Known: false}), `"[unknown]"`},
		{"computed", resource.MakeComputed(resource.NewProperty("")), `"[unknown]"`},
		{"known output", resource.NewProperty(resource.Output{Element: resource.NewProperty("x"), Known: true}), `"x"`},
		{"array", resource.NewProperty([]resource.PropertyValue{resource.NewProperty(true), resource.NewNullProperty()}), `[true,null]`},
		{"archive", resource.NewProperty(&resource.Archive{Path: "/tmp/a.zip", Hash: "h"}), `{"archive":"/tmp/a.zip","hash":"h"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(Plain(tt.in))
			if err != nil || string(b) != tt.want {
				t.Errorf("Plain = %s (%v), want %s", b, err, tt.want)
			}
		})
	}
}

func TestSectionsMerge(t *testing.T) {
	r := Report{Stack: "dev", Sections: []Section{{Key: "policies", JSON: []string{"ok"}}}}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"policies":["ok"]`) || !strings.Contains(string(b), `"stack":"dev"`) {
		t.Errorf("merged = %s, %v", b, err)
	}
	r.Sections = append(r.Sections, Section{Key: "stack"})
	if _, err := json.Marshal(r); err == nil {
		t.Error("a section overwrote a report field")
	}
}
