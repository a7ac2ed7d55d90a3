package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

const queueURN = "urn:pulumi:dev::sluice::aws:sqs/queue:Queue::ingest"

func marshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, propOpts)
	if err != nil {
		t.Fatalf("marshal %v: %v", m, err)
	}
	return s
}

func unmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, propOpts)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return m
}

// queueInputs mixes the kinds of values a preview sends: a known string, an
// unknown (an ARN of a resource not created yet) and a secret.
func queueInputs() resource.PropertyMap {
	return resource.PropertyMap{
		"name":                   resource.NewStringProperty("ingest"),
		"redrivePolicy":          resource.MakeComputed(resource.NewStringProperty("")),
		"kmsDataKeyReusePeriod":  resource.NewNumberProperty(300),
		"tags":                   resource.NewObjectProperty(resource.PropertyMap{"env": resource.NewStringProperty("dev")}),
		"sqsManagedSseEnabled":   resource.NewBoolProperty(true),
		"visibilityTimeoutToken": resource.MakeSecret(resource.NewStringProperty("s3cr3t")),
	}
}

func TestCheckAndPreviewCreateEchoInputs(t *testing.T) {
	srv := newServer("6.83.4", defaultAccount)
	ctx := context.Background()
	in := queueInputs()

	checked, err := srv.Check(ctx, &pulumirpc.CheckRequest{Urn: queueURN, News: marshal(t, in)})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := unmarshal(t, checked.GetInputs()); !got.DeepEquals(in) {
		t.Errorf("Check inputs = %v, want %v", got, in)
	}

	created, err := srv.Create(ctx, &pulumirpc.CreateRequest{Urn: queueURN, Properties: marshal(t, in), Preview: true})
	if err != nil {
		t.Fatalf("Create(preview): %v", err)
	}
	if created.GetId() != "" {
		t.Errorf("Create(preview) id = %q, want none: a preview creates nothing", created.GetId())
	}
	got := unmarshal(t, created.GetProperties())
	if !got.DeepEquals(in) {
		t.Errorf("Create(preview) state = %v, want the inputs %v", got, in)
	}
	if !got["redrivePolicy"].IsComputed() {
		t.Errorf("redrivePolicy = %v, want it still unknown", got["redrivePolicy"])
	}
	if !got["visibilityTimeoutToken"].IsSecret() {
		t.Errorf("visibilityTimeoutToken = %v, want it still secret", got["visibilityTimeoutToken"])
	}
}

func TestCreateAssignsIDFromName(t *testing.T) {
	srv := newServer("6.83.4", defaultAccount)
	in := resource.PropertyMap{"name": resource.NewStringProperty("ingest")}
	resp, err := srv.Create(context.Background(), &pulumirpc.CreateRequest{Urn: queueURN, Properties: marshal(t, in)})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if resp.GetId() != "ingest-fake" {
		t.Errorf("id = %q, want %q", resp.GetId(), "ingest-fake")
	}
	if _, err := srv.Create(context.Background(), &pulumirpc.CreateRequest{Urn: "not-a-urn"}); err == nil {
		t.Error("Create with a malformed URN succeeded, want an error")
	}
}

func TestDiff(t *testing.T) {
	base := resource.PropertyMap{
		"name":    resource.NewStringProperty("ingest"),
		"timeout": resource.NewNumberProperty(30),
	}
	with := func(k string, v resource.PropertyValue) resource.PropertyMap {
		m := base.Copy()
		m[resource.PropertyKey(k)] = v
		return m
	}
	without := func(k string) resource.PropertyMap {
		m := base.Copy()
		delete(m, resource.PropertyKey(k))
		return m
	}
	tests := []struct {
		name     string
		olds     resource.PropertyMap
		news     resource.PropertyMap
		want     pulumirpc.DiffResponse_DiffChanges
		wantKeys []string
	}{
		{"same", base, base.Copy(), pulumirpc.DiffResponse_DIFF_NONE, nil},
		{"changed", base, with("timeout", resource.NewNumberProperty(60)), pulumirpc.DiffResponse_DIFF_SOME, []string{"timeout"}},
		{"added", base, with("memorySize", resource.NewNumberProperty(256)), pulumirpc.DiffResponse_DIFF_SOME, []string{"memorySize"}},
		{"removed", base, without("timeout"), pulumirpc.DiffResponse_DIFF_SOME, []string{"timeout"}},
		{"now unknown", base, with("name", resource.MakeComputed(resource.NewStringProperty(""))), pulumirpc.DiffResponse_DIFF_SOME, []string{"name"}},
	}
	srv := newServer("6.83.4", defaultAccount)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn: queueURN, OldInputs: marshal(t, tt.olds), News: marshal(t, tt.news),
			})
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if resp.GetChanges() != tt.want {
				t.Errorf("changes = %v, want %v", resp.GetChanges(), tt.want)
			}
			if !slices.Equal(resp.GetDiffs(), tt.wantKeys) {
				t.Errorf("diffs = %v, want %v", resp.GetDiffs(), tt.wantKeys)
			}
		})
	}
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name   string
		region string // configured aws:region, "" for none
		tok    string
		args   resource.PropertyMap
		want   map[string]any
	}{
		{
			name: "caller identity", tok: "aws:index/getCallerIdentity:getCallerIdentity",
			want: map[string]any{"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/sluice-enginetest"},
		},
		{
			name: "region from config", region: "eu-west-1", tok: "aws:index/getRegion:getRegion",
			want: map[string]any{"name": "eu-west-1", "id": "eu-west-1", "endpoint": "ec2.eu-west-1.amazonaws.com"},
		},
		{
			name: "region default", tok: "aws:index/getRegion:getRegion",
			want: map[string]any{"name": "ap-northeast-1"},
		},
		{
			name: "region asked by name", region: "eu-west-1", tok: "aws:index/getRegion:getRegion",
			args: resource.PropertyMap{"name": resource.NewStringProperty("us-east-1")},
			want: map[string]any{"name": "us-east-1"},
		},
		{
			name: "partition", tok: "aws:index/getPartition:getPartition",
			want: map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"},
		},
		{
			name: "availability zones", region: "ap-northeast-1", tok: "aws:index/getAvailabilityZones:getAvailabilityZones",
			want: map[string]any{
				"names":   []any{"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"},
				"zoneIds": []any{"apne1-az1", "apne1-az2", "apne1-az3"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer("6.83.4", defaultAccount)
			ctx := context.Background()
			if tt.region != "" {
				cfg := resource.PropertyMap{"region": resource.NewStringProperty(tt.region)}
				if _, err := srv.Configure(ctx, &pulumirpc.ConfigureRequest{Args: marshal(t, cfg)}); err != nil {
					t.Fatalf("Configure: %v", err)
				}
			}
			resp, err := srv.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: tt.tok, Args: marshal(t, tt.args)})
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			got := unmarshal(t, resp.GetReturn()).Mappable()
			for k, want := range tt.want {
				if !resource.NewPropertyValue(got[k]).DeepEquals(resource.NewPropertyValue(want)) {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

func TestInvokeUnknownDataSourceFailsWithItsName(t *testing.T) {
	srv := newServer("6.83.4", defaultAccount)
	const tok = "aws:ec2/getVpc:getVpc"
	_, err := srv.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tok})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), tok) {
		t.Fatalf("Invoke(%s) error = %v, want Unimplemented naming the token", tok, err)
	}
}

func TestConfigureSupportsPreview(t *testing.T) {
	srv := newServer("6.83.4", defaultAccount)
	resp, err := srv.Configure(context.Background(), &pulumirpc.ConfigureRequest{})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	// Without SupportsPreview the engine never calls Create during a preview,
	// and the echo path above would go untested by the engine test.
	if !resp.GetSupportsPreview() || !resp.GetAcceptSecrets() {
		t.Errorf("Configure = %+v, want preview and secrets support", resp)
	}
}
