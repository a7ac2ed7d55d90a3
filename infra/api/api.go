// Package api defines the edge of Sluice: an API Gateway HTTP API whose
// POST /submit route sends the request body straight to the SQS queue
// (AWS_PROXY integration, subtype SQS-SendMessage), so a burst is accepted
// as fast as SQS takes it and no code runs in the request path.
package api

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/routeauth"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/intake"
)

// Type is the component's Pulumi type token.
const Type = "sluice:api:Api"

// SendSid is the Sid of the API role's queue statement.
const SendSid = "SendToOwnQueue"

// Args configures the API.
type Args struct {
	// API is the stack's API settings (docs/configuration.md), declared
	// and bounded once in infra/settings: the authorization of
	// routeauth.Submit (none, AWS_IAM for SigV4-signed callers, or JWT
	// with its issuer and audiences), the stage's throttle (a steady rate
	// and a token bucket that covers the largest burst to accept without
	// 429), and the origins CORS allows (none: no CORS configuration).
	settings.API
	// Name is the API name; the access log group is
	// /aws/apigateway/<Name>/access.
	Name string
	// QueueARN and QueueURL identify the main queue: the URL goes into
	// the integration, the ARN into the role's only statement.
	QueueARN pulumi.StringInput
	QueueURL pulumi.StringInput
	// LogRetentionDays is the access log retention, one of
	// limits.LogRetentionDays.
	LogRetentionDays int
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid setting, and the first invalid input, by
// field name.
func (a Args) Validate() error {
	var input error
	switch {
	case a.Name == "" || len(a.Name) > 128:
		input = limits.Invalid("Name", "%q: want 1–128 characters", a.Name)
	case a.QueueARN == nil:
		input = limits.Invalid("QueueARN", "required")
	case a.QueueURL == nil:
		input = limits.Invalid("QueueURL", "required")
	case !limits.ValidLogRetention(a.LogRetentionDays):
		input = limits.Invalid("LogRetentionDays", "%d: want %s", a.LogRetentionDays, limits.OneOf(limits.LogRetentionDays))
	}
	return errors.Join(a.API.Validate(), input)
}

// API is the HTTP API, its SQS integration and its $default stage.
type API struct {
	pulumi.ResourceState

	// APIID is the HTTP API's id (the alarms' ApiId dimension).
	APIID pulumi.StringOutput `pulumi:"apiId"`
	// Endpoint is the API's https:// base URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// SubmitURL is <Endpoint>/submit, where clients POST records.
	SubmitURL pulumi.StringOutput `pulumi:"submitUrl"`
	// LogGroupName is the access log group, /aws/apigateway/<Name>/access.
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

// New registers the API (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*API, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("api %s: %w", name, err)
	}
	c := &API{}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("api %s: %w", name, err)
	}
	child := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-access-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/aws/apigateway/%s/access", args.Name),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tags,
	}, child, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("log group %s: %w", name+"-access-logs", err)
	}

	role, err := iam.NewRole(ctx, name+"-sqs-role", &iam.RoleArgs{
		Description:      pulumi.Sprintf("API Gateway %s sends POST /submit bodies to the queue", args.Name),
		AssumeRolePolicy: pulumi.String(iamdoc.AssumeRole("apigateway.amazonaws.com")),
		Tags:             tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", name+"-sqs-role", err)
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-sqs-policy", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: args.QueueARN.ToStringOutput().ApplyT(func(queueARN string) (string, error) {
			return iamdoc.New(iamdoc.Allow(SendSid, []string{"sqs:SendMessage"}, queueARN)).JSON()
		}).(pulumi.StringOutput),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role policy %s: %w", name+"-sqs-policy", err)
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
	httpAPI, err := apigatewayv2.NewApi(ctx, name, apiArgs, child)
	if err != nil {
		return nil, fmt.Errorf("api %s: %w", name, err)
	}

	// The parameters offline/local/edge emulates: one definition in intake.
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
	}, child, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", name+"-sqs", err)
	}

	routeArgs := &apigatewayv2.RouteArgs{
		ApiId:             httpAPI.ID(),
		RouteKey:          pulumi.String(routeauth.Submit),
		Target:            pulumi.Sprintf("integrations/%s", integration.ID()),
		AuthorizationType: pulumi.String("NONE"),
	}
	switch args.Auth {
	case routeauth.IAM:
		routeArgs.AuthorizationType = pulumi.String("AWS_IAM")
	case routeauth.JWT:
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
		}, child)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: %w", name+"-jwt", err)
		}
		routeArgs.AuthorizationType = pulumi.String("JWT")
		routeArgs.AuthorizerId = authorizer.ID()
	}
	route, err := apigatewayv2.NewRoute(ctx, name+"-submit", routeArgs, child)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", name+"-submit", err)
	}

	if _, err := apigatewayv2.NewStage(ctx, name+"-default", &apigatewayv2.StageArgs{
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
	}, child, pulumi.DependsOn([]pulumi.Resource{route})); err != nil {
		return nil, fmt.Errorf("stage %s: %w", name+"-default", err)
	}

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
		return nil, fmt.Errorf("api %s outputs: %w", name, err)
	}
	return c, nil
}
