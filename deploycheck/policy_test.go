package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func readPolicy(t *testing.T, path string) (actions map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var doc struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Action    stringOrList
			Resource  stringOrList
			Condition map[string]map[string]any
		}
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("%s: Version %q, want 2012-10-17", path, doc.Version)
	}
	actionRE := regexp.MustCompile(`^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$|^apigateway:(GET|POST|PUT|PATCH|DELETE)$`)
	actions = map[string]bool{}
	sids := map[string]bool{}
	for _, st := range doc.Statement {
		if st.Sid == "" || sids[st.Sid] {
			t.Errorf("%s: statement without a unique Sid: %q", path, st.Sid)
		}
		sids[st.Sid] = true
		if st.Effect != "Allow" || len(st.Action) == 0 || len(st.Resource) == 0 {
			t.Errorf("%s: statement %s: want Effect Allow with actions and resources", path, st.Sid)
		}
		for _, a := range st.Action {
			if !actionRE.MatchString(a) {
				t.Errorf("%s: statement %s: %q is not one service:Action (no wildcards)", path, st.Sid, a)
			}
			actions[a] = true
		}
		for _, r := range st.Resource {
			if r != "*" && !strings.HasPrefix(r, "arn:aws:") {
				t.Errorf("%s: statement %s: resource %q", path, st.Sid, r)
			}
		}
	}
	return actions
}

// TestRolePolicies holds docs/iam/*.json to what docs/deploying.md says of
// them: every action the page names is granted by the deploy policy (the
// HTTP API logging and ENI actions above all), the check's own calls are,
// and the preview policy only reads.
func TestRolePolicies(t *testing.T) {
	deploy := readPolicy(t, "../docs/iam/deploy-role-policy.json")
	preview := readPolicy(t, "../docs/iam/preview-role-policy.json")

	page, err := os.ReadFile("../docs/deploying.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(page), "## The deploy and preview roles' permissions")
	section, _, _ = strings.Cut(section, "\n## ")
	named := regexp.MustCompile("`((?:logs|ec2|iam|secretsmanager|kms|rds|lambda|sts):[A-Za-z/*]+)`").FindAllStringSubmatch(section, -1)
	if len(named) < 15 {
		t.Fatalf("the role section of docs/deploying.md names %d actions; did it move?", len(named))
	}
	for _, m := range named {
		a := m[1]
		if strings.ContainsAny(a, "*/") {
			continue // a pattern such as ec2:*NetworkInterface* or a resource
		}
		if !deploy[a] && !preview[a] {
			t.Errorf("docs/deploying.md names %s, which no policy grants", a)
		}
	}
	// The actions AWS and the provider say the caller needs (see the page's
	// sources), whatever the page says.
	for _, a := range []string{
		"logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
		"logs:CreateLogGroup", "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
		"ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface", "ec2:DeleteNetworkInterface",
		"iam:PassRole",
	} {
		if !deploy[a] {
			t.Errorf("the deploy policy lacks %s", a)
		}
	}
	for _, a := range checkActions {
		if !deploy[a] {
			t.Errorf("the deploy policy lacks %s, which go run ./deploycheck calls", a)
		}
	}
	read := regexp.MustCompile(`^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$|^apigateway:GET$`)
	for a := range preview {
		if !read.MatchString(a) {
			t.Errorf("the preview policy grants %s, which is not read-only", a)
		}
	}
}
