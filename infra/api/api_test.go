package api_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/api"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/routeauth"
	"github.com/sluicehq/sluice/internal/intake"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func validArgs() api.Args {
	edge := componenttest.Settings().API
	edge.Auth, edge.ThrottleRate, edge.ThrottleBurst = routeauth.None, 500, 2000
	return api.Args{
		API:              edge,
		Name:             "sluice-dev",
		QueueARN:         pulumi.String(componenttest.ExampleQueueARN),
		QueueURL:         pulumi.String(componenttest.ExampleQueueURL),
		LogRetentionDays: 14,
		Tags:             map[string]string{"project": "sluice", "stack": "dev"},
	}
}

func TestArgsValidate(t *testing.T) {
	jwt := func(a *api.Args) {
		a.Auth, a.JWTIssuer, a.JWTAudience = routeauth.JWT, "https://issuer.example.com/", []string{"sluice"}
	}
	tests := []struct {
		name   string
		modify func(*api.Args)
		field  string
	}{
		{"valid none", func(*api.Args) {}, ""},
		{"valid iam", func(a *api.Args) { a.Auth = routeauth.IAM }, ""},
		{"valid jwt", jwt, ""},
		{"valid cors", func(a *api.Args) { a.CORSAllowOrigins = []string{"https://app.example.com", "*"} }, ""},
		{"no name", func(a *api.Args) { a.Name = "" }, "Name"},
		{"no queue arn", func(a *api.Args) { a.QueueARN = nil }, "QueueARN"},
		{"no queue url", func(a *api.Args) { a.QueueURL = nil }, "QueueURL"},
		{"bad auth", func(a *api.Args) { a.Auth = "COGNITO" }, "API.Auth"},
		{"jwt http issuer", func(a *api.Args) { jwt(a); a.JWTIssuer = "http://issuer" }, "API.JWTIssuer"},
		{"jwt no audience", func(a *api.Args) { jwt(a); a.JWTAudience = nil }, "API.JWTAudience"},
		{"issuer without jwt", func(a *api.Args) { a.JWTIssuer = "https://issuer" }, "API.JWTIssuer"},
		{"zero rate", func(a *api.Args) { a.ThrottleRate = 0 }, "API.ThrottleRate"},
		{"zero burst", func(a *api.Args) { a.ThrottleBurst = 0 }, "API.ThrottleBurst"},
		{"retention", func(a *api.Args) { a.LogRetentionDays = 2 }, "LogRetentionDays"},
		{"http origin", func(a *api.Args) { a.CORSAllowOrigins = []string{"http://app.example.com"} }, "API.CORSAllowOrigins"},
		{"localhost origin", func(a *api.Args) { a.CORSAllowOrigins = []string{"http://localhost:3000"} }, ""},
		{"audience without jwt", func(a *api.Args) { a.JWTAudience = []string{"a"} }, "API.JWTAudience"},
		{"rate above the account's", func(a *api.Args) { a.ThrottleRate = 10001 }, "API.ThrottleRate"},
		{"burst above the account's", func(a *api.Args) { a.ThrottleBurst = 5001 }, "API.ThrottleBurst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

func TestAPI(t *testing.T) {
	var out map[string]any
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		a, err := api.New(ctx, "api", validArgs())
		if err != nil {
			return err
		}
		out, err = componenttest.Await(ctx, map[string]pulumi.Output{"endpoint": a.Endpoint, "submitUrl": a.SubmitURL})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	apiRes := m.One(t, "aws:apigatewayv2/api:Api", "api")
	if apiRes.Inputs["protocolType"].StringValue() != "HTTP" {
		t.Errorf("protocolType %v", apiRes.Inputs["protocolType"])
	}
	if _, ok := apiRes.Inputs["corsConfiguration"]; ok {
		t.Error("CORS configured without origins")
	}

	integ := m.One(t, "aws:apigatewayv2/integration:Integration", "api-sqs")
	for k, want := range map[string]string{
		"apiId": apiRes.ID, "integrationType": "AWS_PROXY", "integrationSubtype": "SQS-SendMessage", "payloadFormatVersion": "1.0",
	} {
		if got := integ.Inputs[resource.PropertyKey(k)].StringValue(); got != want {
			t.Errorf("integration %s = %q, want %q", k, got, want)
		}
	}
	// The request parameters are intake's, which offline/local/edge evaluates:
	// the body passes through unchanged (idempotency key included) and no
	// header is mapped, so a request without Idempotency-Key works as before.
	params := integ.Inputs["requestParameters"].ObjectValue()
	want := intake.Parameters()
	want[intake.QueueURLParameter] = componenttest.ExampleQueueURL
	got := map[string]string{}
	for k, v := range params {
		got[string(k)] = v.StringValue()
	}
	if !maps.Equal(got, want) {
		t.Errorf("requestParameters %v, want %v", got, want)
	}
	if got["MessageBody"] != "$request.body" {
		t.Errorf("MessageBody = %q, want the whole body passed through ($request.body)", got["MessageBody"])
	}
	for k, v := range got {
		if strings.Contains(strings.ToLower(v), "request.header") {
			t.Errorf("parameter %s maps a request header (%s): a mapped header is mandatory, which would refuse requests without it", k, v)
		}
	}

	// The integration's credentials are the role whose only permission is
	// SendMessage on this queue.
	role := m.One(t, "aws:iam/role:Role", "api-sqs-role")
	wantRoleARN := role.Outputs["arn"].StringValue()
	if !strings.HasPrefix(wantRoleARN, "arn:aws:iam::123456789012:role/") {
		t.Fatalf("mocked role ARN %q", wantRoleARN)
	}
	if got := integ.Inputs["credentialsArn"].StringValue(); got != wantRoleARN {
		t.Errorf("credentialsArn %q, want the API role %q", got, wantRoleARN)
	}
	trust, err := iamdoc.Parse(role.Inputs["assumeRolePolicy"].StringValue())
	if err != nil || trust.Statement[0].Principal.Service != "apigateway.amazonaws.com" {
		t.Errorf("trust policy %+v (%v), want apigateway.amazonaws.com", trust, err)
	}
	policy, err := iamdoc.Parse(m.One(t, "aws:iam/rolePolicy:RolePolicy", "api-sqs-policy").Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.CheckWildcards(); err != nil {
		t.Error(err)
	}
	if len(policy.Statement) != 1 || strings.Join(policy.Statement[0].Action, ",") != "sqs:SendMessage" ||
		strings.Join(policy.Statement[0].Resource, ",") != componenttest.ExampleQueueARN {
		t.Errorf("API role policy %+v, want only sqs:SendMessage on %s", policy, componenttest.ExampleQueueARN)
	}
	if !integ.DependsOnName("api-sqs-policy") {
		t.Errorf("integration deps %v: want the role policy in place first", integ.Dependencies)
	}

	route := m.One(t, "aws:apigatewayv2/route:Route", "api-submit")
	if route.Inputs["routeKey"].StringValue() != "POST /submit" || route.Inputs["target"].StringValue() != "integrations/"+integ.ID {
		t.Errorf("route %v → %v", route.Inputs["routeKey"], route.Inputs["target"])
	}
	if route.Inputs["authorizationType"].StringValue() != "NONE" {
		t.Errorf("authorizationType %v, want NONE", route.Inputs["authorizationType"])
	}

	stage := m.One(t, "aws:apigatewayv2/stage:Stage", "api-default")
	if stage.Inputs["apiId"].StringValue() != apiRes.ID || route.Inputs["apiId"].StringValue() != apiRes.ID {
		t.Errorf("stage and route belong to %v / %v, want the API %s", stage.Inputs["apiId"], route.Inputs["apiId"], apiRes.ID)
	}
	if stage.Inputs["name"].StringValue() != "$default" || !stage.Inputs["autoDeploy"].BoolValue() {
		t.Errorf("stage %v autoDeploy %v", stage.Inputs["name"], stage.Inputs["autoDeploy"])
	}
	rs := stage.Inputs["defaultRouteSettings"].ObjectValue()
	if rs["throttlingRateLimit"].NumberValue() != 500 || rs["throttlingBurstLimit"].NumberValue() != 2000 {
		t.Errorf("throttling %v", rs)
	}
	logs := stage.Inputs["accessLogSettings"].ObjectValue()
	logGroup := m.One(t, "aws:cloudwatch/logGroup:LogGroup", "api-access-logs")
	wantDest := "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/apigateway/sluice-dev/access"
	if logs["destinationArn"].StringValue() != wantDest {
		t.Errorf("access logs go to %v, want %s", logs["destinationArn"], wantDest)
	}
	if logGroup.Inputs["retentionInDays"].NumberValue() != 14 {
		t.Errorf("access log retention %v", logGroup.Inputs["retentionInDays"])
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(logs["format"].StringValue()), &format); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	if format["requestId"] != "$context.requestId" || format["integrationError"] == "" || format["status"] != "$context.status" {
		t.Errorf("access log format %v", format)
	}

	endpoint, submit := out["endpoint"].(string), out["submitUrl"].(string)
	if endpoint != apiRes.Outputs["apiEndpoint"].StringValue() || !strings.HasPrefix(endpoint, "https://"+apiRes.ID+".execute-api.ap-northeast-1.amazonaws.com") || submit != endpoint+"/submit" {
		t.Errorf("endpoint %q submit %q", endpoint, submit)
	}

	m.CheckParentedAndTagged(t, api.Type, "dev")
}

func TestAuthModes(t *testing.T) {
	tests := []struct {
		name           string
		modify         func(*api.Args)
		wantType       string
		wantAuthorizer bool
	}{
		{"iam", func(a *api.Args) { a.Auth = routeauth.IAM }, "AWS_IAM", false},
		{"jwt", func(a *api.Args) {
			a.Auth, a.JWTIssuer, a.JWTAudience = routeauth.JWT, "https://issuer.example.com/", []string{"sluice-clients"}
		}, "JWT", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validArgs()
			tt.modify(&a)
			a.CORSAllowOrigins = []string{"https://app.example.com"}
			m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
				_, err := api.New(ctx, "api", a)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			route := m.One(t, "aws:apigatewayv2/route:Route", "api-submit")
			if got := route.Inputs["authorizationType"].StringValue(); got != tt.wantType {
				t.Errorf("authorizationType %q, want %q", got, tt.wantType)
			}
			auths := m.All("aws:apigatewayv2/authorizer:Authorizer")
			if (len(auths) == 1) != tt.wantAuthorizer {
				t.Fatalf("%d authorizers, want one: %v", len(auths), tt.wantAuthorizer)
			}
			if tt.wantAuthorizer {
				jwt := auths[0].Inputs["jwtConfiguration"].ObjectValue()
				if jwt["issuer"].StringValue() != a.JWTIssuer || jwt["audiences"].ArrayValue()[0].StringValue() != "sluice-clients" {
					t.Errorf("jwtConfiguration %v", jwt)
				}
				if route.Inputs["authorizerId"].StringValue() != auths[0].ID || auths[0].ID == "" {
					t.Errorf("route authorizerId %v, want the authorizer's id", route.Inputs["authorizerId"])
				}
			}
			cors := m.One(t, "aws:apigatewayv2/api:Api", "api").Inputs["corsConfiguration"].ObjectValue()
			if o := cors["allowOrigins"].ArrayValue(); len(o) != 1 || o[0].StringValue() != "https://app.example.com" {
				t.Errorf("CORS origins %v", o)
			}
		})
	}
}
