package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// iamDocument is one IAM policy document held by a resource.
type iamDocument struct {
	where string // e.g. "policy" or "inlinePolicies[0].policy"
	value resource.PropertyValue
	trust bool // an assume-role (trust) policy
}

// iamDocumentTypes are the resources iamDocuments reads.
var iamDocumentTypes = []string{typeRole, typeRolePolicy, typeIAMPolicy, typeUserPolicy, typeGroupPolicy}

// iamDocuments returns the identity and trust policy documents of IAM
// resources; other resources hold none.
func iamDocuments(r Resource) []iamDocument {
	var out []iamDocument
	switch r.Type {
	case typeRolePolicy, typeIAMPolicy, typeUserPolicy, typeGroupPolicy:
		if v, st := lookup(r.Properties, "policy"); st != Absent {
			out = append(out, iamDocument{where: "policy", value: v})
		}
	case typeRole:
		if v, st := lookup(r.Properties, "assumeRolePolicy"); st != Absent {
			out = append(out, iamDocument{where: "assumeRolePolicy", value: v, trust: true})
		}
		inline, st := arrayAt(r.Properties, "inlinePolicies")
		if st == Unknown {
			out = append(out, iamDocument{where: "inlinePolicies", value: resource.MakeComputed(resource.NewProperty(""))})
		}
		for i, e := range inline {
			m, st := asObject(e)
			where := fmt.Sprintf("inlinePolicies[%d].policy", i)
			switch st {
			case Known:
				if v, st := lookup(m, "policy"); st != Absent {
					out = append(out, iamDocument{where: where, value: v})
				}
			case Unknown:
				out = append(out, iamDocument{where: where, value: resource.MakeComputed(resource.NewProperty(""))})
			}
		}
	}
	return out
}

// parsed returns the statements of d. A document computed from other
// resources is accepted during preview (it is analysed again at `up`, when it
// is known) and reported at `up`; a malformed document is reported.
func (d iamDocument) parsed(c Check, r Resource, purpose string) ([]statement, bool) {
	doc, st := asJSON(d.value)
	switch st {
	case Unknown:
		if !c.Env.DryRun {
			c.Report(r, "%s is still unknown during the update, so %s cannot be verified. Fix: build the "+
				"document from values known before this resource is created.", d.where, purpose)
		}
		return nil, false
	case Invalid:
		c.Report(r, "%s is not valid JSON, so %s cannot be verified. Fix: pass a JSON policy document "+
			"(e.g. built with pulumi.JSONMarshal).", d.where, purpose)
		return nil, false
	case Absent:
		return nil, false
	}
	stmts, err := parseStatements(doc)
	if err != nil {
		c.Report(r, "%s is not a valid IAM policy document: %v. Fix: give it a Statement list of "+
			"{Effect, Action, Resource} objects.", d.where, err)
		return nil, false
	}
	return stmts, true
}

// adminPolicies are AWS managed policies that grant far more than a
// pipeline role needs.
var adminPolicies = []string{"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"}

// IAMNoWildcards: Allow statements name exact actions and resources.
// rds-db:connect-only statements are left to rds-iam-auth, which checks
// them more precisely, so that one mistake is reported once.
var IAMNoWildcards = Policy{
	Name: "iam-no-wildcards",
	Description: "IAM policies must allow exact actions on exact resources: no wildcard actions, no \"*\" " +
		"resources, no NotAction/NotResource, no trust of any principal, no administrator managed policies.",
	Reads:            append(slices.Clone(iamDocumentTypes), typeRoleAttachment),
	EnforcementLevel: Mandatory,
	Severity:         High,
	Remediation: "List the exact actions and resource ARNs each role needs, trust only a named service principal, " +
		"and attach no administrator managed policies.",
	ConfigSchema: map[string]map[string]any{
		"allowedWildcardResourceActions": {
			"type": "array", "items": map[string]any{"type": "string"},
			"description": "Actions that AWS only authorises on Resource \"*\" (no resource-level permissions).",
		},
	},
	Defaults: Config{"allowedWildcardResourceActions": []any{
		"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
		"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "ec2:DescribeSubnets",
		"ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
		"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData",
	}},
	ValidateResource: func(c Check, r Resource) {
		allowed := c.strings("allowedWildcardResourceActions")
		for _, d := range iamDocuments(r) {
			stmts, ok := d.parsed(c, r, "its statements")
			if !ok {
				continue
			}
			for i, s := range stmts {
				if !strings.EqualFold(s.Effect, "Allow") {
					continue
				}
				if d.trust {
					checkTrust(c, r, d, i, s)
					continue
				}
				checkStatement(c, r, d, i, s, allowed)
			}
		}
		checkManagedPolicies(c, r)
	},
}

func checkTrust(c Check, r Resource, d iamDocument, i int, s statement) {
	if slices.Contains(s.Principal, "*") {
		c.Report(r, "%s Statement[%d] lets any principal assume the role. Fix: name the service principal, e.g. "+
			"lambda.amazonaws.com.", d.where, i)
	}
}

func checkStatement(c Check, r Resource, d iamDocument, i int, s statement, allowed []string) {
	if len(s.NotAction) > 0 {
		c.Report(r, "%s Statement[%d] allows NotAction %v, i.e. every other action. Fix: list the actions "+
			"the role needs under Action.", d.where, i, s.NotAction)
	}
	if len(s.NotResource) > 0 {
		c.Report(r, "%s Statement[%d] allows NotResource %v, i.e. every other resource. Fix: list the exact "+
			"resource ARNs under Resource.", d.where, i, s.NotResource)
	}
	for _, a := range s.Action {
		if actionWildcard(a) {
			c.Report(r, "%s Statement[%d] allows wildcard action %q. Fix: list the exact actions needed "+
				"(e.g. sqs:ReceiveMessage, sqs:DeleteMessage).", d.where, i, a)
		}
	}
	if isRDSConnect(s.Action) {
		return
	}
	onlyAllowed := len(s.Action) > 0 && !slices.ContainsFunc(s.Action, func(a string) bool {
		return !slices.ContainsFunc(allowed, func(b string) bool { return strings.EqualFold(a, b) })
	})
	for _, res := range s.Resource {
		if wildcardResource(res) && !onlyAllowed {
			c.Report(r, "%s Statement[%d] allows %v on %q. Fix: name the exact resource ARNs (the queue, "+
				"the log group, the secret) instead of a wildcard.", d.where, i, s.Action, res)
		}
	}
}

// wildcardResource reports whether an ARN matches every resource, or every
// resource of a service, region, account or resource type. A trailing
// wildcard below a named resource (the log streams of one log group) is not
// flagged.
func wildcardResource(arn string) bool {
	if arn == "*" {
		return true
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return strings.Contains(arn, "*")
	}
	for _, p := range parts[1:5] {
		if strings.Contains(p, "*") {
			return true
		}
	}
	res := parts[5]
	if strings.HasPrefix(res, "*") {
		return true
	}
	// "log-group:*" or "table/*" is every resource of a type; S3 object ARNs
	// ("bucket/*") have no type prefix, so they are left alone.
	if i := strings.IndexAny(res, ":/"); parts[2] != "s3" && i >= 0 && res[i+1:] == "*" {
		return true
	}
	return false
}

func checkManagedPolicies(c Check, r Resource) {
	var arns []string
	switch r.Type {
	case typeRoleAttachment:
		if a, st := stringAt(r.Properties, "policyArn"); st == Known {
			arns = append(arns, a)
		}
	case typeRole:
		arns, _, _ = stringsAt(r.Properties, "managedPolicyArns")
	}
	for _, a := range arns {
		for _, admin := range adminPolicies {
			if strings.HasSuffix(a, ":policy/"+admin) {
				c.Report(r, "attaches the AWS managed policy %s. Fix: attach a policy with the exact actions "+
					"and resources the role needs.", admin)
			}
		}
	}
}
