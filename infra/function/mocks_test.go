package function

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	testRegion   = "ap-northeast-1"
	testAccount  = "123456789012"
	testProxyARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0f1e2d3c4b5a69788"
	testQueueARN = "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-submissions"
)

// registered is one resource registration seen by the mock engine, with its
// inputs as the provider would receive them.
type registered struct {
	Type, Name, Parent string
	Inputs             resource.PropertyMap
	Deps               []string
}

// awsMocks answers registrations with outputs shaped like AWS's (ARNs with
// region and account) and records what was registered.
type awsMocks struct {
	mu  sync.Mutex
	got []registered
}

func (m *awsMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := registered{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent, r.Deps = rpc.GetParent(), rpc.GetDependencies()
	}
	m.mu.Lock()
	m.got = append(m.got, r)
	m.mu.Unlock()

	out := args.Inputs.Copy()
	name := args.Name
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	out["name"] = resource.NewProperty(name)
	id := name + "-id"
	switch args.TypeToken {
	case "aws:iam/role:Role":
		out["arn"] = resource.NewProperty(fmt.Sprintf("arn:aws:iam::%s:role/%s", testAccount, name))
	case "aws:cloudwatch/logGroup:LogGroup":
		out["arn"] = resource.NewProperty(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", testRegion, testAccount, name))
	case "aws:lambda/function:Function":
		out["arn"] = resource.NewProperty(fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", testRegion, testAccount, name))
	case "aws:lambda/eventSourceMapping:EventSourceMapping":
		id = "6f1c3e0a-9d2b-4c5e-8f7a-1b2c3d4e5f60"
		out["uuid"] = resource.NewProperty(id)
	}
	return id, out, nil
}

func (m *awsMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}

// one returns the only registration of the type whose name has the suffix.
func (m *awsMocks) one(t *testing.T, typ, nameSuffix string) registered {
	t.Helper()
	var found []registered
	for _, r := range m.got {
		if r.Type == typ && strings.HasSuffix(r.Name, nameSuffix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named *%s, got %d", typ, nameSuffix, len(found))
	}
	return found[0]
}

// run runs program under the mocks and returns what it registered.
func run(t *testing.T, program pulumi.RunFunc) (*awsMocks, error) {
	t.Helper()
	m := &awsMocks{}
	err := pulumi.RunErr(program, pulumi.WithMocks("sluice", "dev", m))
	return m, err
}
