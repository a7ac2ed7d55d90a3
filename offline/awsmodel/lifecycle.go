package awsmodel

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Planned is what the provider answers for a create during a preview: the
// inputs, with every attribute AWS would compute still unknown.
func (m Model) Planned(typ, name string, inputs resource.PropertyMap) resource.PropertyMap {
	m.Lambda = plannedInvoke{}
	out := inputs.Copy()
	a, err := m.Create(typ, name, inputs)
	if err != nil {
		return out
	}
	for k := range a.Outputs {
		if _, given := inputs[k]; !given {
			out[k] = resource.MakeComputed(resource.NewProperty(""))
		}
	}
	return out
}

// plannedInvoke stands in for a function during a preview, which invokes
// nothing.
type plannedInvoke struct{}

func (plannedInvoke) Invoke(string, []byte) ([]byte, error) { return nil, nil }

// forceNew lists, per type, the inputs whose change makes the provider
// replace the resource instead of updating it in place (ForceNew in the
// terraform-provider-aws v5 schemas that pulumi-aws v6 is built from).
// Changes to any other input are updates in place.
var forceNew = map[string][]string{
	"aws:ec2/vpc:Vpc":                                           {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	"aws:ec2/subnet:Subnet":                                     {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "outpostArn"},
	"aws:ec2/securityGroup:SecurityGroup":                       {"name", "namePrefix", "description", "vpcId"},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":         {"vpcId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"securityGroupId"},
	"aws:ec2/routeTable:RouteTable":                             {"vpcId"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation":       {"subnetId", "gatewayId"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                           {"vpcId", "serviceName", "vpcEndpointType"},

	"aws:rds/parameterGroup:ParameterGroup": {"name", "namePrefix", "family", "description"},
	"aws:rds/subnetGroup:SubnetGroup":       {"name", "namePrefix"},
	// The identifier is not among them: RDS renames an instance in place.
	"aws:rds/instance:Instance": {"availabilityZone", "backupTarget", "characterSetName", "customIamInstanceProfile",
		"dbName", "engine", "kmsKeyId", "ncharCharacterSetName", "restoreToPointInTime", "s3Import",
		"snapshotIdentifier", "storageEncrypted", "timezone", "username"},
	"aws:rds/proxy:Proxy": {"name", "engineFamily", "vpcSubnetIds"},
	"aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": {"dbProxyName"},
	"aws:rds/proxyTarget:ProxyTarget":                         {"dbProxyName", "targetGroupName", "dbInstanceIdentifier", "dbClusterIdentifier"},

	"aws:secretsmanager/secret:Secret":               {"name", "namePrefix"},
	"aws:secretsmanager/secretVersion:SecretVersion": {"secretId", "secretString", "secretBinary"},

	"aws:iam/role:Role":                                 {"name", "namePrefix", "path"},
	"aws:iam/rolePolicy:RolePolicy":                     {"name", "namePrefix", "role"},
	"aws:iam/policy:Policy":                             {"name", "namePrefix", "path", "description"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"role", "policyArn"},

	"aws:sqs/queue:Queue":                           {"name", "namePrefix", "fifoQueue"},
	"aws:sqs/queuePolicy:QueuePolicy":               {"queueUrl"},
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": {"queueUrl"},
	"aws:sqs/redrivePolicy:RedrivePolicy":           {"queueUrl"},

	"aws:lambda/function:Function": {"name", "packageType"},
	"aws:lambda/eventSourceMapping:EventSourceMapping": {"eventSourceArn", "queues", "selfManagedEventSource",
		"selfManagedKafkaEventSourceConfig", "amazonManagedKafkaEventSourceConfig", "startingPosition",
		"startingPositionTimestamp", "topics"},
	// With the default lifecycleScope CREATE_ONLY a changed input replaces
	// the invocation too (customizeDiffInputChangeWithCreateOnlyScope); see
	// Replaces.
	"aws:lambda/invocation:Invocation": {"functionName", "qualifier", "triggers"},
	"aws:lambda/permission:Permission": {"action", "eventSourceToken", "function", "functionUrlAuthType", "principal",
		"principalOrgId", "qualifier", "sourceAccount", "sourceArn", "statementId", "statementIdPrefix"},

	"aws:cloudwatch/logGroup:LogGroup":             {"name", "namePrefix", "logGroupClass"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":       {"name"},
	"aws:cloudwatch/compositeAlarm:CompositeAlarm": {"alarmName"},
	"aws:cloudwatch/dashboard:Dashboard":           {"dashboardName"},

	"aws:kms/key:Key":     {"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"},
	"aws:kms/alias:Alias": {"name", "namePrefix"},

	"aws:sns/topic:Topic":                         {"name", "namePrefix", "fifoTopic"},
	"aws:sns/topicPolicy:TopicPolicy":             {"arn"},
	"aws:sns/topicSubscription:TopicSubscription": {"topic", "protocol", "endpoint"},

	"aws:apigatewayv2/api:Api":                 {"protocolType"},
	"aws:apigatewayv2/integration:Integration": {"apiId", "integrationType"},
	"aws:apigatewayv2/route:Route":             {"apiId"},
	"aws:apigatewayv2/stage:Stage":             {"apiId", "name"},
	"aws:apigatewayv2/authorizer:Authorizer":   {"apiId"},
}

// Replaces returns the changed inputs of a resource of type typ (top-level
// keys) that force its replacement, in the order given. news are the new
// inputs: the invocation's lifecycleScope decides whether its input is one.
func Replaces(typ string, changed []string, news resource.PropertyMap) []string {
	var out []string
	for _, k := range changed {
		forces := slices.Contains(forceNew[typ], k)
		if typ == "aws:lambda/invocation:Invocation" && k == "input" {
			scope := str(news, "lifecycleScope")
			forces = scope == "" || scope == "CREATE_ONLY"
		}
		if forces {
			out = append(out, k)
		}
	}
	return out
}

// CheckDelete returns the error AWS answers when asked to delete a resource
// of type typ in state, or nil when AWS deletes it.
func CheckDelete(typ string, state resource.PropertyMap) error {
	if typ == "aws:rds/instance:Instance" {
		if v, ok := state["deletionProtection"]; ok && v.IsBool() && v.BoolValue() {
			return fmt.Errorf("deleting RDS DB Instance (%s): operation error RDS: DeleteDBInstance, api error "+
				"InvalidParameterCombination: Cannot delete protected DB Instance, please disable deletion protection and try again",
				str(state, "identifier"))
		}
		if v, ok := state["skipFinalSnapshot"]; (!ok || !v.IsBool() || !v.BoolValue()) && str(state, "finalSnapshotIdentifier") == "" {
			return fmt.Errorf("deleting RDS DB Instance (%s): final_snapshot_identifier is required when skip_final_snapshot is false",
				str(state, "identifier"))
		}
	}
	return nil
}
