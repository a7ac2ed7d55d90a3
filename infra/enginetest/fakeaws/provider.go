package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// account is the identity the fake provider answers for.
type account struct {
	ID     string
	User   string
	Region string // used when the provider is configured without aws:region
}

// defaultAccount is the documentation account id AWS itself uses in examples.
var defaultAccount = account{ID: "123456789012", User: "sluice-enginetest", Region: "ap-northeast-1"}

// server implements pulumirpc.ResourceProviderServer for the "aws" package.
type server struct {
	pulumirpc.UnimplementedResourceProviderServer

	version string
	account account

	mu     sync.Mutex
	region string // from Configure
}

func newServer(version string, acct account) *server {
	return &server{version: version, account: acct, region: acct.Region}
}

// propOpts keeps every kind of value the engine may send, so that echoing a
// value back never turns an unknown into a known or drops a secret flag.
var propOpts = plugin.MarshalOptions{
	KeepUnknowns:     true,
	KeepSecrets:      true,
	KeepResources:    true,
	KeepOutputValues: true,
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

// GetSchema answers with an empty package schema: only code generators ask
// for it, and the engine test generates no code.
func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{
		Schema: fmt.Sprintf(`{"name":"aws","version":%q}`, s.version),
	}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return s.diff(req.GetOldInputs(), req.GetNews())
}

func (s *server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := plugin.UnmarshalProperties(req.GetArgs(), propOpts)
	if err != nil {
		return nil, fmt.Errorf("configure: %w", err)
	}
	if v, ok := args["region"]; ok && v.IsString() && v.StringValue() != "" {
		s.mu.Lock()
		s.region = v.StringValue()
		s.mu.Unlock()
	}
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		AcceptResources: true,
		SupportsPreview: true,
	}, nil
}

// Check accepts the inputs as they are. The real provider also validates
// them against the AWS schema and fills in defaults; policies therefore must
// not depend on provider defaults, which is what the engine test shows.
func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return s.diff(req.GetOldInputs(), req.GetNews())
}

// diff reports which top-level properties changed. Every change is an
// in-place update: the stand-in knows nothing about replacement.
func (s *server) diff(olds, news *structpb.Struct) (*pulumirpc.DiffResponse, error) {
	o, err := plugin.UnmarshalProperties(olds, propOpts)
	if err != nil {
		return nil, fmt.Errorf("diff: old inputs: %w", err)
	}
	n, err := plugin.UnmarshalProperties(news, propOpts)
	if err != nil {
		return nil, fmt.Errorf("diff: new inputs: %w", err)
	}
	d := o.Diff(n)
	if d == nil || !d.AnyChanges() {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	var keys []string
	for _, k := range d.ChangedKeys() {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: keys}, nil
}

// Create returns the inputs as the resource's state. During a preview that is
// the planned state; outside one it is a stand-in for a created resource with
// an id derived from its URN, so the stand-in can also serve `pulumi up`.
func (s *server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: req.GetProperties()}, nil
	}
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return &pulumirpc.CreateResponse{Id: fakeID(urn), Properties: req.GetProperties()}, nil
}

// Read echoes what it is asked for: the engine calls it for resources the
// program looks up by id (`.Get`), and the stand-in has no cloud to ask.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	props := req.GetProperties()
	if props == nil {
		props = req.GetInputs()
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: req.GetInputs()}, nil
}

func (s *server) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
}

func (s *server) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Invoke answers the data sources in dataSources. Any other token fails the
// call, so a program that starts depending on a new data source fails the
// engine test with the token's name instead of silently getting nothing.
func (s *server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	fn, ok := dataSources[req.GetTok()]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented,
			"fakeaws: no canned answer for data source %q; add one to infra/enginetest/fakeaws", req.GetTok())
	}
	args, err := plugin.UnmarshalProperties(req.GetArgs(), propOpts)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", req.GetTok(), err)
	}
	s.mu.Lock()
	region := s.region
	s.mu.Unlock()
	out, err := fn(s.account, region, args)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", req.GetTok(), err)
	}
	ret, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(out), propOpts)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// fakeID makes a stable, readable physical id from the resource's name.
func fakeID(urn resource.URN) string {
	return urn.Name() + "-fake"
}
