package rules_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

func find(rs []rules.Resource, typ, name string) *rules.Resource {
	for i := range rs {
		if rs[i].Type == typ && rs[i].Name == name {
			return &rs[i]
		}
	}
	panic("no " + typ + " " + name)
}

func add(typ, name string, p map[string]any) rules.Resource {
	return rules.Resource{Type: typ, Name: name, URN: rulestest.URN(typ, name), Properties: props(p)}
}

// TestStackPolicyCases covers what the single-property mutations cannot:
// resources added to or moved out of the stack, and alternative shapes.
func TestStackPolicyCases(t *testing.T) {
	const queueT, dlqName = "aws:sqs/queue:Queue", "dlq"
	cases := []struct {
		name   string
		policy rules.Policy
		edit   func(rs []rules.Resource) []rules.Resource
		env    rules.Env
		want   int
	}{
		{"internet gateway route inline", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			rt := find(rs, "aws:ec2/routeTable:RouteTable", "private")
			rt.Properties = rt.Properties.Copy()
			rt.Properties["routes"] = resource.NewPropertyValue([]any{map[string]any{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc"}})
			return rs
		}, rules.Env{}, 2}, // both DB subnets use the table
		{"internet gateway route as a resource, by dependency", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			igw := add("aws:ec2/internetGateway:InternetGateway", "igw", map[string]any{"vpcId": "vpc-0a1"})
			route := add("aws:ec2/route:Route", "default", map[string]any{"routeTableId": "rtb-0p1", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": rulestest.Computed()})
			route.PropertyDependencies = map[string][]string{"gatewayId": {igw.URN}}
			return append(rs, igw, route)
		}, rules.Env{DryRun: true}, 2},
		{"NAT route is private", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add("aws:ec2/route:Route", "nat", map[string]any{"routeTableId": "rtb-0p1", "destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0abc"}))
		}, rules.Env{}, 0},
		{"all traffic from anywhere via a rule resource", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add("aws:ec2/securityGroupRule:SecurityGroupRule", "all", map[string]any{"type": "ingress", "securityGroupId": "sg-0db", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": []any{"0.0.0.0/0"}}))
		}, rules.Env{}, 1},
		{"HTTPS from anywhere does not expose MySQL", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "https", map[string]any{"securityGroupId": "sg-0db", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}))
		}, rules.Env{}, 0},
		{"subnet group outside the stack", rules.RDSNetworkPrivate, func(rs []rules.Resource) []rules.Resource {
			db := find(rs, "aws:rds/instance:Instance", "db")
			db.Properties = db.Properties.Copy()
			db.Properties["dbSubnetGroupName"] = resource.NewProperty("shared-db-subnets")
			return rs
		}, rules.Env{}, 1},

		{"DLQ attached by an aws.sqs.RedrivePolicy resource", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			q := find(rs, queueT, "queue")
			rp := add("aws:sqs/redrivePolicy:RedrivePolicy", "redrive", map[string]any{
				"queueUrl": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/sluice-dev-submissions", "redrivePolicy": q.Properties["redrivePolicy"]})
			q.Properties = q.Properties.Copy()
			delete(q.Properties, "redrivePolicy")
			return append(rs, rp)
		}, rules.Env{}, 0},
		{"DLQ declared by an aws.sqs.RedriveAllowPolicy resource is not a source", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			dlq, q := find(rs, queueT, dlqName), find(rs, queueT, "queue")
			allow := add("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "allow", map[string]any{
				"queueUrl": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/sluice-dev-submissions-dlq", "redriveAllowPolicy": dlq.Properties["redriveAllowPolicy"]})
			dlq.Properties, q.Properties = dlq.Properties.Copy(), q.Properties.Copy()
			delete(dlq.Properties, "redriveAllowPolicy")
			delete(q.Properties, "redrivePolicy")
			return append(rs, allow)
		}, rules.Env{}, 1},
		{"undeclared DLQ that lost its source counts as a queue without DLQ", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			dlq, q := find(rs, queueT, dlqName), find(rs, queueT, "queue")
			dlq.Properties, q.Properties = dlq.Properties.Copy(), q.Properties.Copy()
			delete(dlq.Properties, "redriveAllowPolicy")
			delete(q.Properties, "redrivePolicy")
			return rs
		}, rules.Env{}, 2},
		{"maxReceiveCount as a string", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			q := find(rs, queueT, "queue")
			q.Properties = q.Properties.Copy()
			q.Properties["redrivePolicy"] = rulestest.SetJSON("maxReceiveCount", "4")(q.Properties["redrivePolicy"])
			return rs
		}, rules.Env{}, 0},
		{"redrive policy without maxReceiveCount", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			q := find(rs, queueT, "queue")
			q.Properties = q.Properties.Copy()
			q.Properties["redrivePolicy"] = rulestest.SetJSON("maxReceiveCount", nil)(q.Properties["redrivePolicy"])
			return rs
		}, rules.Env{}, 1},
		{"FIFO pair by name", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			for _, n := range []string{"queue", dlqName} {
				q := find(rs, queueT, n)
				q.Properties = q.Properties.Copy()
				q.Properties["fifoQueue"] = resource.NewProperty(true)
			}
			return rs
		}, rules.Env{}, 0},
		{"second queue without DLQ", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add(queueT, "other", map[string]any{"name": "other"}))
		}, rules.Env{}, 1},
		{"computed redrive without dependency in preview", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			q := find(rs, queueT, "queue")
			q.Properties = q.Properties.Copy()
			q.Properties["redrivePolicy"] = rulestest.Computed()
			return rs
		}, rules.Env{DryRun: true}, 1},
		{"secret redrive policy", rules.SQSQueueHasDLQ, func(rs []rules.Resource) []rules.Resource {
			q := find(rs, queueT, "queue")
			q.Properties = q.Properties.Copy()
			q.Properties["redrivePolicy"] = resource.MakeSecret(rulestest.SetJSON("maxReceiveCount", 1)(q.Properties["redrivePolicy"]))
			return rs
		}, rules.Env{}, 1},

		{"mapping from a Kinesis stream is not checked", rules.LambdaSQSESMSafe, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add("aws:lambda/eventSourceMapping:EventSourceMapping", "stream", map[string]any{"eventSourceArn": "arn:aws:kinesis:ap-northeast-1:123456789012:stream/s", "functionName": "x"}))
		}, rules.Env{}, 0},
		{"mapping from a queue outside the stack", rules.LambdaSQSESMSafe, func(rs []rules.Resource) []rules.Resource {
			return append(rs, add("aws:lambda/eventSourceMapping:EventSourceMapping", "ext", map[string]any{"eventSourceArn": "arn:aws:sqs:ap-northeast-1:123456789012:elsewhere", "functionName": "x"}))
		}, rules.Env{}, 1},
		{"function without reserved concurrency", rules.LambdaSQSESMSafe, func(rs []rules.Resource) []rules.Resource {
			fn := find(rs, "aws:lambda/function:Function", "consumer")
			fn.Properties = fn.Properties.Copy()
			delete(fn.Properties, "reservedConcurrentExecutions")
			return rs
		}, rules.Env{}, 0},
		{"function timeout computed", rules.LambdaSQSESMSafe, func(rs []rules.Resource) []rules.Resource {
			fn := find(rs, "aws:lambda/function:Function", "consumer")
			fn.Properties = fn.Properties.Copy()
			fn.Properties["timeout"] = rulestest.Computed()
			return rs
		}, rules.Env{DryRun: true}, 1},

		{"queue policy inline on the queue", rules.TransportTLSRequired, func(rs []rules.Resource) []rules.Resource {
			dlq := find(rs, queueT, dlqName)
			dlq.Properties = dlq.Properties.Copy()
			dlq.Properties["policy"] = find(rs, "aws:sqs/queuePolicy:QueuePolicy", "dlq-tls").Properties["policy"]
			var out []rules.Resource
			for _, r := range rs {
				if r.Name != "dlq-tls" {
					out = append(out, r)
				}
			}
			return out
		}, rules.Env{}, 0},
		{"queue policy malformed", rules.TransportTLSRequired, func(rs []rules.Resource) []rules.Resource {
			qp := find(rs, "aws:sqs/queuePolicy:QueuePolicy", "queue-tls")
			qp.Properties = qp.Properties.Copy()
			qp.Properties["policy"] = resource.NewProperty("{")
			return rs
		}, rules.Env{}, 1},
		{"parameter group outside the stack", rules.TransportTLSRequired, func(rs []rules.Resource) []rules.Resource {
			db := find(rs, "aws:rds/instance:Instance", "db")
			db.Properties = db.Properties.Copy()
			db.Properties["parameterGroupName"] = resource.NewProperty("default.mysql8.0")
			return rs
		}, rules.Env{}, 1},
		{"require_secure_transport ON", rules.TransportTLSRequired, func(rs []rules.Resource) []rules.Resource {
			pg := find(rs, "aws:rds/parameterGroup:ParameterGroup", "mysql")
			pg.Properties = pg.Properties.Copy()
			pg.Properties["parameters"] = rulestest.EachElem("name", "require_secure_transport", "value", "ON")(pg.Properties["parameters"])
			return rs
		}, rules.Env{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.edit(rulestest.Stack())
			vs := tc.policy.CheckStack(rs, nil, tc.env)
			if len(vs) != tc.want {
				t.Fatalf("got %d violations, want %d: %+v", len(vs), tc.want, vs)
			}
		})
	}
}
