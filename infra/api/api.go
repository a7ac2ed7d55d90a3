// Package api defines the edge of Sluice: an API Gateway HTTP API whose
// POST /submit route sends the request body straight to the SQS queue
// (AWS_PROXY integration, subtype SQS-SendMessage), so a burst is accepted
// as fast as SQS takes it and no code runs in the request path.
package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/function"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/internal/intake"
)

// AuthMode is the authorization of the POST /submit route.
type AuthMode string

// Route authorization modes.
const (
	AuthNone AuthMode = "none"
	AuthIAM  AuthMode = "AWS_IAM"
	AuthJWT  AuthMode = "JWT"
)

// RouteKey is the one route of the API.
const RouteKey = "POST /submit"

// SendSid is the Sid of the API role's queue statement.
const SendSid = "SendToOwnQueue"

// Args configures the API.
type Args struct {
	// Name is the API name; the access log group is
	// /aws/apigateway/<Name>/access.
	Name string
	// QueueARN and QueueURL identify the main queue: the URL goes into
	// the integration, the ARN into the role's only statement.
	QueueARN pulumi.StringInput
	QueueURL pulumi.StringInput
	// Auth is the route's authorization: none, AWS_IAM (SigV4-signed
	// callers) or JWT (JWTIssuer and JWTAudience required).
	Auth AuthMode
	// JWTIssuer is the https:// issuer URL of the JWT authorizer.
	JWTIssuer string
	// JWTAudience lists the accepted aud values of the JWT authorizer.
	JWTAudience []string
	// ThrottleRate is the stage's steady-state requests per second (> 0).
	ThrottleRate float64
	// ThrottleBurst is the stage's token bucket size (≥ 1); it must cover
	// the largest burst that should be accepted without 429.
	ThrottleBurst int
	// CORSAllowOrigins enables CORS for these origins ("*" or https://…);
	// empty means no CORS configuration.
	CORSAllowOrigins []string
	// LogRetentionDays is the access log retention, one of
	// function.LogRetentionDays.
	LogRetentionDays int
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports the first invalid field by name.
func (a Args) Validate() error {
	invalid := func(field, format string, v ...any) error {
		return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, v...))
	}
	switch {
	case a.Name == "" || len(a.Name) > 128:
		return invalid("Name", "%q: want 1–128 characters", a.Name)
	case a.QueueARN == nil:
		return invalid("QueueARN", "required")
	case a.QueueURL == nil:
		return invalid("QueueURL", "required")
	case a.Auth != AuthNone && a.Auth != AuthIAM && a.Auth != AuthJWT:
		return invalid("Auth", "%q: want none, AWS_IAM or JWT", a.Auth)
	case a.Auth == AuthJWT && !strings.HasPrefix(a.JWTIssuer, "https://"):
		return invalid("JWTIssuer", "%q: JWT authorization needs an https:// issuer URL", a.JWTIssuer)
	case a.Auth == AuthJWT && len(a.JWTAudience) == 0:
		return invalid("JWTAudience", "JWT authorization needs at least one audience")
	case a.Auth != AuthJWT && (a.JWTIssuer != "" || len(a.JWTAudience) > 0):
		return invalid("JWTIssuer", "set with Auth %q; JWT settings apply only to Auth JWT", a.Auth)
	case !(a.ThrottleRate > 0):
		return invalid("ThrottleRate", "%v: want more than 0 requests per second", a.ThrottleRate)
	case a.ThrottleBurst < 1:
		return invalid("ThrottleBurst", "%d: want at least 1", a.ThrottleBurst)
	case !slices.Contains(function.LogRetentionDays, a.LogRetentionDays):
		return invalid("LogRetentionDays", "%d: want one of %v", a.LogRetentionDays, function.LogRetentionDays)
	}
	for _, o := range a.CORSAllowOrigins {
		if o != "*" && !strings.HasPrefix(o, "https://") {
			return invalid("CORSAllowOrigins", "%q: want \"*\" or an https:// origin", o)
		}
	}
	return nil
}

// API is the HTTP API, its SQS integration and its $default stage.
type API struct {
	pulumi.ResourceState

	API         *apigatewayv2.Api
	Integration *apigatewayv2.Integration
	Route       *apigatewayv2.Route
	Stage       *apigatewayv2.Stage
	Role        *iam.Role
	LogGroup    *cloudwatch.LogGroup

	APIID        pulumi.StringOutput `pulumi:"apiId"`
	Endpoint     pulumi.StringOutput `pulumi:"endpoint"`
	SubmitURL    pulumi.StringOutput `pulumi:"submitUrl"`
	LogGroupName pulumi.StringOutput `pulumi:"logGroupName"`
}

// accessLogFormat is the stage's access log line: one JSON object with the
// request, the caller, and SQS's answer, so a failed SendMessage (too large,
// no permission) can be diagnosed from the log alone.
func accessLogFormat() string {
	b, err := json.Marshal(map[string]string{
		"requestId":          "$context.requestId",
		"requestTime":        "$context.requestTime",
		"ip":                 "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"httpMethod":         "$context.httpMethod",
		"routeKey":           "$context.routeKey",
		"status":             "$context.status",
		"protocol":           "$context.protocol",
		"responseLength":     "$context.responseLength",
		"responseLatency":    "$context.responseLatency",
		"integrationStatus":  "$context.integration.status",
		"integrationLatency": "$context.integration.latency",
		"integrationError":   "$context.integrationErrorMessage",
		"errorMessage":       "$context.error.message",
		"authorizerError":    "$context.authorizer.error",
	})
	if err != nil {
		// A map of strings always marshals.
		panic(err)
	}
	return string(b)
}

// New registers the API (type sluice:api:Api).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*API, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("api %s: %w", name, err)
	}
	c := &API{}
	if err := ctx.RegisterComponentResource("sluice:api:Api", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-access-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/aws/apigateway/%s/access", args.Name),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tags,
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}

	role, err := iam.NewRole(ctx, name+"-sqs-role", &iam.RoleArgs{
		Description:      pulumi.Sprintf("API Gateway %s sends POST /submit bodies to the queue", args.Name),
		AssumeRolePolicy: pulumi.String(iamdoc.AssumeRole("apigateway.amazonaws.com")),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-sqs-policy", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: args.QueueARN.ToStringOutput().ApplyT(func(queueARN string) (string, error) {
			return iamdoc.New(iamdoc.Allow(SendSid, []string{"sqs:SendMessage"}, queueARN)).JSON()
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}

	apiArgs := &apigatewayv2.ApiArgs{
		Name:         pulumi.String(args.Name),
		ProtocolType: pulumi.String("HTTP"),
		Description:  pulumi.String("Sluice intake: POST /submit → SQS"),
		Tags:         tags,
	}
	if len(args.CORSAllowOrigins) > 0 {
		apiArgs.CorsConfiguration = &apigatewayv2.ApiCorsConfigurationArgs{
			AllowOrigins: pulumi.ToStringArray(args.CORSAllowOrigins),
			AllowMethods: pulumi.ToStringArray([]string{"POST", "OPTIONS"}),
			AllowHeaders: pulumi.ToStringArray([]string{"authorization", "content-type", "x-amz-date", "x-amz-security-token"}),
			MaxAge:       pulumi.Int(300),
		}
	}
	httpAPI, err := apigatewayv2.NewApi(ctx, name, apiArgs, parent)
	if err != nil {
		return nil, err
	}

	// The parameters local/edge emulates: one definition in intake.
	requestParameters := pulumi.StringMap{intake.QueueURLParameter: args.QueueURL}
	for k, v := range intake.Parameters() {
		requestParameters[k] = pulumi.String(v)
	}
	integration, err := apigatewayv2.NewIntegration(ctx, name+"-sqs", &apigatewayv2.IntegrationArgs{
		ApiId:                httpAPI.ID(),
		Description:          pulumi.String("SQS SendMessage of the raw request body"),
		IntegrationType:      pulumi.String("AWS_PROXY"),
		IntegrationSubtype:   pulumi.String("SQS-SendMessage"),
		PayloadFormatVersion: pulumi.String("1.0"),
		CredentialsArn:       role.Arn,
		RequestParameters:    requestParameters,
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}

	routeArgs := &apigatewayv2.RouteArgs{
		ApiId:             httpAPI.ID(),
		RouteKey:          pulumi.String(RouteKey),
		Target:            pulumi.Sprintf("integrations/%s", integration.ID()),
		AuthorizationType: pulumi.String("NONE"),
	}
	switch args.Auth {
	case AuthIAM:
		routeArgs.AuthorizationType = pulumi.String("AWS_IAM")
	case AuthJWT:
		authorizer, err := apigatewayv2.NewAuthorizer(ctx, name+"-jwt", &apigatewayv2.AuthorizerArgs{
			ApiId:          httpAPI.ID(),
			Name:           pulumi.String(args.Name + "-jwt"),
			AuthorizerType: pulumi.String("JWT"),
			IdentitySources: pulumi.StringArray{
				pulumi.String("$request.header.Authorization"),
			},
			JwtConfiguration: &apigatewayv2.AuthorizerJwtConfigurationArgs{
				Issuer:    pulumi.String(args.JWTIssuer),
				Audiences: pulumi.ToStringArray(args.JWTAudience),
			},
		}, parent)
		if err != nil {
			return nil, err
		}
		routeArgs.AuthorizationType = pulumi.String("JWT")
		routeArgs.AuthorizerId = authorizer.ID()
	}
	route, err := apigatewayv2.NewRoute(ctx, name+"-submit", routeArgs, parent)
	if err != nil {
		return nil, err
	}

	stage, err := apigatewayv2.NewStage(ctx, name+"-default", &apigatewayv2.StageArgs{
		ApiId:      httpAPI.ID(),
		Name:       pulumi.String("$default"),
		AutoDeploy: pulumi.Bool(true),
		DefaultRouteSettings: &apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit:    pulumi.Float64(args.ThrottleRate),
			ThrottlingBurstLimit:   pulumi.Int(args.ThrottleBurst),
			DetailedMetricsEnabled: pulumi.Bool(true),
		},
		AccessLogSettings: &apigatewayv2.StageAccessLogSettingsArgs{
			DestinationArn: logGroup.Arn,
			Format:         pulumi.String(accessLogFormat()),
		},
		Tags: tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{route}))
	if err != nil {
		return nil, err
	}

	c.API, c.Integration, c.Route, c.Stage, c.Role, c.LogGroup = httpAPI, integration, route, stage, role, logGroup
	c.APIID = httpAPI.ID().ToStringOutput()
	c.Endpoint = httpAPI.ApiEndpoint
	c.SubmitURL = pulumi.Sprintf("%s/submit", httpAPI.ApiEndpoint)
	c.LogGroupName = logGroup.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"apiId":        c.APIID,
		"endpoint":     c.Endpoint,
		"submitUrl":    c.SubmitURL,
		"logGroupName": c.LogGroupName,
	}); err != nil {
		return nil, err
	}
	return c, nil
}
