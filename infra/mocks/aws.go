package mocks

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// autonamed lists the types whose physical name the AWS provider generates
// from the logical name (name + "-" + 7 hex) when no name is given, and the
// property that holds it.
var autonamed = map[string]string{
	"aws:ec2/securityGroup:SecurityGroup":          "name",
	"aws:rds/parameterGroup:ParameterGroup":        "name",
	"aws:rds/subnetGroup:SubnetGroup":              "name",
	"aws:rds/instance:Instance":                    "identifier",
	"aws:rds/proxy:Proxy":                          "name",
	"aws:secretsmanager/secret:Secret":             "name",
	"aws:iam/role:Role":                            "name",
	"aws:iam/rolePolicy:RolePolicy":                "name",
	"aws:iam/policy:Policy":                        "name",
	"aws:sqs/queue:Queue":                          "name",
	"aws:lambda/function:Function":                 "name",
	"aws:cloudwatch/logGroup:LogGroup":             "name",
	"aws:cloudwatch/metricAlarm:MetricAlarm":       "name",
	"aws:sns/topic:Topic":                          "name",
	"aws:apigatewayv2/api:Api":                     "name",
	"aws:cloudwatch/dashboard:Dashboard":           "dashboardName",
	"aws:cloudwatch/compositeAlarm:CompositeAlarm": "alarmName",
}

// compute fills in what AWS would return and returns the resource id.
func (m *Mocks) compute(typ, name string, out resource.PropertyMap) (id string, shaped bool) {
	r, a, p := m.Region, Account, Partition
	str := func(key string) string {
		v, ok := out[resource.PropertyKey(key)]
		for ok && v.IsSecret() {
			v = v.SecretValue().Element
		}
		if ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	set := func(key string, v any) { out[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	physical := name
	if key := autonamed[typ]; key != "" {
		physical = str(key)
		if physical == "" {
			physical = name + "-" + hexID(7, typ, name)
			set(key, physical)
		}
	}
	arn := func(service, resourcePart string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p, service, r, a, resourcePart)
	}

	switch typ {
	case "aws:ec2/vpc:Vpc":
		id := "vpc-" + hexID(17, typ, name)
		set("arn", arn("ec2", "vpc/"+id))
		set("mainRouteTableId", "rtb-"+hexID(17, "main", name))
		set("defaultSecurityGroupId", "sg-"+hexID(17, "default", name))
		set("ownerId", a)
		return id, true
	case "aws:ec2/subnet:Subnet":
		id := "subnet-" + hexID(17, typ, name)
		set("arn", arn("ec2", "subnet/"+id))
		set("ownerId", a)
		return id, true
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		id := "sg-" + hexID(17, typ, name)
		set("arn", arn("ec2", "security-group/"+id))
		set("ownerId", a)
		return id, true
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id := "sgr-" + hexID(17, typ, name)
		set("arn", arn("ec2", "security-group-rule/"+id))
		set("securityGroupRuleId", id)
		return id, true
	case "aws:ec2/routeTable:RouteTable":
		id := "rtb-" + hexID(17, typ, name)
		set("arn", arn("ec2", "route-table/"+id))
		return id, true
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		return "rtbassoc-" + hexID(17, typ, name), true
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		id := "vpce-" + hexID(17, typ, name)
		set("arn", arn("ec2", "vpc-endpoint/"+id))
		return id, true

	case "aws:rds/parameterGroup:ParameterGroup":
		set("arn", arn("rds", "pg:"+physical))
		return physical, true
	case "aws:rds/subnetGroup:SubnetGroup":
		set("arn", arn("rds", "subgrp:"+physical))
		return physical, true
	case "aws:rds/instance:Instance":
		resourceID := "db-" + alnumID(26, upperAlnum, typ, name)
		address := fmt.Sprintf("%s.c%s.%s.rds.amazonaws.com", physical, alnumID(12, lowerAlnum, "host", name), r)
		set("arn", arn("rds", "db:"+physical))
		set("resourceId", resourceID)
		set("address", address)
		set("endpoint", address+":3306")
		set("port", 3306)
		set("hostedZoneId", "Z24O6O9L7SGTNB")
		set("status", "available")
		if v, ok := out["manageMasterUserPassword"]; ok && v.IsBool() && v.BoolValue() {
			secretARN := arn("secretsmanager", "secret:rds!"+strings.ToLower(resourceID)+"-"+alnumID(6, mixedAlnum, "rds-secret", name))
			set("masterUserSecrets", []any{map[string]any{
				"secretArn":    secretARN,
				"secretStatus": "active",
				"kmsKeyId":     arn("kms", "key/"+uuid("aws/secretsmanager")),
			}})
		}
		return resourceID, true
	case "aws:rds/proxy:Proxy":
		set("arn", arn("rds", "db-proxy:prx-"+alnumID(17, lowerAlnum, typ, name)))
		set("endpoint", fmt.Sprintf("%s.proxy-c%s.%s.rds.amazonaws.com", physical, alnumID(12, lowerAlnum, "host", name), r))
		return physical, true
	case "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":
		set("name", "default")
		set("arn", arn("rds", "target-group:prx-tg-"+alnumID(17, lowerAlnum, typ, name)))
		return str("dbProxyName"), true
	case "aws:rds/proxyTarget:ProxyTarget":
		set("type", "RDS_INSTANCE")
		set("port", 3306)
		set("rdsResourceId", str("dbInstanceIdentifier"))
		set("targetArn", arn("rds", "db:"+str("dbInstanceIdentifier")))
		return strings.Join([]string{str("dbProxyName"), str("targetGroupName"), "RDS_INSTANCE", str("dbInstanceIdentifier")}, "/"), true

	case "aws:secretsmanager/secret:Secret":
		id := arn("secretsmanager", "secret:"+physical+"-"+alnumID(6, mixedAlnum, typ, name))
		set("arn", id)
		return id, true
	case "aws:secretsmanager/secretVersion:SecretVersion":
		version := uuid(typ, name)
		set("versionId", version)
		set("arn", str("secretId"))
		set("versionStages", []any{"AWSCURRENT"})
		return str("secretId") + "|" + version, true

	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:%s:iam::%s:role/%s", p, a, physical))
		set("uniqueId", "AROA"+alnumID(17, upperAlnum, typ, name))
		return physical, true
	case "aws:iam/policy:Policy":
		id := fmt.Sprintf("arn:%s:iam::%s:policy/%s", p, a, physical)
		set("arn", id)
		set("policyId", "ANPA"+alnumID(17, upperAlnum, typ, name))
		return id, true
	case "aws:iam/rolePolicy:RolePolicy":
		return str("role") + ":" + physical, true
	case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
		return str("role") + "-" + hexID(8, typ, name), true

	case "aws:sqs/queue:Queue":
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r, a, physical)
		set("arn", arn("sqs", physical))
		set("url", url)
		return url, true
	case "aws:sqs/queuePolicy:QueuePolicy", "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "aws:sqs/redrivePolicy:RedrivePolicy":
		return str("queueUrl"), true

	case "aws:lambda/function:Function":
		fn := arn("lambda", "function:"+physical)
		set("arn", fn)
		set("qualifiedArn", fn+":1")
		set("version", "1")
		set("invokeArn", fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", p, r, fn))
		set("lastModified", "2026-01-01T00:00:00.000+0000")
		return physical, true
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		id := uuid(typ, name)
		set("uuid", id)
		set("arn", arn("lambda", "event-source-mapping:"+id))
		set("state", "Enabled")
		return id, true
	case "aws:lambda/invocation:Invocation":
		// The migrator's answer to {"action":"up",...} (see the schema contract).
		set("result", `{"action":"up","version":5,"dirty":false,"appUser":"sluice_app"}`)
		return str("functionName") + "_" + hexID(8, typ, name), true
	case "aws:lambda/permission:Permission":
		return str("statementId"), true

	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", arn("logs", "log-group:"+physical))
		return physical, true
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		set("arn", arn("cloudwatch", "alarm:"+physical))
		return physical, true
	case "aws:cloudwatch/compositeAlarm:CompositeAlarm":
		set("arn", arn("cloudwatch", "alarm:"+physical))
		return physical, true
	case "aws:cloudwatch/dashboard:Dashboard":
		set("dashboardArn", fmt.Sprintf("arn:%s:cloudwatch::%s:dashboard/%s", p, a, physical))
		return physical, true

	case "aws:kms/key:Key":
		id := uuid(typ, name)
		set("keyId", id)
		set("arn", arn("kms", "key/"+id))
		return id, true
	case "aws:kms/alias:Alias":
		set("arn", arn("kms", str("name")))
		set("targetKeyArn", arn("kms", "key/"+str("targetKeyId")))
		return str("name"), true

	case "aws:sns/topic:Topic":
		id := arn("sns", physical)
		set("arn", id)
		set("owner", a)
		return id, true
	case "aws:sns/topicSubscription:TopicSubscription":
		id := str("topic") + ":" + uuid(typ, name)
		set("arn", id)
		set("pendingConfirmation", true)
		return id, true
	case "aws:sns/topicPolicy:TopicPolicy":
		return str("arn"), true

	case "aws:apigatewayv2/api:Api":
		id := alnumID(10, lowerAlnum, typ, name)
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, r))
		set("executionArn", arn("execute-api", id))
		set("arn", fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s", p, r, id))
		return id, true
	case "aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route", "aws:apigatewayv2/authorizer:Authorizer":
		return alnumID(7, lowerAlnum, typ, name), true
	case "aws:apigatewayv2/stage:Stage":
		api, stage := str("apiId"), str("name")
		path := stage
		if stage == "$default" {
			path = ""
		}
		set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s", api, r, path))
		set("executionArn", arn("execute-api", api+"/"+stage))
		set("arn", fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s/stages/%s", p, r, api, stage))
		return stage, true
	}
	// Any other type (explicit providers among them) gets a plausible id.
	return name + "-" + hexID(8, typ, name), false
}
