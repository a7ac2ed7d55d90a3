// Package rulestest provides what the policy tests share: a hand-built
// stack shaped exactly as pulumi-aws v6 sends its resources to an analyzer,
// and the single-property mutations that each break one safety property.
// The same mutations run against the real program's resources.
package rulestest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/policy/rules"
)

const (
	region  = "ap-northeast-1"
	account = "123456789012"
)

// Computed is a value that is unknown during preview.
func Computed() resource.PropertyValue { return resource.MakeComputed(resource.NewProperty("")) }

// Secret wraps v as a secret, as the engine sends secret inputs.
func Secret(v any) resource.PropertyValue { return resource.MakeSecret(resource.NewPropertyValue(v)) }

// URN builds the URN of a resource of the dev stack.
func URN(typ, name string) string {
	return fmt.Sprintf("urn:pulumi:dev::sluice::%s::%s", typ, name)
}

func res(typ, name, id string, props map[string]any) rules.Resource {
	return rules.Resource{Type: typ, Name: name, URN: URN(typ, name), ID: id, Properties: resource.NewPropertyMapFromMap(props)}
}

func arn(service, rest string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, rest)
}

func mustJSON(doc string) string { return strings.Join(strings.Fields(doc), " ") }

// Stack returns a compliant stack of the Sluice shape: a private VPC, MySQL
// behind an IAM-auth proxy, a queue with its DLQ, the consumer and the API.
// Each call returns fresh maps, so callers may mutate them.
func Stack() []rules.Resource {
	queueARN := arn("sqs", "sluice-dev-submissions")
	dlqARN := arn("sqs", "sluice-dev-submissions-dlq")
	return []rules.Resource{
		res("aws:ec2/vpc:Vpc", "vpc", "vpc-0a1", map[string]any{"cidrBlock": "10.40.0.0/16", "enableDnsHostnames": true}),
		res("aws:ec2/subnet:Subnet", "private-a", "subnet-0a1", map[string]any{"vpcId": "vpc-0a1", "cidrBlock": "10.40.1.0/24", "availabilityZone": "ap-northeast-1a", "mapPublicIpOnLaunch": false}),
		res("aws:ec2/subnet:Subnet", "private-c", "subnet-0c1", map[string]any{"vpcId": "vpc-0a1", "cidrBlock": "10.40.2.0/24", "availabilityZone": "ap-northeast-1c", "mapPublicIpOnLaunch": false}),
		res("aws:ec2/routeTable:RouteTable", "private", "rtb-0p1", map[string]any{"vpcId": "vpc-0a1"}),
		res("aws:ec2/routeTableAssociation:RouteTableAssociation", "private-a", "rtbassoc-1", map[string]any{"subnetId": "subnet-0a1", "routeTableId": "rtb-0p1"}),
		res("aws:ec2/routeTableAssociation:RouteTableAssociation", "private-c", "rtbassoc-2", map[string]any{"subnetId": "subnet-0c1", "routeTableId": "rtb-0p1"}),
		res("aws:ec2/securityGroup:SecurityGroup", "app", "sg-0app", map[string]any{"vpcId": "vpc-0a1", "description": "consumer",
			"egress": []any{map[string]any{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrBlocks": []any{"10.40.0.0/16"}}}}),
		res("aws:ec2/securityGroup:SecurityGroup", "db", "sg-0db", map[string]any{"vpcId": "vpc-0a1", "description": "proxy and database",
			"ingress": []any{map[string]any{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "securityGroups": []any{"sg-0app"}, "self": true}}}),
		res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-vpc", "sgr-1", map[string]any{
			"securityGroupId": "sg-0db", "ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrIpv4": "10.40.0.0/16"}),
		res("aws:rds/subnetGroup:SubnetGroup", "db", "sluice-dev-db", map[string]any{"name": "sluice-dev-db", "subnetIds": []any{"subnet-0a1", "subnet-0c1"}}),
		res("aws:rds/parameterGroup:ParameterGroup", "mysql", "sluice-dev-mysql8", map[string]any{"name": "sluice-dev-mysql8", "family": "mysql8.4",
			"parameters": []any{
				map[string]any{"name": "character_set_server", "value": "utf8mb4"},
				map[string]any{"name": "require_secure_transport", "value": "1"},
			}}),
		res("aws:rds/instance:Instance", "db", "sluice-dev", map[string]any{
			"identifier": "sluice-dev", "engine": "mysql", "engineVersion": "8.4", "instanceClass": "db.t4g.micro",
			"allocatedStorage": 20, "dbSubnetGroupName": "sluice-dev-db", "vpcSecurityGroupIds": []any{"sg-0db"},
			"parameterGroupName": "sluice-dev-mysql8", "publiclyAccessible": false, "storageEncrypted": true,
			"iamDatabaseAuthenticationEnabled": true, "username": "sluice_admin", "password": Secret("s3cr3t-password"),
			"deletionProtection": true, "multiAz": true, "backupRetentionPeriod": 7, "skipFinalSnapshot": false,
		}),
		res("aws:rds/proxy:Proxy", "proxy", "sluice-dev", map[string]any{
			"name": "sluice-dev", "engineFamily": "MYSQL", "requireTls": true, "roleArn": arn("iam", "role/sluice-dev-proxy"),
			"vpcSubnetIds": []any{"subnet-0a1", "subnet-0c1"}, "vpcSecurityGroupIds": []any{"sg-0db"},
			"auths": []any{
				map[string]any{"authScheme": "SECRETS", "iamAuth": "REQUIRED", "secretArn": arn("secretsmanager", "secret:sluice-dev-app")},
				map[string]any{"authScheme": "SECRETS", "iamAuth": "REQUIRED", "secretArn": arn("secretsmanager", "secret:sluice-dev-admin")},
			},
		}),
		res("aws:sqs/queue:Queue", "dlq", dlqARN, map[string]any{
			"name": "sluice-dev-submissions-dlq", "messageRetentionSeconds": 1209600, "sqsManagedSseEnabled": true,
			"redriveAllowPolicy": `{"redrivePermission":"byQueue","sourceQueueArns":["` + queueARN + `"]}`,
		}),
		res("aws:sqs/queue:Queue", "queue", queueARN, map[string]any{
			"name": "sluice-dev-submissions", "visibilityTimeoutSeconds": 180, "messageRetentionSeconds": 345600,
			"sqsManagedSseEnabled": true,
			"redrivePolicy":        `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":5}`,
		}),
		res("aws:sqs/queuePolicy:QueuePolicy", "queue-tls", "qp-1", map[string]any{
			"queueUrl": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/sluice-dev-submissions",
			"policy":   mustJSON(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"` + queueARN + `","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`),
		}),
		res("aws:sqs/queuePolicy:QueuePolicy", "dlq-tls", "qp-2", map[string]any{
			"queueUrl": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/sluice-dev-submissions-dlq",
			"policy":   mustJSON(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"` + dlqARN + `","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`),
		}),
		res("aws:cloudwatch/logGroup:LogGroup", "consumer-logs", "/aws/lambda/sluice-dev-consumer", map[string]any{"name": "/aws/lambda/sluice-dev-consumer", "retentionInDays": 30}),
		res("aws:cloudwatch/logGroup:LogGroup", "api-logs", "/aws/apigateway/sluice-dev", map[string]any{"name": "/aws/apigateway/sluice-dev", "retentionInDays": 30}),
		res("aws:iam/role:Role", "consumer-role", "sluice-dev-consumer", map[string]any{
			"name":             "sluice-dev-consumer",
			"assumeRolePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":["sts:AssumeRole"]}]}`,
		}),
		res("aws:iam/rolePolicy:RolePolicy", "consumer-policy", "sluice-dev-consumer:policy", map[string]any{
			"role": "sluice-dev-consumer",
			"policy": `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"WriteOwnLogGroup","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["` + arn("logs", "log-group:/aws/lambda/sluice-dev-consumer:log-stream:*") + `"]},` +
				`{"Sid":"ManageVpcNetworkInterfaces","Effect":"Allow","Action":["ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces","ec2:DescribeSubnets","ec2:DeleteNetworkInterface","ec2:AssignPrivateIpAddresses","ec2:UnassignPrivateIpAddresses"],"Resource":["*"]},` +
				`{"Sid":"ConnectThroughProxyAsDBUser","Effect":"Allow","Action":["rds-db:connect"],"Resource":["` + arn("rds-db", "dbuser:prx-0a1b2c3d4e5f67890/sluice_app") + `"]}]}`,
		}),
		res("aws:iam/rolePolicy:RolePolicy", "consumer-queue-policy", "sluice-dev-consumer:queue", map[string]any{
			"role":   "sluice-dev-consumer",
			"policy": `{"Version":"2012-10-17","Statement":[{"Sid":"ConsumeOwnQueue","Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes","sqs:ChangeMessageVisibility"],"Resource":["` + queueARN + `"]}]}`,
		}),
		res("aws:iam/role:Role", "proxy-role", "sluice-dev-proxy", map[string]any{
			"assumeRolePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rds.amazonaws.com"},"Action":["sts:AssumeRole"]}]}`,
		}),
		res("aws:iam/rolePolicy:RolePolicy", "proxy-secrets", "sluice-dev-proxy:secrets", map[string]any{
			"role": "sluice-dev-proxy",
			"policy": `{"Version":"2012-10-17","Statement":[{"Sid":"ReadLoginSecrets","Effect":"Allow","Action":["secretsmanager:GetSecretValue"],"Resource":["` +
				arn("secretsmanager", "secret:sluice-dev-admin") + `","` + arn("secretsmanager", "secret:sluice-dev-app") + `"]}]}`,
		}),
		res("aws:lambda/function:Function", "consumer", arn("lambda", "function:sluice-dev-consumer"), map[string]any{
			"name": "sluice-dev-consumer", "runtime": "provided.al2023", "handler": "bootstrap", "timeout": 25, "memorySize": 256,
			"reservedConcurrentExecutions": 5, "role": arn("iam", "role/sluice-dev-consumer"),
			"environment": map[string]any{"variables": map[string]any{"SLUICE_DB_AUTH": "iam", "SLUICE_DB_USER": "sluice_app"}},
			"vpcConfig":   map[string]any{"subnetIds": []any{"subnet-0a1", "subnet-0c1"}, "securityGroupIds": []any{"sg-0app"}},
		}),
		res("aws:lambda/eventSourceMapping:EventSourceMapping", "consumer-mapping", "esm-1", map[string]any{
			"eventSourceArn": queueARN, "functionName": arn("lambda", "function:sluice-dev-consumer"), "batchSize": 10,
			"maximumBatchingWindowInSeconds": 5, "functionResponseTypes": []any{"ReportBatchItemFailures"},
			"scalingConfig": map[string]any{"maximumConcurrency": 5}, "enabled": true,
		}),
		res("aws:kms/key:Key", "alarm-key", arn("kms", "key/0a1b2c3d-1111-2222-3333-444455556666"), map[string]any{
			"description": "Encrypts the alarm topic", "enableKeyRotation": true, "deletionWindowInDays": 30,
			"policy": mustJSON(`{"Version":"2012-10-17","Statement":[
				{"Sid":"AccountAdministersKey","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":["kms:*"],"Resource":["*"]},
				{"Sid":"CloudWatchAlarmsEncryptToTopic","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":["*"],
				 "Condition":{"StringEquals":{"aws:SourceAccount":"` + account + `"},"ArnLike":{"aws:SourceArn":"` + arn("cloudwatch", "alarm:sluice-dev-*") + `"}}},
				{"Sid":"AccountUsesKeyThroughSNS","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":["*"],
				 "Condition":{"StringEquals":{"kms:CallerAccount":"` + account + `","kms:ViaService":"sns.` + region + `.amazonaws.com"}}}]}`),
		}),
		res("aws:sns/topic:Topic", "alarms", arn("sns", "sluice-dev-alarms"), map[string]any{
			"name": "sluice-dev-alarms", "kmsMasterKeyId": arn("kms", "key/0a1b2c3d-1111-2222-3333-444455556666"),
		}),
		res("aws:sns/topicPolicy:TopicPolicy", "alarms-policy", arn("sns", "sluice-dev-alarms"), map[string]any{
			"arn": arn("sns", "sluice-dev-alarms"),
			"policy": mustJSON(`{"Version":"2012-10-17","Statement":[
				{"Sid":"CloudWatchAlarmsPublish","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":["sns:Publish"],"Resource":["` + arn("sns", "sluice-dev-alarms") + `"],
				 "Condition":{"StringEquals":{"aws:SourceAccount":"` + account + `"},"ArnLike":{"aws:SourceArn":"` + arn("cloudwatch", "alarm:sluice-dev-*") + `"}}},
				{"Sid":"DenyWithoutTLS","Effect":"Deny","Principal":{"AWS":"*"},"Action":["sns:Publish"],"Resource":["` + arn("sns", "sluice-dev-alarms") + `"],
				 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`),
		}),
		res("aws:secretsmanager/secret:Secret", "app-login", arn("secretsmanager", "secret:sluice-dev-app"), map[string]any{
			"name": "sluice-dev-app", "description": "sluice_app login for the proxy",
		}),
		res("aws:secretsmanager/secretPolicy:SecretPolicy", "app-login-policy", arn("secretsmanager", "secret:sluice-dev-app"), map[string]any{
			"secretArn": arn("secretsmanager", "secret:sluice-dev-app"), "blockPublicPolicy": true,
			"policy": mustJSON(`{"Version":"2012-10-17","Statement":[
				{"Sid":"ProxyReadsLogin","Effect":"Allow","Principal":{"AWS":"` + arn("iam", "role/sluice-dev-proxy") + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},
				{"Sid":"OrganizationReadsMetadata","Effect":"Allow","Principal":"*","Action":"secretsmanager:DescribeSecret","Resource":"*",
				 "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}`),
		}),
		res("aws:apigatewayv2/api:Api", "api", "api-1", map[string]any{"name": "sluice-dev", "protocolType": "HTTP"}),
		// Not part of Sluice's program: a Lambda permission for an HTTP API
		// and a private REST API, so that the resource-policy mutations have a
		// compliant resource of every type to break.
		res("aws:lambda/permission:Permission", "api-invoke", "api-invoke", map[string]any{
			"action": "lambda:InvokeFunction", "function": arn("lambda", "function:sluice-dev-consumer"),
			"principal": "apigateway.amazonaws.com", "sourceArn": arn("execute-api", "api-1/*/*"),
		}),
		res("aws:apigateway/restApi:RestApi", "private-api", "rest-1", map[string]any{
			"name": "sluice-dev-private", "endpointConfiguration": map[string]any{"types": "PRIVATE", "vpcEndpointIds": []any{"vpce-0a1b2c3d"}},
		}),
		res("aws:apigateway/restApiPolicy:RestApiPolicy", "private-api-policy", "rest-1", map[string]any{
			"restApiId": "rest-1",
			"policy": mustJSON(`{"Version":"2012-10-17","Statement":[
				{"Sid":"InvokeThroughEndpoint","Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"` + arn("execute-api", "rest-1/*") + `",
				 "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0a1b2c3d"}}},
				{"Sid":"DenyOtherPaths","Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"` + arn("execute-api", "rest-1/*") + `",
				 "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-0a1b2c3d"}}}]}`),
		}),
		res("aws:apigatewayv2/route:Route", "submit", "route-1", map[string]any{"apiId": "api-1", "routeKey": "POST /submit", "authorizationType": "NONE", "target": "integrations/int-1"}),
		res("aws:apigatewayv2/stage:Stage", "stage", "$default", map[string]any{
			"apiId": "api-1", "name": "$default", "autoDeploy": true,
			"accessLogSettings":    map[string]any{"destinationArn": arn("logs", "log-group:/aws/apigateway/sluice-dev"), "format": `{"requestId":"$context.requestId","status":"$context.status"}`},
			"defaultRouteSettings": map[string]any{"throttlingBurstLimit": 200, "throttlingRateLimit": 100, "detailedMetricsEnabled": true},
		}),
	}
}

// Mutation changes one property of one resource so that exactly one
// safety property breaks.
type Mutation struct {
	// Name says what is broken.
	Name string
	// Type and Match pick the resource to change (the first that matches).
	Type  string
	Match func(r rules.Resource) bool
	// MatchIn, if set, also picks the resource, knowing the whole stack.
	MatchIn func(s *rules.Stack, r rules.Resource) bool
	// Path is the dotted property path. Value nil deletes the property; a
	// func(resource.PropertyValue) resource.PropertyValue rewrites it.
	Path  string
	Value any
	// Policy is the policy meant to catch the mutation.
	Policy string
	// Stack is the stack the mutation needs: "" for any, "prod" for the
	// production-only checks.
	Stack string
	// Needs is a resource type that must be in the stack for the mutation
	// to break anything (the mapping that ties the queue to a function).
	Needs string
	// Reason, if set, is a substring the new violation's message must
	// contain, so that a mutation is caught for the intended reason (a
	// broken JSON document would also be reported by the same policy).
	Reason string
	// Config is the pack config both stacks are evaluated with (a fixed
	// date for the support-date policy); nil is the default config.
	Config rules.PackConfig
}

// HasProp picks resources where the property is present.
func HasProp(key string) func(rules.Resource) bool {
	return func(r rules.Resource) bool { _, ok := r.Properties[resource.PropertyKey(key)]; return ok }
}

// LacksProp picks resources where the property is absent.
func LacksProp(key string) func(rules.Resource) bool {
	return func(r rules.Resource) bool { _, ok := r.Properties[resource.PropertyKey(key)]; return !ok }
}

// MappingTarget picks the function an event source mapping invokes.
func MappingTarget(s *rules.Stack, r rules.Resource) bool {
	for _, m := range s.OfType(esm) {
		if fn, _ := s.Ref(m, "functionName", r.Type); fn != nil && fn.URN == r.URN {
			return true
		}
	}
	return false
}

// PolicyMentions picks IAM resources whose policy document contains s.
func PolicyMentions(s string) func(rules.Resource) bool {
	return func(r rules.Resource) bool {
		v, ok := r.Properties["policy"]
		return ok && v.IsString() && strings.Contains(v.StringValue(), s)
	}
}

// Apply returns a copy of resources with m applied, or an error if no
// resource matches.
func (m Mutation) Apply(resources []rules.Resource) ([]rules.Resource, error) {
	out := slices.Clone(resources)
	stack := rules.NewStack(resources)
	for i, r := range out {
		if r.Type != m.Type || m.Match != nil && !m.Match(r) || m.MatchIn != nil && !m.MatchIn(stack, r) {
			continue
		}
		props := r.Properties.Copy()
		if err := setPath(props, strings.Split(m.Path, "."), m.Value); err != nil {
			return nil, fmt.Errorf("mutation %q on %s: %w", m.Name, r.Name, err)
		}
		out[i].Properties = props
		return out, nil
	}
	return nil, fmt.Errorf("mutation %q: no %s resource matches", m.Name, m.Type)
}

func setPath(m resource.PropertyMap, path []string, value any) error {
	key := resource.PropertyKey(path[0])
	if len(path) == 1 {
		if value == nil {
			delete(m, key)
			return nil
		}
		if f, ok := value.(func(resource.PropertyValue) resource.PropertyValue); ok {
			m[key] = f(m[key])
			return nil
		}
		m[key] = resource.NewPropertyValue(value)
		return nil
	}
	child, ok := m[key]
	if !ok || !child.IsObject() {
		return fmt.Errorf("%s is not an object", key)
	}
	obj := child.ObjectValue().Copy()
	if err := setPath(obj, path[1:], value); err != nil {
		return err
	}
	m[key] = resource.NewProperty(obj)
	return nil
}

// Replace returns a value function that rewrites a string property, for
// mutations inside JSON documents.
func Replace(old, new string) func(resource.PropertyValue) resource.PropertyValue {
	return func(v resource.PropertyValue) resource.PropertyValue {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsString() {
			return v
		}
		return resource.NewProperty(strings.Replace(v.StringValue(), old, new, 1))
	}
}

// EachAuth rewrites property key of every element of the list at the
// mutation path (the proxy's auths).
func EachAuth(key string, value any) func(resource.PropertyValue) resource.PropertyValue {
	return func(v resource.PropertyValue) resource.PropertyValue {
		if !v.IsArray() {
			return v
		}
		var out []resource.PropertyValue
		for _, e := range v.ArrayValue() {
			if e.IsObject() {
				o := e.ObjectValue().Copy()
				o[resource.PropertyKey(key)] = resource.NewPropertyValue(value)
				e = resource.NewProperty(o)
			}
			out = append(out, e)
		}
		return resource.NewProperty(out)
	}
}

// ReplaceRegexp rewrites every match of pattern in a string property, for
// mutations inside JSON documents.
func ReplaceRegexp(pattern, repl string) func(resource.PropertyValue) resource.PropertyValue {
	re := regexp.MustCompile(pattern)
	return func(v resource.PropertyValue) resource.PropertyValue {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsString() {
			return v
		}
		return resource.NewProperty(re.ReplaceAllString(v.StringValue(), repl))
	}
}

// SetJSON sets a top-level key of a JSON object held in a string property.
func SetJSON(key string, value any) func(resource.PropertyValue) resource.PropertyValue {
	return func(v resource.PropertyValue) resource.PropertyValue {
		if !v.IsString() {
			return v
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(v.StringValue()), &doc); err != nil {
			return v
		}
		doc[key] = value
		b, err := json.Marshal(doc)
		if err != nil {
			return v
		}
		return resource.NewProperty(string(b))
	}
}

// AddStatement appends a statement (JSON) to the policy document held in
// a string property, for resource-policy mutations that must leave the
// document's other statements (the TLS-only Deny) in place.
func AddStatement(stmt string) func(resource.PropertyValue) resource.PropertyValue {
	return func(v resource.PropertyValue) resource.PropertyValue {
		if !v.IsString() {
			return v
		}
		var doc map[string]any
		var add any
		if json.Unmarshal([]byte(v.StringValue()), &doc) != nil || json.Unmarshal([]byte(stmt), &add) != nil {
			return v
		}
		list, ok := doc["Statement"].([]any)
		if !ok {
			list = []any{doc["Statement"]}
		}
		doc["Statement"] = append(list, add)
		b, err := json.Marshal(doc)
		if err != nil {
			return v
		}
		return resource.NewProperty(string(b))
	}
}

// EachElem sets key to value in every object of a list property whose
// matchKey equals matchValue ("" matches every element).
func EachElem(matchKey, matchValue, key string, value any) func(resource.PropertyValue) resource.PropertyValue {
	return func(v resource.PropertyValue) resource.PropertyValue {
		if !v.IsArray() {
			return v
		}
		var out []resource.PropertyValue
		for _, e := range v.ArrayValue() {
			if e.IsObject() {
				o := e.ObjectValue()
				if mv, ok := o[resource.PropertyKey(matchKey)]; matchKey == "" || ok && mv.IsString() && mv.StringValue() == matchValue {
					o = o.Copy()
					o[resource.PropertyKey(key)] = resource.NewPropertyValue(value)
					e = resource.NewProperty(o)
				}
			}
			out = append(out, e)
		}
		return resource.NewProperty(out)
	}
}

// allowsMySQL picks security groups with an inline ingress rule covering 3306.
func allowsMySQL(r rules.Resource) bool {
	v, ok := r.Properties["ingress"]
	if !ok || !v.IsArray() {
		return false
	}
	for _, e := range v.ArrayValue() {
		if !e.IsObject() {
			continue
		}
		from, to := e.ObjectValue()["fromPort"], e.ObjectValue()["toPort"]
		if from.IsNumber() && to.IsNumber() && from.NumberValue() <= 3306 && 3306 <= to.NumberValue() {
			return true
		}
	}
	return false
}

const (
	instance = "aws:rds/instance:Instance"
	proxy    = "aws:rds/proxy:Proxy"
	queue    = "aws:sqs/queue:Queue"
	esm      = "aws:lambda/eventSourceMapping:EventSourceMapping"
	stage    = "aws:apigatewayv2/stage:Stage"
	rolePol  = "aws:iam/rolePolicy:RolePolicy"

	notPublic = "resource-policy-not-public"
)

// publicDoc is a resource policy that lets anyone do action, with the
// principal written as p (the string and the list forms).
func publicDoc(p, action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + p + `,"Action":"` + action + `","Resource":"*"}]}`
}

// notOn80 picks databases that do not already run MySQL 8.0, so that the
// 8.0 mutation changes something.
func notOn80(r rules.Resource) bool {
	v, ok := r.Properties["engineVersion"]
	return ok && v.IsString() && !strings.HasPrefix(v.StringValue(), "8.0")
}

// supportDate pins the support-date policy's "today", so that its
// mutation's verdict does not depend on when the test runs.
var supportDate = rules.PackConfig{"rds-engine-standard-support": {Properties: rules.Config{"asOf": "2026-12-01"}}}

// Mutations returns the single-property mutations, each meant to be caught
// by one policy.
func Mutations() []Mutation {
	source, dlq := HasProp("redrivePolicy"), LacksProp("redrivePolicy")
	open := []any{map[string]any{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrBlocks": []any{"0.0.0.0/0"}}}
	return []Mutation{
		{Name: "public database", Type: instance, Path: "publiclyAccessible", Value: true, Policy: "rds-instance-not-public"},
		{Name: "computed publiclyAccessible", Type: instance, Path: "publiclyAccessible", Value: Computed(), Policy: "rds-instance-not-public"},
		{Name: "database without subnet group", Type: instance, Path: "dbSubnetGroupName", Value: nil, Policy: "rds-network-private"},
		{Name: "database subnet assigns public IPs", Type: "aws:ec2/subnet:Subnet", Path: "mapPublicIpOnLaunch", Value: true, Policy: "rds-network-private"},
		{Name: "database security group open to the internet", Type: "aws:ec2/securityGroup:SecurityGroup", Match: allowsMySQL, Path: "ingress", Value: open, Policy: "rds-network-private"},
		{Name: "database ingress rule from the internet", Type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", Path: "cidrIpv4", Value: "0.0.0.0/0", Policy: "rds-network-private"},
		{Name: "database ingress rule from a public range", Type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", Path: "cidrIpv4", Value: "203.0.113.0/24", Policy: "rds-network-private"},
		{Name: "database ingress rule from any IPv6 address", Type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", Path: "cidrIpv6", Value: "::/0", Policy: "rds-network-private"},
		{Name: "database without security groups", Type: instance, Path: "vpcSecurityGroupIds", Value: nil, Policy: "rds-network-private"},
		{Name: "queue without redrive policy", Type: queue, Match: source, Path: "redrivePolicy", Value: nil, Policy: "sqs-queue-has-dlq"},
		{Name: "maxReceiveCount 0", Type: queue, Match: source, Path: "redrivePolicy", Value: SetJSON("maxReceiveCount", 0), Policy: "sqs-queue-has-dlq"},
		{Name: "maxReceiveCount 50", Type: queue, Match: source, Path: "redrivePolicy", Value: SetJSON("maxReceiveCount", 50), Policy: "sqs-queue-has-dlq"},
		{Name: "redrive policy is malformed JSON", Type: queue, Match: source, Path: "redrivePolicy", Value: `{"deadLetterTargetArn": `, Policy: "sqs-queue-has-dlq"},
		{Name: "redrive to a queue outside the stack", Type: queue, Match: source, Path: "redrivePolicy", Value: SetJSON("deadLetterTargetArn", "arn:aws:sqs:ap-northeast-1:123456789012:elsewhere"), Policy: "sqs-queue-has-dlq"},
		{Name: "DLQ keeps messages for a minute", Type: queue, Match: dlq, Path: "messageRetentionSeconds", Value: 60, Policy: "sqs-queue-has-dlq"},
		{Name: "FIFO DLQ for a standard queue", Type: queue, Match: dlq, Path: "fifoQueue", Value: true, Policy: "sqs-queue-has-dlq"},
		{Name: "proxy auth iamAuth DISABLED", Type: proxy, Path: "auths", Value: EachAuth("iamAuth", "DISABLED"), Policy: "rds-iam-auth"},
		{Name: "proxy requireTls false", Type: proxy, Path: "requireTls", Value: false, Policy: "rds-iam-auth"},
		{Name: "proxy requireTls absent", Type: proxy, Path: "requireTls", Value: nil, Policy: "rds-iam-auth"},
		{Name: "proxy auths computed", Type: proxy, Path: "auths", Value: Computed(), Policy: "rds-iam-auth"},
		{Name: "instance without IAM database auth", Type: instance, Path: "iamDatabaseAuthenticationEnabled", Value: false, Policy: "rds-iam-auth"},
		{Name: "rds-db:connect on *", Type: rolePol, Match: PolicyMentions("rds-db:connect"), Path: "policy", Value: ReplaceRegexp(`"arn:aws:rds-db:[^"]+"`, `"*"`), Policy: "rds-iam-auth"},
		{Name: "rds-db:connect for every DB user", Type: rolePol, Match: PolicyMentions("rds-db:connect"), Path: "policy", Value: ReplaceRegexp(`(dbuser:[^/"]+)/[^"]+"`, `$1/*"`), Policy: "rds-iam-auth"},
		{Name: "unencrypted database storage", Type: instance, Path: "storageEncrypted", Value: false, Policy: "encryption-at-rest"},
		{Name: "computed storageEncrypted", Type: instance, Path: "storageEncrypted", Value: Computed(), Policy: "encryption-at-rest"},
		{Name: "unencrypted queue", Type: queue, Match: source, Path: "sqsManagedSseEnabled", Value: false, Policy: "encryption-at-rest"},
		{Name: "require_secure_transport off", Type: "aws:rds/parameterGroup:ParameterGroup", Path: "parameters", Value: EachElem("name", "require_secure_transport", "value", "0"), Policy: "transport-tls-required"},
		{Name: "database on the default parameter group", Type: instance, Path: "parameterGroupName", Value: nil, Policy: "transport-tls-required"},
		{Name: "queue policy allows plaintext", Type: "aws:sqs/queuePolicy:QueuePolicy", Path: "policy", Value: ReplaceRegexp(`"aws:SecureTransport":\s*"?false"?`, `"aws:SecureTransport":"true"`), Policy: "transport-tls-required"},
		{Name: "mapping without ReportBatchItemFailures", Type: esm, Path: "functionResponseTypes", Value: nil, Policy: "lambda-sqs-esm-safe"},
		{Name: "mapping without maximum concurrency", Type: esm, Path: "scalingConfig", Value: nil, Policy: "lambda-sqs-esm-safe"},
		{Name: "maximum concurrency above reserved concurrency", Type: esm, Path: "scalingConfig.maximumConcurrency", Value: 1000, Policy: "lambda-sqs-esm-safe", Stack: "prod"}, // dev reserves none
		{Name: "visibility timeout too short", Type: queue, Match: source, Path: "visibilityTimeoutSeconds", Value: 30, Policy: "lambda-sqs-esm-safe", Needs: esm},
		{Name: "function timeout longer than the visibility timeout allows", Type: "aws:lambda/function:Function", MatchIn: MappingTarget, Path: "timeout", Value: 600, Policy: "lambda-sqs-esm-safe"},
		{Name: "stage without burst limit", Type: stage, Path: "defaultRouteSettings.throttlingBurstLimit", Value: nil, Policy: "apigw-stage-throttling-logging"},
		{Name: "stage with rate limit 0", Type: stage, Path: "defaultRouteSettings.throttlingRateLimit", Value: 0, Policy: "apigw-stage-throttling-logging"},
		{Name: "stage without access logs", Type: stage, Path: "accessLogSettings", Value: nil, Policy: "apigw-stage-throttling-logging"},
		{Name: "wildcard SQS action", Type: rolePol, Match: PolicyMentions("sqs:ReceiveMessage"), Path: "policy", Value: ReplaceRegexp(`"sqs:ReceiveMessage"`, `"sqs:*"`), Policy: "iam-no-wildcards"},
		{Name: "queue permissions on every resource", Type: rolePol, Match: PolicyMentions("sqs:ReceiveMessage"), Path: "policy", Value: ReplaceRegexp(`"arn:aws:sqs:[^"]+"`, `"*"`), Policy: "iam-no-wildcards"},
		{Name: "wildcard Secrets Manager action", Type: rolePol, Match: PolicyMentions("secretsmanager:GetSecretValue"), Path: "policy", Value: ReplaceRegexp(`"secretsmanager:GetSecretValue"`, `"secretsmanager:*"`), Policy: "iam-no-wildcards"},
		{Name: "secret read on every secret", Type: rolePol, Match: PolicyMentions("secretsmanager:GetSecretValue"), Path: "policy", Value: ReplaceRegexp(`"arn:aws:secretsmanager:[^"]+"`, `"*"`), Policy: "iam-no-wildcards"},
		{Name: "role trusts any principal", Type: "aws:iam/role:Role", Path: "assumeRolePolicy", Value: ReplaceRegexp(`"Principal":\{[^}]*\}`, `"Principal":"*"`), Policy: "iam-no-wildcards"},
		{Name: "production database without deletion protection", Type: instance, Path: "deletionProtection", Value: false, Policy: "production-safeguards", Stack: "prod"},
		{Name: "production database in one AZ", Type: instance, Path: "multiAz", Value: false, Policy: "production-safeguards", Stack: "prod"},
		{Name: "production database with 1 day of backups", Type: instance, Path: "backupRetentionPeriod", Value: 1, Policy: "production-safeguards", Stack: "prod"},
		{Name: "log group kept forever", Type: "aws:cloudwatch/logGroup:LogGroup", Path: "retentionInDays", Value: nil, Policy: "log-group-retention"},

		{Name: "queue policy lets anyone send", Type: "aws:sqs/queuePolicy:QueuePolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}`), Policy: notPublic, Reason: "to any principal (Principal \"*\")"},
		{Name: "queue policy allows everyone but one role (NotPrincipal)", Type: "aws:sqs/queuePolicy:QueuePolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/x"},"Action":"sqs:ReceiveMessage","Resource":"*"}`), Policy: notPublic, Reason: "to everyone except the principals under NotPrincipal"},
		{Name: "queue policy condition on the source account only if present", Type: "aws:sqs/queuePolicy:QueuePolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"123456789012"}}}`), Policy: notPublic, Reason: "StringEqualsIfExists on aws:SourceAccount does not count"},
		{Name: "queue inline policy open to {AWS: [*]}", Type: queue, Match: source, Path: "policy", Value: publicDoc(`{"AWS":["*"]}`, "sqs:SendMessage"), Policy: notPublic, Reason: "to any principal"},
		{Name: "topic policy lets any account subscribe", Type: "aws:sns/topicPolicy:TopicPolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sns:Subscribe","Resource":"*"}`), Policy: notPublic, Reason: "to any principal"},
		{Name: "topic policy pinned to a wildcard account", Type: "aws:sns/topicPolicy:TopicPolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*","Condition":{"StringLike":{"aws:SourceOwner":"*"}}}`), Policy: notPublic, Reason: "StringLike aws:SourceOwner \"*\" is not a fixed value"},
		{Name: "topic inline policy open to everyone", Type: "aws:sns/topic:Topic", Path: "policy", Value: publicDoc(`"*"`, "sns:Publish"), Policy: notPublic, Reason: "to any principal"},
		{Name: "key administered by any account", Type: "aws:kms/key:Key", Match: PolicyMentions(":root"), Path: "policy",
			Value: ReplaceRegexp(`"AWS":"arn:aws:iam::\d{12}:root"`, `"AWS":"*"`), Policy: notPublic, Reason: "allows [kms:*] to any principal"},
		{Name: "key used through SNS by any account (kms:ViaService alone)", Type: "aws:kms/key:Key", Match: PolicyMentions("kms:CallerAccount"), Path: "policy",
			Value: ReplaceRegexp(`"kms:CallerAccount":"\d+",?`, ``), Policy: notPublic, Reason: "allows [kms:Decrypt kms:GenerateDataKey*] to any principal"},
		{Name: "secret policy lets anyone read the login", Type: "aws:secretsmanager/secretPolicy:SecretPolicy", Path: "policy",
			Value: AddStatement(`{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}`), Policy: notPublic, Reason: "to any principal"},
		{Name: "secret policy pinned to an organization by a negation", Type: "aws:secretsmanager/secretPolicy:SecretPolicy", Path: "policy",
			Value: ReplaceRegexp(`"StringEquals":\{"aws:PrincipalOrgID"`, `"StringNotEquals":{"aws:PrincipalOrgID"`), Policy: notPublic, Reason: "a negated operator"},
		{Name: "secret inline policy open to everyone", Type: "aws:secretsmanager/secret:Secret", Path: "policy", Value: publicDoc(`{"AWS":"*"}`, "secretsmanager:GetSecretValue"), Policy: notPublic, Reason: "to any principal"},
		{Name: "Lambda permission for API Gateway without sourceArn", Type: "aws:lambda/permission:Permission", Path: "sourceArn", Value: nil, Policy: notPublic, Reason: "principal is the service apigateway.amazonaws.com with no fixed sourceArn"},
		{Name: "Lambda permission sourceArn in any account", Type: "aws:lambda/permission:Permission", Path: "sourceArn",
			Value: "arn:aws:execute-api:ap-northeast-1:*:api-1/*/*", Policy: notPublic, Reason: "sourceArn \"arn:aws:execute-api:ap-northeast-1:*:api-1/*/*\" is not a fixed value"},
		{Name: "private API policy with a negated endpoint condition", Type: "aws:apigateway/restApiPolicy:RestApiPolicy", Path: "policy",
			Value: ReplaceRegexp(`"StringEquals":\{"aws:SourceVpce"`, `"StringNotEquals":{"aws:SourceVpce"`), Policy: notPublic, Reason: "a negated operator"},
		{Name: "private API policy for any VPC endpoint", Type: "aws:apigateway/restApiPolicy:RestApiPolicy", Path: "policy",
			Value: ReplaceRegexp(`"vpce-0a1b2c3d"`, `"vpce-*"`), Policy: notPublic, Reason: "aws:SourceVpce \"vpce-*\" is not a fixed value"},
		{Name: "REST API inline policy open to everyone", Type: "aws:apigateway/restApi:RestApi", Path: "policy", Value: publicDoc(`"*"`, "execute-api:Invoke"), Policy: notPublic, Reason: "to any principal"},

		{Name: "database on MySQL 8.0 past standard support", Type: instance, Match: notOn80, Path: "engineVersion", Value: "8.0",
			Policy: "rds-engine-standard-support", Config: supportDate,
			Reason: "whose standard support ended on 2026-07-31 (checked on 2026-12-01)"},
	}
}

// Preview returns resources as the engine sends them during the preview of
// a new stack: no ids, and every value that refers to another resource
// computed, with the engine's property dependency (on the top-level key) on
// that resource instead. References are found by id or name, also inside
// JSON documents, which then become computed as a whole.
func Preview(resources []rules.Resource) []rules.Resource {
	out := make([]rules.Resource, len(resources))
	for i, r := range resources {
		props := resource.PropertyMap{}
		deps := map[string][]string{}
		for k, v := range r.Properties {
			nv, refs := unknownRefs(v, resources, i)
			props[k] = nv
			if len(refs) > 0 {
				deps[string(k)] = refs
			}
		}
		out[i] = rules.Resource{Type: r.Type, Name: r.Name, URN: r.URN, Parent: r.Parent, Properties: props,
			PropertyDependencies: deps}
	}
	return out
}

// unknownRefs replaces the leaves of v that refer to other resources than
// resources[self] with computed values and returns the URNs referred to.
func unknownRefs(v resource.PropertyValue, resources []rules.Resource, self int) (resource.PropertyValue, []string) {
	switch {
	case v.IsSecret():
		nv, refs := unknownRefs(v.SecretValue().Element, resources, self)
		return resource.MakeSecret(nv), refs
	case v.IsArray():
		var all []string
		var elems []resource.PropertyValue
		for _, e := range v.ArrayValue() {
			ne, refs := unknownRefs(e, resources, self)
			elems = append(elems, ne)
			all = append(all, refs...)
		}
		return resource.NewProperty(elems), all
	case v.IsObject():
		var all []string
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			ne, refs := unknownRefs(e, resources, self)
			obj[k] = ne
			all = append(all, refs...)
		}
		return resource.NewProperty(obj), all
	case v.IsString():
		var refs []string
		for j, o := range resources {
			if j != self && refersTo(v.StringValue(), o) {
				refs = append(refs, o.URN)
			}
		}
		if len(refs) > 0 {
			return Computed(), refs
		}
	}
	return v, nil
}

func refersTo(s string, o rules.Resource) bool {
	var names []string
	if o.ID != "" {
		names = append(names, o.ID)
	}
	if n, ok := o.Properties["name"]; ok && n.IsString() && n.StringValue() != "" {
		names = append(names, n.StringValue())
	}
	for _, n := range names {
		if s == n || strings.HasSuffix(s, "/"+n) || strings.HasSuffix(s, ":"+n) || strings.Contains(s, `"`+n+`"`) {
			return true
		}
	}
	return false
}

// CheckMutations applies each mutation to the base resources of its stack
// ("dev" unless the mutation needs "prod") and asserts that the policy meant
// to catch it reports it and that no other policy changes its verdict. A
// mutation that matches no resource is an error when strict is set and
// skipped otherwise. It returns how many mutations applied and how many of
// those were caught by their policy alone.
func CheckMutations(t *testing.T, base map[string][]rules.Resource, strict bool) (applied, caught int) {
	t.Helper()
	return CheckMutationsOf(t, Mutations(), base, strict)
}

// CheckMutationsOf is CheckMutations for the given mutations (those of
// another base stack, such as AuroraMutations).
func CheckMutationsOf(t *testing.T, mutations []Mutation, base map[string][]rules.Resource, strict bool) (applied, caught int) {
	t.Helper()
	for _, m := range mutations {
		stack := m.Stack
		if stack == "" {
			stack = "dev"
		}
		resources, ok := base[stack]
		if !ok {
			t.Errorf("%s: no %s stack to mutate", m.Name, stack)
			continue
		}
		env := rules.Env{Stack: stack}
		mutated, err := m.Apply(resources)
		if err == nil && m.Needs != "" && !slices.ContainsFunc(resources, func(r rules.Resource) bool { return r.Type == m.Needs }) {
			err = fmt.Errorf("mutation %q: the stack has no %s", m.Name, m.Needs)
		}
		if err != nil {
			if strict {
				t.Errorf("%v", err)
			} else {
				t.Logf("skipped: %v", err)
			}
			continue
		}
		applied++
		before := rules.Evaluate(rules.All(), resources, m.Config, env)
		after := rules.Evaluate(rules.All(), mutated, m.Config, env)
		fresh := newViolations(before, after)
		if len(fresh) == 0 {
			t.Errorf("%s: not caught (want %s)", m.Name, m.Policy)
			continue
		}
		var others []rules.Violation
		for _, v := range fresh {
			if v.Policy != m.Policy {
				others = append(others, v)
			} else if !strings.Contains(v.Message, m.Reason) {
				t.Errorf("%s: caught for another reason than %q: %s", m.Name, m.Reason, v.Message)
			}
			if !strings.HasPrefix(v.Message, "[") || !strings.Contains(v.Message, "Fix:") {
				t.Errorf("%s: message lacks severity or fix: %q", m.Name, v.Message)
			}
		}
		if len(others) > 0 {
			t.Errorf("%s: also reported by other policies: %+v", m.Name, others)
			continue
		}
		caught++
	}
	return applied, caught
}

// newViolations returns the violations of after that before does not have,
// matching by policy and resource.
func newViolations(before, after []rules.Violation) []rules.Violation {
	key := func(v rules.Violation) string { return v.Policy + "\x00" + v.URN }
	remaining := map[string]int{}
	for _, v := range before {
		remaining[key(v)]++
	}
	var fresh []rules.Violation
	for _, v := range after {
		if remaining[key(v)] > 0 {
			remaining[key(v)]--
			continue
		}
		fresh = append(fresh, v)
	}
	return fresh
}

// PreviewOf returns resources of a mocked run as the engine would send them
// in the preview of a new stack, as far as the mocks' property dependencies
// tell: no ids or outputs, and every string (or list of strings) input that
// was computed from another resource unknown. Objects holding such values
// are kept, since the SDK sends their unknown fields individually.
func PreviewOf(resources []rules.Resource) []rules.Resource {
	out := make([]rules.Resource, len(resources))
	for i, r := range resources {
		props := r.Properties.Copy()
		for k, deps := range r.PropertyDependencies {
			v, ok := props[resource.PropertyKey(k)]
			if !ok || len(deps) == 0 {
				continue
			}
			if v.IsSecret() {
				v = v.SecretValue().Element
			}
			if v.IsString() || v.IsArray() && slices.ContainsFunc(v.ArrayValue(), resource.PropertyValue.IsString) {
				props[resource.PropertyKey(k)] = Computed()
			}
		}
		out[i] = rules.Resource{Type: r.Type, Name: r.Name, URN: r.URN, Parent: r.Parent, Properties: props,
			Dependencies: r.Dependencies, PropertyDependencies: r.PropertyDependencies}
	}
	return out
}
