// Package awsmodel is Sluice's one model of what AWS answers: the
// identifiers, ARNs, URLs, endpoints and computed outputs the AWS provider
// returns for every resource type the program uses, the data sources it
// reads, which input changes force a replacement, and which deletions AWS
// refuses.
//
// Two stand-ins for AWS answer from it: offline/mocks (the Pulumi Go SDK's
// mock monitor: the component tests and the offline preview) and the
// stand-in provider offline/fakeaws (the real engine: the engine
// and lifecycle tests, `make rehearse`). Neither keeps a second copy of
// these facts.
//
// Shapes follow pulumi-aws v6 (terraform-provider-aws v5 schemas): a
// resource's outputs are its inputs plus what Create computes here.
package awsmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Account is the AWS account id every modelled ARN carries: the
// documentation account AWS itself uses in examples.
const Account = "123456789012"

// Partition is the AWS partition of every modelled ARN.
const Partition = "aws"

// CallerUser is the IAM user getCallerIdentity answers with.
const CallerUser = "sluice-ci"

// Model answers for one account in one region.
type Model struct {
	// Region is the provider's aws:region.
	Region string
	// Unique, when not empty, is mixed into every identifier AWS generates
	// at create time (vpc-…, db-… resource ids, mapping UUIDs), so that a
	// replacement gets new ones, as in AWS. Empty keeps them a function of
	// the type and the logical name: the mocks and the offline preview
	// print the same every run.
	Unique string
	// Lambda runs a function when an aws:lambda/invocation:Invocation is
	// created or updated. The invocation's result is what it returns; an
	// error fails the create, as a function error fails it in AWS.
	Lambda Invoker
}

// Invoker invokes a Lambda function synchronously (RequestResponse).
type Invoker interface {
	// Invoke calls the function (a name or an ARN) with payload and
	// returns the function's response payload.
	Invoke(function string, payload []byte) ([]byte, error)
}

// Answer is what AWS returns for a created resource.
type Answer struct {
	ID      string
	Outputs resource.PropertyMap
	// Modelled is false for a type this package does not know: it got a
	// generic id and its inputs echoed.
	Modelled bool
}

// Create answers the creation of a resource of type typ with logical name
// name: the inputs echoed, the autonamed physical name filled in when the
// program gave none, and the attributes AWS computes.
func (m Model) Create(typ, name string, inputs resource.PropertyMap) (Answer, error) {
	out := inputs.Copy()
	if key, value := AutoName(typ, name, out, nil); key != "" {
		out[resource.PropertyKey(key)] = resource.NewProperty(value)
	}
	id, modelled, err := m.compute(typ, name, out)
	if err != nil {
		return Answer{}, err
	}
	return Answer{ID: id, Outputs: out, Modelled: modelled}, nil
}

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

// NameKey returns the property holding the physical name the provider
// generates for typ, or "" when typ has none.
func NameKey(typ string) string { return autonamed[typ] }

// AutoName returns the property and the physical name the provider gives a
// resource whose inputs name none: the logical name, "-" and 7 hex
// characters derived from seed (the engine's per-resource random seed), or
// from the type and logical name when seed is empty. It returns "" when typ
// is not autonamed or inputs already hold a name.
func AutoName(typ, name string, inputs resource.PropertyMap, seed []byte) (key, value string) {
	key = autonamed[typ]
	if key == "" || str(inputs, key) != "" {
		return "", ""
	}
	parts := []string{typ, name}
	if len(seed) > 0 {
		parts = append(parts, hex.EncodeToString(seed))
	}
	return key, name + "-" + hexID(7, parts...)
}

// str is StringAt.
func str(m resource.PropertyMap, key string) string { return StringAt(m, key) }

// StringAt returns the string at key, looking through secrets; "" when
// absent or not a known string.
func StringAt(m resource.PropertyMap, key string) string {
	v, ok := m[resource.PropertyKey(key)]
	for ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

// unique appends m.Unique to the parts an identifier is derived from.
func (m Model) unique(parts []string) []string {
	if m.Unique == "" {
		return parts
	}
	return append(parts, m.Unique)
}

// hex, alnum and uuid are the identifiers AWS generates at create time,
// derived from parts (and m.Unique).
func (m Model) hex(n int, parts ...string) string { return hexID(n, m.unique(parts)...) }
func (m Model) alnum(n int, alphabet string, parts ...string) string {
	return alnumID(n, alphabet, m.unique(parts)...)
}
func (m Model) uuid(parts ...string) string { return uuid(m.unique(parts)...) }

// hexID is a deterministic lowercase hex string of n characters.
func hexID(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	s := hex.EncodeToString(sum[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// alnumID is a deterministic id of n characters from alphabet.
func alnumID(n int, alphabet string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[int(sum[i%len(sum)]+byte(i/len(sum)))%len(alphabet)]
	}
	return string(out)
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func uuid(parts ...string) string {
	h := hexID(32, parts...)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// arn is an ARN of this account and region.
func (m Model) arn(service, resourcePart string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", Partition, service, m.Region, Account, resourcePart)
}
