package rules_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// FuzzPoliciesNeverPanic feeds arbitrary JSON property maps, with values
// turned computed or secret, as every resource type the pack inspects, and
// checks that no policy needs its recover: a panic would show up as an
// "internal error" violation.
func FuzzPoliciesNeverPanic(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"publiclyAccessible":"yes","storageEncrypted":1,"auths":"REQUIRED","requireTls":null}`,
		`{"auths":[null,1,"x",{"iamAuth":7}],"vpcSecurityGroupIds":"sg-1","dbSubnetGroupName":["a"]}`,
		`{"redrivePolicy":"[1,2]","redriveAllowPolicy":"{\"redrivePermission\":5}","fifoQueue":"true"}`,
		`{"redrivePolicy":"{\"maxReceiveCount\":\"x\",\"deadLetterTargetArn\":7}","messageRetentionSeconds":"long"}`,
		`{"policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[1],\"Resource\":{}}]}"}`,
		`{"policy":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":[\"*\"],\"Condition\":\"x\"}}","assumeRolePolicy":"null"}`,
		`{"inlinePolicies":[{"policy":{"Statement":"*"}},"x"],"managedPolicyArns":[1]}`,
		`{"scalingConfig":"max","functionResponseTypes":"ReportBatchItemFailures","eventSourceArn":["arn:aws:sqs:x"]}`,
		`{"defaultRouteSettings":[],"accessLogSettings":{"format":5,"destinationArn":[]}}`,
		`{"policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":[\"*\"],\"NotPrincipal\":7,\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":[1,{}]},\"ArnLike\":\"x\"}}]}"}`,
		`{"principal":["*"],"sourceArn":5,"sourceAccount":"arn:","principalOrgId":null,"engine":"mysql","engineVersion":8}`,
		`{"engine":"aurora-mysql","engineVersion":".mysql_aurora.","engineLifecycleSupport":[]}`,
		`{"ingress":[{"protocol":-1,"fromPort":"0","cidrBlocks":"0.0.0.0/0"}],"routes":[{"gatewayId":1}],"parameters":"require_secure_transport"}`,
	} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(3))
	}
	types := map[string]bool{}
	for _, r := range rulestest.Stack() {
		types[r.Type] = true
	}
	f.Fuzz(func(t *testing.T, doc string, mode uint8) {
		var m map[string]any
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return
		}
		props := resource.NewPropertyMapFromMap(m)
		i := 0
		for k, v := range props {
			switch (int(mode) + i) % 4 {
			case 1:
				props[k] = rulestest.Computed()
			case 2:
				props[k] = resource.MakeSecret(v)
			}
			i++
		}
		for _, env := range []rules.Env{{Stack: "prod", DryRun: true}, {Stack: "prod"}} {
			for typ := range types {
				stack := rulestest.Stack()
				for j := range stack {
					if stack[j].Type == typ {
						stack[j].Properties = props
						stack[j].PropertyDependencies = map[string][]string{"redrivePolicy": {"urn:unknown"}}
						break
					}
				}
				for _, v := range rules.Evaluate(rules.All(), stack, nil, env) {
					if strings.Contains(v.Message, "internal error") {
						t.Fatalf("%s on %s with %s: %s", v.Policy, typ, doc, v.Message)
					}
				}
			}
		}
	})
}
