// Package fakeaws is a stand-in for the pulumi-resource-aws provider plugin
// (built as that executable by ./cmd/pulumi-resource-aws), so that the real
// `pulumi` CLI and engine can preview, deploy, update and destroy the Sluice
// program without an AWS account and without reaching any network.
//
// What AWS would answer comes from offline/awsmodel, the model offline/mocks
// answers from too: ids, ARNs, URLs, endpoints and computed outputs on
// create, which input changes replace a resource and which update it in
// place, which deletions AWS refuses (an RDS instance with deletion
// protection). On top of the model the stand-in does what the lifecycle of
// a deployment needs from AWS, remembering it in a state directory
// ($SLUICE_FAKEAWS_STATE, see Store) across engine runs:
//
//   - Lambda keeps each function's code package and configuration;
//   - an aws:lambda/invocation:Invocation runs the function's own
//     `bootstrap` from that package under aws-lambda-rie (arm64 through
//     qemu-aarch64-static), with the function's environment except the
//     database address and auth, which point at the MySQL server standing in
//     for RDS; its answer is the invocation's result and a function error
//     fails the create;
//   - an RDS instance is a database and a master user on that server
//     ($SLUICE_FAKEAWS_MYSQL); RDS Proxy logs in with the secrets of its
//     auths, as the real proxy does; deleting the instance drops them, after
//     moving the tables into a snapshot database when a final snapshot is
//     asked for, and refusing a snapshot identifier that exists;
//   - a new RDS Proxy target warms up before it answers (proxyGate);
//   - the account has a Lambda concurrency quota, and Lambda refuses a
//     reservation that leaves too little unreserved
//     (awsmodel.CheckReservedConcurrency).
//
// A preview needs neither variable: it creates nothing.
package fakeaws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/awsmodel"
)

// Environment variables the provider reads.
const (
	// EnvState is the state directory (see Store); required to create,
	// update or delete anything.
	EnvState = "SLUICE_FAKEAWS_STATE"
	// EnvMySQL is host:port of the MySQL server that stands in for RDS
	// instances (admin user root with an empty password unless EnvMySQLUser
	// and EnvMySQLPassword say otherwise); required to create an instance.
	EnvMySQL         = "SLUICE_FAKEAWS_MYSQL"
	EnvMySQLUser     = "SLUICE_FAKEAWS_MYSQL_USER"
	EnvMySQLPassword = "SLUICE_FAKEAWS_MYSQL_PASSWORD"
	// EnvOmit lists <type>.<property> pairs, comma-separated, that the
	// provider leaves out of its answer to a create (the resource is still
	// created): it shows what the program does with an empty answer.
	EnvOmit = "SLUICE_FAKEAWS_OMIT"
	// EnvLambdaConcurrency is the account's Lambda concurrency quota
	// (awsmodel.DefaultConcurrentExecutions when unset); a young account
	// has 10.
	EnvLambdaConcurrency = "SLUICE_FAKEAWS_LAMBDA_CONCURRENCY"
	// EnvProxyWarmup is how a new proxy target warms up: "<refuse>,<n>",
	// a duration during which the proxy's address refuses connections and
	// how many connections it then answers with error 9501 (DefaultWarmup
	// when unset; "0,0" turns it off). See proxyGate.
	EnvProxyWarmup = "SLUICE_FAKEAWS_PROXY_WARMUP"
	// EnvFunctionEnv adds KEY=VALUE pairs, separated by ";", to the
	// environment of every function the stand-in invokes, as an operator
	// may set one in the console (e.g. SLUICE_DB_WAIT=0).
	EnvFunctionEnv = "SLUICE_FAKEAWS_FUNCTION_ENV"
)

// DefaultWarmup is a new proxy target's warm-up when EnvProxyWarmup is
// unset: long enough that a client which does not retry fails, short
// enough for a rehearsal.
var DefaultWarmup = Warmup{Refuse: 3 * time.Second, Reject: 1}

// defaultsKey is where Check records which inputs it defaulted, as the
// Terraform bridge does, so that an autonamed resource keeps its name.
const defaultsKey = "__defaults"

// Config is what the provider is told by its environment.
type Config struct {
	StateDir string
	// MySQL is the admin login to the server standing in for RDS (Name
	// "mysql"); empty Endpoint: none.
	MySQL dbconn.Config
	// Omit maps a type to the output properties left out of the answer to
	// its create (see EnvOmit).
	Omit map[string][]string
	// LambdaConcurrency is the account's Lambda concurrency quota.
	LambdaConcurrency int
	// Warmup is how a new proxy target warms up.
	Warmup Warmup
	// FunctionEnv is added to every invoked function's environment.
	FunctionEnv []string
}

// Warmup is how long a new proxy target refuses connections and how many
// it then answers with 9501 before it passes them to the database.
type Warmup struct {
	Refuse time.Duration
	Reject int
}

// On reports whether the target warms up at all.
func (w Warmup) On() bool { return w.Refuse > 0 || w.Reject > 0 }

// parseWarmup reads EnvProxyWarmup's "<refuse>,<n>".
func parseWarmup(v string) (Warmup, error) {
	if strings.TrimSpace(v) == "" {
		return DefaultWarmup, nil
	}
	refuse, n, ok := strings.Cut(v, ",")
	d, err := time.ParseDuration(strings.TrimSpace(refuse))
	if strings.TrimSpace(refuse) == "0" {
		d, err = 0, nil
	}
	reject, nerr := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || nerr != nil || d < 0 || reject < 0 {
		return Warmup{}, fmt.Errorf("%s=%q: want <duration>,<connections>, e.g. 3s,1 (0,0: none)", EnvProxyWarmup, v)
	}
	return Warmup{Refuse: d, Reject: reject}, nil
}

// ConfigFromEnv reads Config through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{StateDir: getenv(EnvState), LambdaConcurrency: awsmodel.DefaultConcurrentExecutions}
	if v := strings.TrimSpace(getenv(EnvLambdaConcurrency)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%s=%q: want a quota of 1 or more", EnvLambdaConcurrency, v)
		}
		c.LambdaConcurrency = n
	}
	var err error
	if c.Warmup, err = parseWarmup(getenv(EnvProxyWarmup)); err != nil {
		return c, err
	}
	for _, kv := range strings.Split(getenv(EnvFunctionEnv), ";") {
		if k, _, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			c.FunctionEnv = append(c.FunctionEnv, strings.TrimSpace(kv))
		}
	}
	if addr := getenv(EnvMySQL); addr != "" {
		user := getenv(EnvMySQLUser)
		if user == "" {
			user = "root"
		}
		c.MySQL = dbconn.Config{Endpoint: addr, Name: "mysql", User: user, Password: getenv(EnvMySQLPassword),
			Auth: dbconn.AuthPassword, TLS: false}
	}
	for _, pair := range strings.Split(getenv(EnvOmit), ",") {
		if i := strings.LastIndex(strings.TrimSpace(pair), "."); i > 0 {
			pair = strings.TrimSpace(pair)
			if c.Omit == nil {
				c.Omit = map[string][]string{}
			}
			c.Omit[pair[:i]] = append(c.Omit[pair[:i]], pair[i+1:])
		}
	}
	return c, nil
}

// Server implements pulumirpc.ResourceProviderServer for the "aws" package.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer

	version string
	cfg     Config

	mu     sync.Mutex
	region string // from Configure
	store  *Store
	gates  map[string]*proxyGate // by proxy target id, for this process's life
}

// DefaultRegion is used when the provider is configured without aws:region.
const DefaultRegion = "ap-northeast-1"

// NewServer returns the provider, reporting version as its own.
func NewServer(version string, cfg Config) *Server {
	if cfg.LambdaConcurrency == 0 {
		cfg.LambdaConcurrency = awsmodel.DefaultConcurrentExecutions
	}
	return &Server{version: version, cfg: cfg, region: DefaultRegion, gates: map[string]*proxyGate{}}
}

// propOpts keeps every kind of value the engine may send, so that echoing a
// value back never turns an unknown into a known or drops a secret flag.
var propOpts = plugin.MarshalOptions{
	KeepUnknowns:     true,
	KeepSecrets:      true,
	KeepResources:    true,
	KeepOutputValues: true,
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, propOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, propOpts)
}

// model is the AWS model for one call: identifiers made unique, as AWS
// makes them, and invocations run by this stand-in's Lambda.
func (s *Server) model(ctx context.Context) awsmodel.Model {
	s.mu.Lock()
	region := s.region
	s.mu.Unlock()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return awsmodel.Model{Region: region, Unique: hex.EncodeToString(b), Lambda: lambdaService{ctx: ctx, s: s}}
}

// openStore returns the state directory's store, failing with what to set
// when the provider was started without one.
func (s *Server) openStore(op string) (*Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		return s.store, nil
	}
	if s.cfg.StateDir == "" {
		return nil, fmt.Errorf("fakeaws: %s needs a state directory to remember what it created: set %s", op, EnvState)
	}
	st, err := OpenStore(s.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	s.store = st
	return st, nil
}

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

// GetSchema answers with an empty package schema: only code generators ask
// for it, and nothing here generates code.
func (s *Server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"aws","version":%q}`, s.version)}, nil
}

func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *Server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if changed := changedKeys(olds, news); len(changed) > 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *Server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, fmt.Errorf("configure: %w", err)
	}
	if v, ok := args["region"]; ok && v.IsString() && v.StringValue() != "" {
		s.mu.Lock()
		s.region = v.StringValue()
		s.mu.Unlock()
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true, SupportsPreview: true}, nil
}

// Check accepts the inputs and gives an autonamed resource its physical
// name, as the real provider does: kept from the old inputs when Check
// generated it there, else the logical name and 7 hex characters from the
// engine's random seed. It does not validate against the AWS schema, so
// policies must not depend on provider defaults.
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	typ := string(urn.Type())
	if key := awsmodel.NameKey(typ); key != "" && !present(news, key) {
		if old, ok := olds[resource.PropertyKey(key)]; ok && defaulted(olds, key) {
			news[resource.PropertyKey(key)] = old
		} else if _, name := awsmodel.AutoName(typ, urn.Name(), news, req.GetRandomSeed()); name != "" {
			news[resource.PropertyKey(key)] = resource.NewProperty(name)
		}
		news[defaultsKey] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(key)})
	}
	checked, err := marshal(news)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return &pulumirpc.CheckResponse{Inputs: checked}, nil
}

func present(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && !v.IsNull()
}

// defaulted reports whether Check generated inputs[key].
func defaulted(inputs resource.PropertyMap, key string) bool {
	v, ok := inputs[defaultsKey]
	if !ok || !v.IsArray() {
		return false
	}
	for _, e := range v.ArrayValue() {
		if e.IsString() && e.StringValue() == key {
			return true
		}
	}
	return false
}

// changedKeys lists the top-level inputs that differ, sorted; a value that
// became unknown counts as changed.
func changedKeys(olds, news resource.PropertyMap) []string {
	o, n := olds.Copy(), news.Copy()
	delete(o, defaultsKey)
	delete(n, defaultsKey)
	d := o.Diff(n)
	if d == nil || !d.AnyChanges() {
		return nil
	}
	var keys []string
	for _, k := range d.ChangedKeys() {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return keys
}

// Diff compares the old inputs with the new ones: a change to an input the
// provider forces new replaces the resource, any other change updates it in
// place. A replaced resource whose name the program gave must be deleted
// first (two resources cannot have one name), as the bridge decides.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	oldInputs := req.GetOldInputs()
	if oldInputs == nil {
		oldInputs = req.GetOlds()
	}
	olds, err := unmarshal(oldInputs)
	if err != nil {
		return nil, fmt.Errorf("diff: old inputs: %w", err)
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, fmt.Errorf("diff: new inputs: %w", err)
	}
	changed := changedKeys(olds, news)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	typ := string(urn.Type())
	replaces := awsmodel.Replaces(typ, changed, news)
	key := awsmodel.NameKey(typ)
	return &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_SOME,
		Diffs:               changed,
		Replaces:            replaces,
		DeleteBeforeReplace: len(replaces) > 0 && key != "" && present(news, key) && !defaulted(news, key),
	}, nil
}

// Create answers with the model's outputs. During a preview every computed
// attribute is unknown; otherwise the resource is created: remembered in
// the store, with what its type needs done (see the package doc).
func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	typ, name := string(urn.Type()), urn.Name()
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	m := s.model(ctx)
	if req.GetPreview() {
		planned, err := marshal(m.Planned(typ, name, inputs))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Properties: planned}, nil
	}
	st, err := s.openStore("creating " + typ)
	if err != nil {
		return nil, err
	}
	ans, err := m.Create(typ, name, inputs)
	if err != nil {
		return nil, err
	}
	delete(ans.Outputs, defaultsKey)
	// The provider creates a function, then reserves its concurrency
	// (resourceFunctionCreate); a refused reservation fails the create of
	// a function that exists.
	reservationErr := s.checkReservation(st, typ, "", ans.Outputs)
	if err := s.realize(ctx, st, typ, ans.Outputs, false); err != nil {
		return nil, err
	}
	if err := st.Put(Record{Type: typ, URN: string(urn), ID: ans.ID, Created: time.Now(), Outputs: ans.Outputs}); err != nil {
		return nil, err
	}
	answer := ans.Outputs.Copy()
	for _, k := range s.cfg.Omit[typ] {
		delete(answer, resource.PropertyKey(k))
	}
	props, err := marshal(answer)
	if err != nil {
		return nil, err
	}
	if reservationErr != nil {
		return nil, initFailed(ans.ID, props, req.GetProperties(), reservationErr)
	}
	return &pulumirpc.CreateResponse{Id: ans.ID, Properties: props}, nil
}

// Read answers a refresh with the remembered state; a resource the store no
// longer holds is gone (empty id). Without a store it echoes the request.
func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if s.cfg.StateDir == "" {
		props := req.GetProperties()
		if props == nil {
			props = req.GetInputs()
		}
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: req.GetInputs()}, nil
	}
	st, err := s.openStore("reading")
	if err != nil {
		return nil, err
	}
	r, ok, err := st.Get(string(urn.Type()), req.GetId())
	if err != nil || !ok {
		return &pulumirpc.ReadResponse{}, err
	}
	props, err := marshal(r.Outputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: r.ID, Properties: props, Inputs: req.GetInputs()}, nil
}

// Update applies new inputs in place: the outputs are the new inputs plus
// the attributes AWS computed at create (ids and ARNs do not change in an
// update), with what the type needs done again (a function's new code, a
// new invocation).
func (s *Server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	typ := string(urn.Type())
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	out := news.Copy()
	delete(out, defaultsKey)
	for k, v := range olds {
		if _, input := oldInputs[k]; !input {
			if _, now := news[k]; !now {
				out[k] = v
			}
		}
	}
	if req.GetPreview() {
		if typ == "aws:lambda/invocation:Invocation" {
			out["result"] = resource.MakeComputed(resource.NewProperty(""))
		}
		props, err := marshal(out)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	st, err := s.openStore("updating " + typ)
	if err != nil {
		return nil, err
	}
	if err := s.checkReservation(st, typ, req.GetId(), out); err != nil {
		return nil, err
	}
	if err := s.realize(ctx, st, typ, out, true); err != nil {
		return nil, err
	}
	if typ == "aws:lambda/invocation:Invocation" {
		// An update invokes again (resourceInvocationUpdate).
		result, err := lambdaService{ctx: ctx, s: s}.Invoke(str(news, "functionName"), []byte(str(news, "input")))
		if err != nil {
			return nil, err
		}
		out["result"] = resource.NewProperty(string(result))
	}
	created := time.Now()
	if r, ok, err := st.Get(typ, req.GetId()); err == nil && ok {
		created = r.Created
	}
	if err := st.Put(Record{Type: typ, URN: string(urn), ID: req.GetId(), Created: created, Outputs: out}); err != nil {
		return nil, err
	}
	props, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete refuses what AWS refuses (awsmodel.CheckDelete), does what the
// type's deletion does, and forgets the resource.
func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	urn, err := resource.ParseURN(req.GetUrn())
	if err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	typ := string(urn.Type())
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if err := awsmodel.CheckDelete(typ, state); err != nil {
		return nil, err
	}
	st, err := s.openStore("deleting " + typ)
	if err != nil {
		return nil, err
	}
	// What the stand-in created may be more than its answer held (see
	// EnvOmit): the deletion undoes what was created.
	if r, ok, err := st.Get(typ, req.GetId()); err == nil && ok {
		state = r.Outputs
	}
	if err := s.beforeDelete(ctx, st, typ, req.GetId(), state); err != nil {
		return nil, err
	}
	if err := st.Remove(typ, req.GetId()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Invoke answers the data sources the model knows; any other token fails
// with its name.
func (s *Server) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", req.GetTok(), err)
	}
	out, err := s.model(ctx).Invoke(req.GetTok(), args)
	if err != nil {
		return nil, status.Error(codes.Unimplemented, err.Error())
	}
	ret, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// checkReservation returns Lambda's refusal of the concurrency a function
// of id (empty: a new one) with outputs reserves, given what the account's
// other functions reserve; nil for other types and for no reservation.
func (s *Server) checkReservation(st *Store, typ, id string, outputs resource.PropertyMap) error {
	if typ != "aws:lambda/function:Function" {
		return nil
	}
	reserved, ok := awsmodel.ReservedConcurrency(outputs)
	if !ok {
		return nil
	}
	fns, err := st.List(typ)
	if err != nil {
		return err
	}
	others := 0
	for _, f := range fns {
		if n, ok := awsmodel.ReservedConcurrency(f.Outputs); ok && f.ID != id {
			others += n
		}
	}
	return awsmodel.CheckReservedConcurrency(str(outputs, "name"), s.cfg.LambdaConcurrency, others, reserved)
}

// initFailed is a create that made the resource and then failed: the
// engine records the resource (id and properties) with the reason, as the
// bridge reports a partially created resource.
func initFailed(id string, props, inputs *structpb.Struct, reason error) error {
	st, err := status.New(codes.Unknown, reason.Error()).WithDetails(&pulumirpc.ErrorResourceInitFailed{
		Id: id, Properties: props, Reasons: []string{reason.Error()}, Inputs: inputs})
	if err != nil {
		return reason
	}
	return st.Err()
}

// str is awsmodel.StringAt.
func str(m resource.PropertyMap, key string) string { return awsmodel.StringAt(m, key) }
