package awsmodel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// compute fills in what AWS would return for a created resource and returns
// its id; modelled is false for a type it does not know.
func (m Model) compute(typ, name string, out resource.PropertyMap) (id string, modelled bool, err error) {
	r, a, p := m.Region, Account, Partition
	s := func(key string) string { return str(out, key) }
	set := func(key string, v any) { out[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	physical := name
	if key := autonamed[typ]; key != "" {
		physical = s(key)
	}

	switch typ {
	case "aws:ec2/vpc:Vpc":
		id := "vpc-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "vpc/"+id))
		set("mainRouteTableId", "rtb-"+m.hex(17, "main", name))
		set("defaultSecurityGroupId", "sg-"+m.hex(17, "default", name))
		set("ownerId", a)
		return id, true, nil
	case "aws:ec2/subnet:Subnet":
		id := "subnet-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "subnet/"+id))
		set("ownerId", a)
		return id, true, nil
	case "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
		id := "sg-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "security-group/"+id))
		set("ownerId", a)
		return id, true, nil
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id := "sgr-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "security-group-rule/"+id))
		set("securityGroupRuleId", id)
		return id, true, nil
	case "aws:ec2/routeTable:RouteTable":
		id := "rtb-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "route-table/"+id))
		return id, true, nil
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		return "rtbassoc-" + m.hex(17, typ, name), true, nil
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		id := "vpce-" + m.hex(17, typ, name)
		set("arn", m.arn("ec2", "vpc-endpoint/"+id))
		return id, true, nil

	case "aws:rds/parameterGroup:ParameterGroup":
		set("arn", m.arn("rds", "pg:"+physical))
		return physical, true, nil
	case "aws:rds/subnetGroup:SubnetGroup":
		set("arn", m.arn("rds", "subgrp:"+physical))
		return physical, true, nil
	case "aws:rds/instance:Instance":
		resourceID := "db-" + m.alnum(26, upperAlnum, typ, name)
		address := fmt.Sprintf("%s.c%s.%s.rds.amazonaws.com", physical, alnumID(12, lowerAlnum, "host", name), r)
		set("arn", m.arn("rds", "db:"+physical))
		set("resourceId", resourceID)
		set("address", address)
		set("endpoint", address+":3306")
		set("port", 3306)
		set("hostedZoneId", "Z24O6O9L7SGTNB")
		set("status", "available")
		if v, ok := out["manageMasterUserPassword"]; ok && v.IsBool() && v.BoolValue() {
			// RDS names the secret it manages after the instance's
			// resource id: rds!db-<id>-<6 characters>.
			secretARN := m.arn("secretsmanager", "secret:rds!"+strings.ToLower(resourceID)+"-"+m.alnum(6, mixedAlnum, "rds-secret", name))
			set("masterUserSecrets", []any{map[string]any{
				"secretArn":    secretARN,
				"secretStatus": "active",
				"kmsKeyId":     m.arn("kms", "key/"+uuid("aws/secretsmanager")),
			}})
		}
		return resourceID, true, nil
	case "aws:rds/proxy:Proxy":
		set("arn", m.arn("rds", "db-proxy:prx-"+m.alnum(17, lowerAlnum, typ, name)))
		set("endpoint", fmt.Sprintf("%s.proxy-c%s.%s.rds.amazonaws.com", physical, alnumID(12, lowerAlnum, "host", name), r))
		return physical, true, nil
	case "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":
		set("name", "default")
		set("arn", m.arn("rds", "target-group:prx-tg-"+m.alnum(17, lowerAlnum, typ, name)))
		return s("dbProxyName"), true, nil
	case "aws:rds/proxyTarget:ProxyTarget":
		set("type", "RDS_INSTANCE")
		set("port", 3306)
		set("rdsResourceId", s("dbInstanceIdentifier"))
		set("targetArn", m.arn("rds", "db:"+s("dbInstanceIdentifier")))
		return strings.Join([]string{s("dbProxyName"), s("targetGroupName"), "RDS_INSTANCE", s("dbInstanceIdentifier")}, "/"), true, nil

	case "aws:secretsmanager/secret:Secret":
		id := m.arn("secretsmanager", "secret:"+physical+"-"+m.alnum(6, mixedAlnum, typ, name))
		set("arn", id)
		return id, true, nil
	case "aws:secretsmanager/secretVersion:SecretVersion":
		version := m.uuid(typ, name)
		set("versionId", version)
		set("arn", s("secretId"))
		set("versionStages", []any{"AWSCURRENT"})
		return s("secretId") + "|" + version, true, nil

	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:%s:iam::%s:role/%s", p, a, physical))
		set("uniqueId", "AROA"+m.alnum(17, upperAlnum, typ, name))
		return physical, true, nil
	case "aws:iam/policy:Policy":
		id := fmt.Sprintf("arn:%s:iam::%s:policy/%s", p, a, physical)
		set("arn", id)
		set("policyId", "ANPA"+m.alnum(17, upperAlnum, typ, name))
		return id, true, nil
	case "aws:iam/rolePolicy:RolePolicy":
		return s("role") + ":" + physical, true, nil
	case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
		return s("role") + "-" + m.hex(8, typ, name), true, nil

	case "aws:sqs/queue:Queue":
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r, a, physical)
		set("arn", m.arn("sqs", physical))
		set("url", url)
		return url, true, nil
	case "aws:sqs/queuePolicy:QueuePolicy", "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "aws:sqs/redrivePolicy:RedrivePolicy":
		return s("queueUrl"), true, nil

	case "aws:lambda/function:Function":
		fn := m.arn("lambda", "function:"+physical)
		set("arn", fn)
		set("qualifiedArn", fn+":$LATEST")
		set("version", "$LATEST")
		set("invokeArn", fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", p, r, fn))
		set("lastModified", "2026-01-01T00:00:00.000+0000")
		// Lambda reports the SHA-256 of the package it stored; the
		// program computes sourceCodeHash from the same bytes.
		set("codeSha256", s("sourceCodeHash"))
		return physical, true, nil
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		id := m.uuid(typ, name)
		set("uuid", id)
		set("arn", m.arn("lambda", "event-source-mapping:"+id))
		set("functionArn", s("functionName"))
		set("state", "Enabled")
		return id, true, nil
	case "aws:lambda/invocation:Invocation":
		result, err := m.invoke(s("functionName"), s("input"))
		if err != nil {
			return "", true, err
		}
		set("result", result)
		qualifier := s("qualifier")
		if qualifier == "" {
			qualifier = "$LATEST"
		}
		// The provider's id: function name, qualifier and a hash of the input.
		return s("functionName") + "_" + qualifier + "_" + hexID(32, s("input")), true, nil
	case "aws:lambda/permission:Permission":
		return s("statementId"), true, nil

	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", m.arn("logs", "log-group:"+physical))
		return physical, true, nil
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		set("arn", m.arn("cloudwatch", "alarm:"+physical))
		return physical, true, nil
	case "aws:cloudwatch/compositeAlarm:CompositeAlarm":
		set("arn", m.arn("cloudwatch", "alarm:"+physical))
		return physical, true, nil
	case "aws:cloudwatch/dashboard:Dashboard":
		set("dashboardArn", fmt.Sprintf("arn:%s:cloudwatch::%s:dashboard/%s", p, a, physical))
		return physical, true, nil

	case "aws:kms/key:Key":
		id := m.uuid(typ, name)
		set("keyId", id)
		set("arn", m.arn("kms", "key/"+id))
		return id, true, nil
	case "aws:kms/alias:Alias":
		set("arn", m.arn("kms", s("name")))
		set("targetKeyArn", m.arn("kms", "key/"+s("targetKeyId")))
		return s("name"), true, nil

	case "aws:sns/topic:Topic":
		id := m.arn("sns", physical)
		set("arn", id)
		set("owner", a)
		return id, true, nil
	case "aws:sns/topicSubscription:TopicSubscription":
		id := s("topic") + ":" + m.uuid(typ, name)
		set("arn", id)
		set("pendingConfirmation", true)
		return id, true, nil
	case "aws:sns/topicPolicy:TopicPolicy":
		return s("arn"), true, nil

	case "aws:apigatewayv2/api:Api":
		id := m.alnum(10, lowerAlnum, typ, name)
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, r))
		set("executionArn", m.arn("execute-api", id))
		set("arn", fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s", p, r, id))
		return id, true, nil
	case "aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route", "aws:apigatewayv2/authorizer:Authorizer":
		return m.alnum(7, lowerAlnum, typ, name), true, nil
	case "aws:apigatewayv2/stage:Stage":
		api, stage := s("apiId"), s("name")
		path := stage
		if stage == "$default" {
			path = ""
		}
		set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s", api, r, path))
		set("executionArn", m.arn("execute-api", api+"/"+stage))
		set("arn", fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s/stages/%s", p, r, api, stage))
		return stage, true, nil
	}
	// Any other type (explicit providers among them) gets a plausible id.
	return name + "-" + m.hex(8, typ, name), false, nil
}

// FunctionError is a Lambda function's own error (its response carried
// X-Amz-Function-Error): the invocation ran and the function failed.
type FunctionError struct {
	Function string
	Payload  []byte // the function's error document, {"errorMessage":…,"errorType":…}
}

// Error reads as the provider's message for a failed invocation.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("Lambda function (%s) returned error: (%s)", e.Function, e.Payload)
}

func (m Model) invoke(function, input string) (string, error) {
	if m.Lambda == nil {
		return "", errors.New("awsmodel: no Lambda service to invoke " + function)
	}
	out, err := m.Lambda.Invoke(function, []byte(input))
	if err != nil {
		return "", err
	}
	return string(out), nil
}
