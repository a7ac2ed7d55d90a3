package rules_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// doc builds a policy document of one statement.
func doc(stmt string) string {
	return `{"Version":"2012-10-17","Statement":[` + stmt + `]}`
}

// allow is an Allow statement for principal p with an optional condition
// block.
func allow(p, cond string) string {
	s := `{"Effect":"Allow","Principal":` + p + `,"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:ap-northeast-1:123456789012:q"`
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + `}`
}

// allowAll is a document of one allow statement.
func allowAll(p, cond string) string { return doc(allow(p, cond)) }

// TestResourcePolicyNotPublic covers the principal forms, the condition
// keys, operators and values that do and do not narrow a grant for
// everyone, every resource type, and computed, secret and malformed
// documents. want is the number of violations.
func TestResourcePolicyNotPublic(t *testing.T) {
	const (
		queuePolicy = "aws:sqs/queuePolicy:QueuePolicy"
		permission  = "aws:lambda/permission:Permission"
	)
	withKeys := func(keys ...any) rules.PackConfig {
		return rules.PackConfig{"resource-policy-not-public": {Properties: rules.Config{"narrowingConditionKeys": keys}}}
	}
	preview, up := rules.Env{DryRun: true}, rules.Env{}
	type testCase struct {
		name  string
		typ   string
		props map[string]any
		env   rules.Env
		cfg   rules.PackConfig
		want  int
		msg   string // a substring of the first message
	}
	cases := []testCase{
		// Allowed forms.
		{"the program's TLS-only Deny for everyone", queuePolicy, map[string]any{"policy": doc(`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)}, up, nil, 0, ""},
		{"scoped service grant", queuePolicy, map[string]any{"policy": doc(`{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:ap-northeast-1:123456789012:t"}}}`)}, up, nil, 0, ""},
		{"account root principal", queuePolicy, map[string]any{"policy": allowAll(`{"AWS":"arn:aws:iam::123456789012:root"}`, "")}, up, nil, 0, ""},
		{"account id principal", queuePolicy, map[string]any{"policy": allowAll(`{"AWS":["123456789012","arn:aws:iam::210987654321:role/r"]}`, "")}, up, nil, 0, ""},
		{"* pinned to the source account", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":"123456789012"}}`)}, up, nil, 0, ""},
		{"* pinned by the SNS default AWS:SourceOwner (keys ignore case)", queuePolicy, map[string]any{"policy": allowAll(`{"AWS":"*"}`, `{"StringEquals":{"AWS:SourceOwner":"123456789012"}}`)}, up, nil, 0, ""},
		{"* pinned to one topic (SNS to SQS)", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:ap-northeast-1:123456789012:t"}}`)}, up, nil, 0, ""},
		{"* pinned to an ARN with a wildcard below a fixed account", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLike":{"aws:SourceArn":"arn:aws:execute-api:*:123456789012:api-1/*"}}`)}, up, nil, 0, ""},
		{"* pinned to one S3 bucket", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::sluice-uploads"}}`)}, up, nil, 0, ""},
		{"* pinned to the organization", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}`)}, up, nil, 0, ""},
		{"* pinned to an organization path", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]}}`)}, up, nil, 0, ""},
		{"* pinned to a VPC endpoint", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceVpce":"vpce-0a1b2c3d"}}`)}, up, nil, 0, ""},
		{"KMS default: any principal of the account through a service", "aws:kms/key:Key", map[string]any{"policy": allowAll(`{"AWS":"*"}`, `{"StringEquals":{"kms:CallerAccount":"123456789012","kms:ViaService":"sns.ap-northeast-1.amazonaws.com"}}`)}, up, nil, 0, ""},
		{"account id written as a number", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":123456789012}}`)}, up, nil, 0, ""},
		{"several fixed accounts", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":["123456789012","210987654321"]}}`)}, up, nil, 0, ""},
		{"a weak condition ANDed with a narrowing one", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceAccount":"123456789012"}}`)}, up, nil, 0, ""},
		{"aws:SourceIp counts once configured", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`)}, up, withKeys("aws:SourceIp"), 0, ""},
		{"a single Statement object", queuePolicy, map[string]any{"policy": `{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sqs:*","Resource":"*"}}`}, up, nil, 0, ""},
		{"document computed in preview", queuePolicy, map[string]any{"policy": computed()}, preview, nil, 0, ""},
		{"no document", "aws:sqs/queue:Queue", map[string]any{"name": "q"}, up, nil, 0, ""},
		{"an identity policy is not a resource policy", "aws:iam/rolePolicy:RolePolicy", map[string]any{"policy": allowAll(`"*"`, "")}, up, nil, 0, ""},

		// Grants to everyone.
		{"Principal *", queuePolicy, map[string]any{"policy": allowAll(`"*"`, "")}, up, nil, 1, `allows [sqs:SendMessage] to any principal (Principal "*")`},
		{"Principal [*]", queuePolicy, map[string]any{"policy": allowAll(`["*"]`, "")}, up, nil, 1, "any principal"},
		{"Principal {AWS: *}", queuePolicy, map[string]any{"policy": allowAll(`{"AWS":"*"}`, "")}, up, nil, 1, "any principal"},
		{"* among named principals", queuePolicy, map[string]any{"policy": allowAll(`{"AWS":["arn:aws:iam::123456789012:root","*"]}`, "")}, up, nil, 1, "any principal"},
		{"NotPrincipal with Allow", queuePolicy, map[string]any{"policy": doc(`{"Sid":"AllButOne","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/r"},"Action":"sqs:*","Resource":"*"}`)}, up, nil, 1, `Statement[0] ("AllButOne") allows [sqs:*] to everyone except the principals under NotPrincipal`},
		{"NotPrincipal with Deny", queuePolicy, map[string]any{"policy": doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/r"},"Action":"sqs:*","Resource":"*"}`)}, up, nil, 0, ""},
		{"NotAction for everyone", queuePolicy, map[string]any{"policy": doc(`{"Effect":"Allow","Principal":"*","NotAction":"sqs:DeleteQueue","Resource":"*"}`)}, up, nil, 1, "[every action but sqs:DeleteQueue]"},
		{"negated account condition", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringNotEquals":{"aws:SourceAccount":"123456789012"}}`)}, up, nil, 1, "a negated operator admits every other value"},
		{"negated ARN condition", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:ap-northeast-1:123456789012:t"}}`)}, up, nil, 1, "negated"},
		{"IfExists condition", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:ap-northeast-1:123456789012:t"}}`)}, up, nil, 1, "...IfExists is true when the key is absent"},
		{"ForAllValues condition", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":["o-a1b2c3d4e5"]}}`)}, up, nil, 1, "ForAllValues: is true"},
		{"Null condition", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"Null":{"aws:SourceAccount":"false"}}`)}, up, nil, 1, "does not require a named value"},
		{"wildcard account", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringLike":{"aws:SourceAccount":"*"}}`)}, up, nil, 1, `"*" is not a fixed value`},
		{"account prefix", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringLike":{"aws:SourceAccount":"1234*"}}`)}, up, nil, 1, "not a fixed value"},
		{"ARN in any account", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`)}, up, nil, 1, "not a fixed value"},
		{"ARN of any service", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLike":{"aws:SourceArn":"arn:aws:*:ap-northeast-1:123456789012:x"}}`)}, up, nil, 1, "not a fixed value"},
		{"bucket name prefix anyone can register", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::sluice-*"}}`)}, up, nil, 1, "not a fixed value"},
		{"policy variable", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}`)}, up, nil, 1, "not a fixed value"},
		{"one wildcard among fixed accounts", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringLike":{"aws:SourceAccount":["123456789012","*"]}}`)}, up, nil, 1, "not a fixed value"},
		{"empty value list", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":[]}}`)}, up, nil, 1, "has no value"},
		{"organization path of any organization", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["o-*"]}}`)}, up, nil, 1, "not a fixed value"},
		{"TLS-only condition on an Allow", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"Bool":{"aws:SecureTransport":"true"}}`)}, up, nil, 1, "without a condition"},
		{"kms:ViaService alone", "aws:kms/key:Key", map[string]any{"policy": allowAll(`{"AWS":"*"}`, `{"StringEquals":{"kms:ViaService":"sns.ap-northeast-1.amazonaws.com"}}`)}, up, nil, 1, "any principal"},
		{"aws:SourceIp does not count by default", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`)}, up, nil, 1, "any principal"},
		{"aws:SourceIp of the whole internet", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`)}, up, withKeys("aws:SourceIp"), 1, "not a fixed value"},
		{"no narrowing keys configured", queuePolicy, map[string]any{"policy": allowAll(`"*"`, `{"StringEquals":{"aws:SourceAccount":"123456789012"}}`)}, up, withKeys(), 1, "any principal"},
		{"two statements for everyone", queuePolicy, map[string]any{"policy": doc(allow(`"*"`, "") + "," + allow(`{"AWS":"*"}`, ""))}, up, nil, 2, "Statement[0]"},
		{"document computed at up", queuePolicy, map[string]any{"policy": computed()}, up, nil, 1, "still unknown during the update"},
		{"document as a secret", queuePolicy, map[string]any{"policy": secret(allowAll(`"*"`, ""))}, up, nil, 1, "any principal"},
		{"malformed document", queuePolicy, map[string]any{"policy": `{"Statement": [`}, up, nil, 1, "not valid JSON"},
		{"document without statements", queuePolicy, map[string]any{"policy": `{"Version":"2012-10-17"}`}, up, nil, 1, "no Statement"},

		// Lambda permissions.
		{"function public", permission, map[string]any{"principal": "*", "action": "lambda:InvokeFunction"}, up, nil, 1, `principal is "*" with no fixed sourceArn, sourceAccount, principalOrgId`},
		{"function URL public", permission, map[string]any{"principal": "*", "action": "lambda:InvokeFunctionUrl", "functionUrlAuthType": "NONE"}, up, nil, 1, "anyone can invoke"},
		{"function public as a secret", permission, map[string]any{"principal": secret("*")}, up, nil, 1, "anyone can invoke"},
		{"* pinned to the source account", permission, map[string]any{"principal": "*", "sourceAccount": "123456789012"}, up, nil, 0, ""},
		{"* pinned to the organization", permission, map[string]any{"principal": "*", "principalOrgId": "o-a1b2c3d4e5"}, up, nil, 0, ""},
		{"* pinned to a source ARN", permission, map[string]any{"principal": "*", "sourceArn": "arn:aws:events:ap-northeast-1:123456789012:rule/r"}, up, nil, 0, ""},
		{"* with a wildcard source account", permission, map[string]any{"principal": "*", "sourceAccount": "*"}, up, nil, 1, `sourceAccount "*" is not a fixed value`},
		{"HTTP API with its execution ARN", permission, map[string]any{"principal": "apigateway.amazonaws.com", "sourceArn": "arn:aws:execute-api:ap-northeast-1:123456789012:api-1/*/*"}, up, nil, 0, ""},
		{"service pinned to the account", permission, map[string]any{"principal": "s3.amazonaws.com", "sourceAccount": "123456789012"}, up, nil, 0, ""},
		{"HTTP API from any account", permission, map[string]any{"principal": "apigateway.amazonaws.com"}, up, nil, 1, "on behalf of any account's resource"},
		{"organization id does not scope a service", permission, map[string]any{"principal": "events.amazonaws.com", "principalOrgId": "o-a1b2c3d4e5"}, up, nil, 1, "confused deputy"},
		{"service with an ARN in any account", permission, map[string]any{"principal": "apigateway.amazonaws.com", "sourceArn": "arn:aws:execute-api:ap-northeast-1:*:api-1/*/*"}, up, nil, 1, "not a fixed value"},
		{"another account", permission, map[string]any{"principal": "210987654321"}, up, nil, 0, ""},
		{"a role", permission, map[string]any{"principal": "arn:aws:iam::123456789012:role/caller"}, up, nil, 0, ""},
		{"principal computed in preview", permission, map[string]any{"principal": computed()}, preview, nil, 0, ""},
		{"principal computed at up", permission, map[string]any{"principal": computed()}, up, nil, 1, "principal is still unknown"},
		{"source ARN computed in preview", permission, map[string]any{"principal": "apigateway.amazonaws.com", "sourceArn": computed()}, preview, nil, 0, ""},
		{"source ARN computed at up", permission, map[string]any{"principal": "apigateway.amazonaws.com", "sourceArn": computed()}, up, nil, 1, "sourceArn/sourceAccount is still unknown"},
	}
	public := allowAll(`"*"`, "")
	for _, typ := range []string{
		"aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy",
		"aws:kms/key:Key", "aws:kms/keyPolicy:KeyPolicy", "aws:kms/replicaKey:ReplicaKey", "aws:kms/externalKey:ExternalKey",
		"aws:kms/replicaExternalKey:ReplicaExternalKey", "aws:secretsmanager/secret:Secret",
		"aws:secretsmanager/secretPolicy:SecretPolicy", "aws:apigateway/restApi:RestApi",
		"aws:apigateway/restApiPolicy:RestApiPolicy",
	} {
		cases = append(cases, testCase{"public " + typ, typ, map[string]any{"policy": public}, up, nil, 1, "any principal"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rules.Resource{Type: tc.typ, Name: "r", URN: rulestest.URN(tc.typ, "r"), Properties: props(tc.props)}
			vs := rules.ResourcePolicyNotPublic.CheckResource(r, tc.cfg, tc.env)
			if len(vs) != tc.want {
				t.Fatalf("got %d violations, want %d: %+v", len(vs), tc.want, vs)
			}
			for _, v := range vs {
				if v.EnforcementLevel != rules.Mandatory || !strings.HasPrefix(v.Message, "[critical] ") ||
					!strings.Contains(v.Message, "Fix:") || strings.Contains(v.Message, "internal error") {
					t.Errorf("malformed violation %+v", v)
				}
			}
			if tc.want > 0 && !strings.Contains(vs[0].Message, tc.msg) {
				t.Errorf("message %q lacks %q", vs[0].Message, tc.msg)
			}
		})
	}
}
