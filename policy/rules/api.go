package rules

import (
	"slices"
	"strings"
)

// APIStageThrottlingLogging: throttling limits and the log format are
// literals and fail closed when computed; the log destination is a log
// group's ARN, computed in preview, and only has to be present.
var APIStageThrottlingLogging = Policy{
	Name: "apigw-stage-throttling-logging",
	Description: "API Gateway stages must throttle requests (burst and rate limits above 0) and write access " +
		"logs with the request id.",
	Reads:            []string{typeStage},
	EnforcementLevel: Mandatory,
	Severity:         Medium,
	Remediation: "Set defaultRouteSettings.throttlingBurstLimit and throttlingRateLimit above 0, and " +
		"accessLogSettings with a log group ARN and a format containing $context.requestId.",
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeStage {
			return
		}
		for _, k := range []string{"throttlingBurstLimit", "throttlingRateLimit"} {
			path := "defaultRouteSettings." + k
			if v, st := numberAt(r.Properties, path); st != Known || v <= 0 {
				c.Report(r, "%s is %s, so a flood of requests is limited only by the account-wide quota. Fix: "+
					"set defaultRouteSettings.%s to a positive limit.", path, describe(r.Properties, path), k)
			}
		}
		if dest, st := stringAt(r.Properties, "accessLogSettings.destinationArn"); st == Absent || st == Invalid ||
			st == Known && dest == "" {
			c.Report(r, "accessLogSettings.destinationArn is not set, so requests are not logged. Fix: create a "+
				"CloudWatch log group and set accessLogSettings {destinationArn, format}.")
		}
		if f, st := stringAt(r.Properties, "accessLogSettings.format"); st != Known || !strings.Contains(f, "$context.requestId") {
			c.Report(r, "accessLogSettings.format is %s; it must contain $context.requestId to trace a request. "+
				"Fix: use a JSON format with $context.requestId, $context.status and $context.integrationErrorMessage.",
				describe(r.Properties, "accessLogSettings.format"))
		}
	},
}

// APIRouteAuthorization is advisory: a public intake endpoint is a
// legitimate design, when it is declared. A route is public on purpose when
// this policy's publicRoutes lists it, or when the stack itself declares it
// in its `<project>:publicRoutes` config (Sluice's sluice:publicRoutes
// setting), which the engine hands the pack in ConfigureStack, so every
// path (a local --policy-pack, a pack enforced from Pulumi Cloud, the
// offline preview) sees the stack's declaration without extra flags. An
// organisation that wants only its own list to count sets
// trustStackConfig to false.
var APIRouteAuthorization = Policy{
	Name:             "apigw-route-authorization",
	Description:      "API Gateway routes should require authorization unless they are declared public.",
	Reads:            []string{typeRoute},
	EnforcementLevel: Advisory,
	Severity:         Medium,
	Remediation: "Set the route's authorizationType (AWS_IAM, JWT or CUSTOM), or list its route key in " +
		"publicRoutes if it is public by design.",
	ConfigSchema: map[string]map[string]any{
		"publicRoutes": {
			"type": "array", "items": map[string]any{"type": "string"},
			"description": "Route keys (e.g. \"POST /submit\") that may be called without authorization, in every stack.",
		},
		"trustStackConfig": {
			"type": "boolean",
			"description": "Also accept the route keys a stack declares public in its own config key <project>:publicRoutes " +
				"(a comma-separated list).",
		},
	},
	Defaults: Config{"publicRoutes": []any{}, "trustStackConfig": true},
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeRoute {
			return
		}
		key, _ := stringAt(r.Properties, "routeKey")
		public := c.strings("publicRoutes")
		if c.boolean("trustStackConfig") {
			declared, _ := c.Env.StackList(stackPublicRoutesKey)
			public = append(public, declared...)
		}
		if slices.Contains(public, key) {
			return
		}
		if v, st := stringAt(r.Properties, "authorizationType"); st != Known || v == "NONE" {
			c.Report(r, "route %q has authorizationType %s, so anyone can call it. Fix: set authorizationType "+
				"(AWS_IAM, JWT or CUSTOM), or, if it is public by design, declare it in the stack config "+
				"(pulumi config set %s:%s %q) or in this policy's publicRoutes config.",
				key, describe(r.Properties, "authorizationType"), projectOr(c.Env), stackPublicRoutesKey, key)
		}
	},
}

// stackPublicRoutesKey is the stack config key, in the stack's project
// namespace, that declares routes public.
const stackPublicRoutesKey = "publicRoutes"

func projectOr(e Env) string {
	if e.Project == "" {
		return "<project>"
	}
	return e.Project
}

// LogGroupRetention: retention is a literal, so computed fails closed.
var LogGroupRetention = Policy{
	Name:             "log-group-retention",
	Description:      "CloudWatch log groups must expire their events.",
	Reads:            []string{typeLogGroup},
	EnforcementLevel: Mandatory,
	Severity:         Medium,
	Remediation:      "Set retentionInDays on every log group, e.g. 30.",
	ValidateResource: func(c Check, r Resource) {
		if r.Type != typeLogGroup {
			return
		}
		if v, st := numberAt(r.Properties, "retentionInDays"); st != Known || v <= 0 {
			c.Report(r, "retentionInDays is %s, so logs (which hold request metadata) are kept forever. Fix: set "+
				"retentionInDays, e.g. 30.", describe(r.Properties, "retentionInDays"))
		}
	},
}
