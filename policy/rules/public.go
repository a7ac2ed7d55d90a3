package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// resourcePolicyHolders are the resource types whose "policy" property is a
// resource-based policy: it names who, besides the account's own
// identities, may act on the resource.
var resourcePolicyHolders = map[string]bool{
	typeQueue:            true,
	typeQueuePolicy:      true,
	typeTopic:            true,
	typeTopicPolicy:      true,
	typeKMSKey:           true,
	typeKMSKeyPolicy:     true,
	typeKMSReplicaKey:    true,
	typeKMSExternalKey:   true,
	typeKMSReplicaExtKey: true,
	typeSecret:           true,
	typeSecretPolicy:     true,
	typeRestAPI:          true,
	typeRestAPIPolicy:    true,
}

// defaultNarrowingKeys are the condition keys that can pin a statement for
// every principal to this account, an organization, a source resource or a
// network path; see docs/policy-pack.md for the sources of the list.
var defaultNarrowingKeys = []any{
	"aws:SourceAccount", "aws:SourceOwner", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths",
	"aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
	"aws:SourceVpc", "aws:SourceVpce", "kms:CallerAccount",
}

// ResourcePolicyNotPublic blocks resource-based policies that let anyone in.
// A document computed from other resources (it names the resource's own
// ARN) is accepted during preview and checked at `up`, when it is known; a
// document still unknown at `up` is reported, since it cannot be verified.
var ResourcePolicyNotPublic = Policy{
	Name: "resource-policy-not-public",
	Description: "Resource-based policies (SQS queues, SNS topics, KMS keys, Secrets Manager secrets, API Gateway " +
		"REST APIs, Lambda permissions) must not grant access to everyone: an Allow for Principal \"*\" or with " +
		"NotPrincipal needs a condition that pins it to an account, an organization, a source resource or a VPC " +
		"endpoint, and a Lambda permission for an AWS service needs a source ARN or account.",
	Reads:            append(slices.Sorted(maps.Keys(resourcePolicyHolders)), typeLambdaPermission),
	EnforcementLevel: Mandatory,
	Severity:         Critical,
	Remediation: "Name the principal (an account, a role or a service) instead of \"*\", or add a condition with a " +
		"fixed value on aws:SourceAccount, aws:SourceArn, aws:PrincipalOrgID or another key of narrowingConditionKeys " +
		"using StringEquals/StringLike/ArnEquals/ArnLike (not ...IfExists, not a negation, no wildcard account). For " +
		"a Lambda permission set sourceArn (e.g. the API's executionArn + \"/*/*\") or sourceAccount.",
	ConfigSchema: map[string]map[string]any{
		"narrowingConditionKeys": {
			"type": "array", "items": map[string]any{"type": "string"},
			"description": "Condition keys whose fixed value makes a statement for every principal non-public. " +
				"Setting it replaces the default list.",
		},
	},
	Defaults: Config{"narrowingConditionKeys": defaultNarrowingKeys},
	ValidateResource: func(c Check, r Resource) {
		switch {
		case r.Type == typeLambdaPermission:
			checkLambdaPermission(c, r)
		case resourcePolicyHolders[r.Type]:
			v, st := lookup(r.Properties, "policy")
			if st == Absent {
				return
			}
			d := iamDocument{where: "policy", value: v}
			stmts, ok := d.parsed(c, r, "who it grants access to")
			if !ok {
				return
			}
			keys := lowerSet(c.strings("narrowingConditionKeys"))
			for i, s := range stmts {
				checkPublicStatement(c, r, d, i, s, keys)
			}
		}
	},
}

func checkPublicStatement(c Check, r Resource, d iamDocument, i int, s statement, keys map[string]bool) {
	if !strings.EqualFold(s.Effect, "Allow") {
		return // a Deny for everyone (the TLS-only statements) only takes access away
	}
	var who string
	switch {
	case s.NotPrincipal:
		who = "everyone except the principals under NotPrincipal"
	case anyPrincipal(s.Principal):
		who = "any principal (Principal \"*\")"
	default:
		return
	}
	narrowed, why := narrowedBy(s.Condition, keys)
	if narrowed {
		return
	}
	if why != "" {
		why = " (" + why + ")"
	}
	actions := s.Action
	if len(actions) == 0 {
		actions = append([]string{"every action but"}, s.NotAction...)
	}
	c.Report(r, "%s Statement[%d]%s allows %v to %s without a condition that pins it to an account or a named "+
		"source%s, so any AWS account, and for some services anonymous callers, can use it. Fix: name the "+
		"principal (an account, role or service), or add a condition with a fixed value on aws:SourceAccount, "+
		"aws:SourceArn, aws:PrincipalOrgID or another key of this policy's narrowingConditionKeys.",
		d.where, i, sidText(s.Sid), actions, who, why)
}

func sidText(sid string) string {
	if sid == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", sid)
}

func anyPrincipal(ps []string) bool {
	for _, p := range ps {
		if strings.Contains(p, "*") {
			return true
		}
	}
	return false
}

// narrowedBy reports whether a condition block pins a statement to a named
// source: one operator that requires a match (conditions are ANDed, so one
// is enough) on a narrowing key, with only fixed values. Otherwise why
// names the closest condition that does not count, if any.
func narrowedBy(cond map[string]any, keys map[string]bool) (ok bool, why string) {
	for _, op := range slices.Sorted(maps.Keys(cond)) {
		m, isMap := cond[op].(map[string]any)
		if !isMap {
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			raw := m[key]
			lk := strings.ToLower(key)
			if !keys[lk] {
				continue
			}
			if reason := operatorWeakness(op); reason != "" {
				why = firstOf(why, fmt.Sprintf("%s on %s does not count: %s", op, key, reason))
				continue
			}
			vals := conditionValues(raw)
			if len(vals) == 0 {
				why = firstOf(why, fmt.Sprintf("%s on %s has no value", op, key))
				continue
			}
			if bad := firstNotNarrowing(lk, vals); bad != "" {
				why = firstOf(why, fmt.Sprintf("%s %s %q is not a fixed value", op, key, bad))
				continue
			}
			return true, ""
		}
	}
	return false, why
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// operatorWeakness says why a condition operator cannot narrow a grant, or
// "" when it can: it must require the request's value to match. An
// ...IfExists operator and ForAllValues: are true when the key is absent
// from the request (a caller's own request carries no aws:SourceArn), and a
// negated operator lets everyone else in.
func operatorWeakness(op string) string {
	lower := strings.ToLower(op)
	if strings.HasPrefix(lower, "forallvalues:") {
		return "ForAllValues: is true when the key is absent from the request"
	}
	lower = strings.TrimPrefix(lower, "foranyvalue:")
	if strings.HasSuffix(lower, "ifexists") {
		return "...IfExists is true when the key is absent from the request"
	}
	switch lower {
	case "stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress":
		return ""
	}
	if strings.Contains(lower, "not") {
		return "a negated operator admits every other value"
	}
	return "the operator does not require a named value"
}

// conditionValues reads a condition value: a string, a number (account
// ids are sometimes written as numbers) or a list of them.
func conditionValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, conditionValues(e)...)
		}
		return out
	}
	return nil
}

// firstNotNarrowing returns the first value that does not pin key to a
// named source, or "". AWS counts a policy as non-public only when its
// values are fixed: no wildcard and no policy variable. One relaxation,
// as policyuniverse (checkov) makes it: an ARN whose account is a fixed
// account id may have wildcards elsewhere (the API Gateway executionArn
// + "/*/*" pattern), since it cannot match another account's resource.
func firstNotNarrowing(key string, vals []string) string {
	for _, v := range vals {
		if !valueNarrows(key, v) {
			return v
		}
	}
	return ""
}

func valueNarrows(key, v string) bool {
	switch key {
	case "aws:sourcearn", "aws:principalarn":
		return arnNarrows(v)
	case "aws:principalorgpaths", "aws:sourceorgpaths":
		// o-xxxxxxxxxx/r-xxxx/ou-…/: a fixed organization id first.
		org, _, _ := strings.Cut(v, "/")
		return strings.HasPrefix(org, "o-") && fixedValue(org) && !strings.Contains(v, "${")
	case "aws:sourceip":
		return fixedValue(v) && !strings.HasSuffix(v, "/0")
	}
	return fixedValue(v)
}

func fixedValue(v string) bool {
	return v != "" && !strings.ContainsAny(v, "*?") && !strings.Contains(v, "${")
}

func arnNarrows(v string) bool {
	parts := strings.SplitN(v, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || strings.Contains(v, "${") {
		return fixedValue(v)
	}
	if !fixedValue(parts[1]) || !fixedValue(parts[2]) {
		return false
	}
	if parts[4] == "" {
		// S3 buckets and other account-less ARNs live in a global namespace:
		// a wildcard could match a bucket anyone creates.
		return fixedValue(v)
	}
	return isAccountID(parts[4])
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func lowerSet(vals []string) map[string]bool {
	out := make(map[string]bool, len(vals))
	for _, v := range vals {
		out[strings.ToLower(v)] = true
	}
	return out
}

// checkLambdaPermission checks the one statement a Lambda permission adds
// to its function's policy. The provider turns sourceAccount, sourceArn and
// principalOrgId into the conditions aws:SourceAccount, aws:SourceArn and
// aws:PrincipalOrgID. A permission for an AWS service (the HTTP API's
// apigateway.amazonaws.com) without a source lets that service invoke the
// function on behalf of any account's resource.
func checkLambdaPermission(c Check, r Resource) {
	principal, st := stringAt(r.Properties, "principal")
	switch st {
	case Unknown:
		if !c.Env.DryRun {
			c.Report(r, "principal is still unknown during the update, so who may invoke the function cannot be "+
				"verified. Fix: set principal to a literal account, role or service principal.")
		}
		return
	case Known:
	default:
		return
	}
	public := strings.Contains(principal, "*")
	service := strings.HasSuffix(principal, ".amazonaws.com")
	if !public && !service {
		return
	}
	fields := []string{"sourceArn", "sourceAccount"}
	if public {
		fields = append(fields, "principalOrgId")
	}
	unknown, why := false, ""
	for _, f := range fields {
		v, st := stringAt(r.Properties, f)
		switch st {
		case Unknown:
			unknown = true
		case Known:
			if valueNarrows(lambdaConditionKey[f], v) {
				return
			}
			why = firstOf(why, fmt.Sprintf(" (%s %q is not a fixed value)", f, v))
		}
	}
	if unknown {
		if !c.Env.DryRun {
			c.Report(r, "%s is still unknown during the update, so the permission's scope cannot be verified. "+
				"Fix: build it from values known before the permission is created.", strings.Join(fields, "/"))
		}
		return
	}
	if public {
		c.Report(r, "principal is %q with no fixed %s%s, so anyone can invoke the function. Fix: name the "+
			"calling account or service as principal, or set sourceAccount, sourceArn or principalOrgId.",
			principal, strings.Join(fields, ", "), why)
		return
	}
	c.Report(r, "principal is the service %s with no fixed sourceArn or sourceAccount%s, so that service can "+
		"invoke the function on behalf of any account's resource (the confused deputy). Fix: set sourceArn to the "+
		"calling resource, e.g. the API's executionArn + \"/*/*\", or sourceAccount to this account.",
		principal, why)
}

var lambdaConditionKey = map[string]string{
	"sourceArn": "aws:sourcearn", "sourceAccount": "aws:sourceaccount", "principalOrgId": "aws:principalorgid",
}
