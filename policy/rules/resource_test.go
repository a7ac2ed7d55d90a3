package rules_test

import (
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

var (
	computed = rulestest.Computed
	secret   = rulestest.Secret
)

// TestResourcePolicyStates runs each resource policy on one hand-built
// resource per case: passing, failing, absent, computed, secret and
// malformed values. want is the number of violations expected.
func TestResourcePolicyStates(t *testing.T) {
	const (
		db     = "aws:rds/instance:Instance"
		proxy  = "aws:rds/proxy:Proxy"
		queue  = "aws:sqs/queue:Queue"
		stage  = "aws:apigatewayv2/stage:Stage"
		route  = "aws:apigatewayv2/route:Route"
		logs   = "aws:cloudwatch/logGroup:LogGroup"
		rolePo = "aws:iam/rolePolicy:RolePolicy"
		role   = "aws:iam/role:Role"
	)
	connect := func(res string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"` + res + `"}]}`
	}
	okAuth := []any{map[string]any{"iamAuth": "REQUIRED", "secretArn": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:app"}}
	okStage := func(burst any) map[string]any {
		return map[string]any{
			"accessLogSettings":    map[string]any{"destinationArn": computed(), "format": `{"id":"$context.requestId"}`},
			"defaultRouteSettings": map[string]any{"throttlingBurstLimit": burst, "throttlingRateLimit": 50},
		}
	}
	cases := []struct {
		name   string
		policy rules.Policy
		typ    string
		props  map[string]any
		env    rules.Env
		cfg    rules.PackConfig
		want   int
	}{
		{"public false", rules.RDSInstanceNotPublic, db, map[string]any{"publiclyAccessible": false}, rules.Env{}, nil, 0},
		{"public true", rules.RDSInstanceNotPublic, db, map[string]any{"publiclyAccessible": true}, rules.Env{}, nil, 1},
		{"public absent (provider default false)", rules.RDSInstanceNotPublic, db, map[string]any{}, rules.Env{}, nil, 0},
		{"public computed fails closed", rules.RDSInstanceNotPublic, db, map[string]any{"publiclyAccessible": computed()}, rules.Env{DryRun: true}, nil, 1},
		{"public secret true", rules.RDSInstanceNotPublic, db, map[string]any{"publiclyAccessible": secret(true)}, rules.Env{}, nil, 1},
		{"public malformed", rules.RDSInstanceNotPublic, db, map[string]any{"publiclyAccessible": "no"}, rules.Env{}, nil, 1},
		{"other type ignored", rules.RDSInstanceNotPublic, queue, map[string]any{"publiclyAccessible": true}, rules.Env{}, nil, 0},

		{"storage encrypted", rules.EncryptionAtRest, db, map[string]any{"storageEncrypted": true}, rules.Env{}, nil, 0},
		{"storage unencrypted", rules.EncryptionAtRest, db, map[string]any{"storageEncrypted": false}, rules.Env{}, nil, 1},
		{"storage absent (default false)", rules.EncryptionAtRest, db, map[string]any{}, rules.Env{}, nil, 1},
		{"storage computed", rules.EncryptionAtRest, db, map[string]any{"storageEncrypted": computed()}, rules.Env{DryRun: true}, nil, 1},
		{"storage secret true", rules.EncryptionAtRest, db, map[string]any{"storageEncrypted": secret(true)}, rules.Env{}, nil, 0},
		{"queue sse", rules.EncryptionAtRest, queue, map[string]any{"sqsManagedSseEnabled": true}, rules.Env{}, nil, 0},
		{"queue kms computed from a key of the stack", rules.EncryptionAtRest, queue, map[string]any{"kmsMasterKeyId": computed()}, rules.Env{DryRun: true}, nil, 0},
		{"queue kms literal", rules.EncryptionAtRest, queue, map[string]any{"kmsMasterKeyId": "alias/aws/sqs"}, rules.Env{}, nil, 0},
		{"queue nothing set", rules.EncryptionAtRest, queue, map[string]any{}, rules.Env{}, nil, 1},
		{"queue sse false", rules.EncryptionAtRest, queue, map[string]any{"sqsManagedSseEnabled": false}, rules.Env{}, nil, 1},
		{"queue sse computed", rules.EncryptionAtRest, queue, map[string]any{"sqsManagedSseEnabled": computed()}, rules.Env{DryRun: true}, nil, 1},

		{"proxy ok", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true, "auths": okAuth}, rules.Env{}, nil, 0},
		{"proxy auths absent", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true}, rules.Env{}, nil, 1},
		{"proxy auths computed", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true, "auths": computed()}, rules.Env{DryRun: true}, nil, 1},
		{"proxy iamAuth computed", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true, "auths": []any{map[string]any{"iamAuth": computed()}}}, rules.Env{DryRun: true}, nil, 1},
		{"proxy iamAuth absent (default DISABLED)", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true, "auths": []any{map[string]any{"secretArn": "x"}}}, rules.Env{}, nil, 1},
		{"proxy auth malformed", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": true, "auths": []any{"REQUIRED"}}, rules.Env{}, nil, 1},
		{"proxy requireTls absent", rules.RDSIAMAuth, proxy, map[string]any{"auths": okAuth}, rules.Env{}, nil, 1},
		{"proxy requireTls secret true", rules.RDSIAMAuth, proxy, map[string]any{"requireTls": secret(true), "auths": okAuth}, rules.Env{}, nil, 0},
		{"instance IAM auth on", rules.RDSIAMAuth, db, map[string]any{"iamDatabaseAuthenticationEnabled": true}, rules.Env{}, nil, 0},
		{"instance IAM auth absent", rules.RDSIAMAuth, db, map[string]any{}, rules.Env{}, nil, 1},
		{"connect on proxy user", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0abc123/sluice_app")}, rules.Env{}, nil, 0},
		{"connect on instance user", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:db-ABCDEFGHIJKL/sluice_admin")}, rules.Env{}, nil, 0},
		{"connect on *", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("*")}, rules.Env{}, nil, 1},
		{"connect on proxy name, not id", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:sluice-dev/sluice_app")}, rules.Env{}, nil, 1},
		{"connect via rds-db:*", rules.RDSIAMAuth, rolePo, map[string]any{"policy": `{"Statement":{"Effect":"Allow","Action":"rds-db:*","Resource":"*"}}`}, rules.Env{}, nil, 1},
		{"connect document computed in preview", rules.RDSIAMAuth, rolePo, map[string]any{"policy": computed()}, rules.Env{DryRun: true}, nil, 0},
		{"connect document computed at up", rules.RDSIAMAuth, rolePo, map[string]any{"policy": computed()}, rules.Env{}, nil, 1},
		{"connect document secret", rules.RDSIAMAuth, rolePo, map[string]any{"policy": secret(connect("*"))}, rules.Env{}, nil, 1},
		{"connect document malformed", rules.RDSIAMAuth, rolePo, map[string]any{"policy": `{"Statement": [`}, rules.Env{}, nil, 1},

		{"exact actions and resources", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["sqs:SendMessage"],"Resource":"arn:aws:sqs:ap-northeast-1:123456789012:q"}]}`}, rules.Env{}, nil, 0},
		{"wildcard action", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:ap-northeast-1:123456789012:q"}]}`}, rules.Env{}, nil, 1},
		{"admin statement", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}, rules.Env{}, nil, 2},
		{"deny with wildcards is fine", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`}, rules.Env{}, nil, 0},
		{"every queue of the account", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:123456789012:*"}]}`}, rules.Env{}, nil, 1},
		{"every log group", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:ap-northeast-1:123456789012:log-group:*"}]}`}, rules.Env{}, nil, 1},
		{"streams of one log group", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/x:log-stream:*"}]}`}, rules.Env{}, nil, 0},
		{"ENI actions on * are allow-listed", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces"],"Resource":"*"}]}`}, rules.Env{}, nil, 0},
		{"allow-list from config", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","Action":["ec2:CreateNetworkInterface"],"Resource":"*"}]}`}, rules.Env{},
			rules.PackConfig{"iam-no-wildcards": {Properties: rules.Config{"allowedWildcardResourceActions": []any{}}}}, 1},
		{"NotAction", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:sqs:ap-northeast-1:123456789012:q"}]}`}, rules.Env{}, nil, 1},
		{"rds-db:connect on * left to rds-iam-auth", rules.IAMNoWildcards, rolePo, map[string]any{"policy": connect("*")}, rules.Env{}, nil, 0},
		{"document computed in preview", rules.IAMNoWildcards, rolePo, map[string]any{"policy": computed()}, rules.Env{DryRun: true}, nil, 0},
		{"document computed at up", rules.IAMNoWildcards, rolePo, map[string]any{"policy": computed()}, rules.Env{}, nil, 1},
		{"document malformed JSON", rules.IAMNoWildcards, rolePo, map[string]any{"policy": "Statement: *"}, rules.Env{}, nil, 1},
		{"document without statements", rules.IAMNoWildcards, rolePo, map[string]any{"policy": `{"Version":"2012-10-17"}`}, rules.Env{}, nil, 1},
		{"document as a secret", rules.IAMNoWildcards, rolePo, map[string]any{"policy": secret(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:sqs:ap-northeast-1:123456789012:q"}]}`)}, rules.Env{}, nil, 1},
		{"role inline policy wildcard", rules.IAMNoWildcards, role, map[string]any{"inlinePolicies": []any{map[string]any{"name": "p", "policy": `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`}}}, rules.Env{}, nil, 1},
		{"role inline policies computed at up", rules.IAMNoWildcards, role, map[string]any{"inlinePolicies": computed()}, rules.Env{}, nil, 1},
		{"role trusts *", rules.IAMNoWildcards, role, map[string]any{"assumeRolePolicy": `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`}, rules.Env{}, nil, 1},
		{"role with AdministratorAccess", rules.IAMNoWildcards, role, map[string]any{"managedPolicyArns": []any{"arn:aws:iam::aws:policy/AdministratorAccess"}}, rules.Env{}, nil, 1},
		{"attachment of AdministratorAccess", rules.IAMNoWildcards, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", map[string]any{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, rules.Env{}, nil, 1},
		{"attachment of basic execution role", rules.IAMNoWildcards, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", map[string]any{"policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}, rules.Env{}, nil, 0},

		{"stage ok", rules.APIStageThrottlingLogging, stage, okStage(100), rules.Env{DryRun: true}, nil, 0},
		{"stage burst 0", rules.APIStageThrottlingLogging, stage, okStage(0), rules.Env{}, nil, 1},
		{"stage burst computed", rules.APIStageThrottlingLogging, stage, okStage(computed()), rules.Env{DryRun: true}, nil, 1},
		{"stage burst as string", rules.APIStageThrottlingLogging, stage, okStage("100"), rules.Env{}, nil, 0},
		{"stage burst malformed", rules.APIStageThrottlingLogging, stage, okStage("lots"), rules.Env{}, nil, 1},
		{"stage without anything", rules.APIStageThrottlingLogging, stage, map[string]any{}, rules.Env{}, nil, 4},

		{"route with IAM", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "AWS_IAM"}, rules.Env{}, nil, 0},
		{"route NONE", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"}, rules.Env{}, nil, 1},
		{"route absent type", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "GET /x"}, rules.Env{}, nil, 1},
		{"route NONE allow-listed", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"}, rules.Env{},
			rules.PackConfig{"apigw-route-authorization": {Properties: rules.Config{"publicRoutes": []any{"POST /submit"}}}}, 0},
		{"route NONE declared by its stack", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"},
			declares("POST /submit"), nil, 0},
		{"route NONE, stack declares another", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"},
			declares("GET /health, POST /other"), nil, 1},
		{"route NONE, stack declares none", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"},
			declares(""), nil, 1},
		{"route NONE declared by another project's key", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"},
			rules.Env{Project: "other", Config: map[string]string{"sluice:publicRoutes": "POST /submit"}}, nil, 1},
		{"route NONE declared, stack config not trusted", rules.APIRouteAuthorization, route, map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"},
			declares("POST /submit"), rules.PackConfig{"apigw-route-authorization": {Properties: rules.Config{"trustStackConfig": false}}}, 1},

		{"log retention 30", rules.LogGroupRetention, logs, map[string]any{"retentionInDays": 30}, rules.Env{}, nil, 0},
		{"log retention 0 (never)", rules.LogGroupRetention, logs, map[string]any{"retentionInDays": 0}, rules.Env{}, nil, 1},
		{"log retention computed", rules.LogGroupRetention, logs, map[string]any{"retentionInDays": computed()}, rules.Env{DryRun: true}, nil, 1},

		{"dev database needs no safeguards", rules.ProductionSafeguards, db, map[string]any{}, rules.Env{Stack: "dev"}, nil, 0},
		{"prod database without safeguards", rules.ProductionSafeguards, db, map[string]any{}, rules.Env{Stack: "prod"}, nil, 3},
		{"prod database with safeguards", rules.ProductionSafeguards, db, map[string]any{"deletionProtection": true, "multiAz": true, "backupRetentionPeriod": 7}, rules.Env{Stack: "prod"}, nil, 0},
		{"production by config", rules.ProductionSafeguards, db, map[string]any{"multiAz": true, "deletionProtection": true, "backupRetentionPeriod": 7}, rules.Env{Stack: "live"},
			rules.PackConfig{"production-safeguards": {Properties: rules.Config{"production": true, "minBackupRetentionDays": 14}}}, 1},
		{"production stacks from config", rules.ProductionSafeguards, db, map[string]any{}, rules.Env{Stack: "prod"},
			rules.PackConfig{"production-safeguards": {Properties: rules.Config{"productionStacks": []any{"live"}}}}, 0},
		{"config of the wrong type is reported, not a crash", rules.ProductionSafeguards, db, map[string]any{}, rules.Env{Stack: "prod"},
			rules.PackConfig{"production-safeguards": {Properties: rules.Config{"minBackupRetentionDays": "seven"}}}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rules.Resource{Type: tc.typ, Name: "r", URN: rulestest.URN(tc.typ, "r"), Properties: props(tc.props)}
			vs := tc.policy.CheckResource(r, tc.cfg, tc.env)
			if len(vs) != tc.want {
				t.Fatalf("got %d violations, want %d: %+v", len(vs), tc.want, vs)
			}
			for _, v := range vs {
				if v.Policy != tc.policy.Name || v.URN != r.URN || v.Message == "" || v.Message[0] != '[' {
					t.Errorf("malformed violation %+v", v)
				}
			}
		})
	}
}

// declares is the environment of a sluice stack whose config declares
// routes public.
func declares(routes string) rules.Env {
	return rules.Env{Stack: "dev", Project: "sluice", Config: map[string]string{"sluice:publicRoutes": routes, "aws:region": "ap-northeast-1"}}
}
