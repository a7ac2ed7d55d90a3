package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/observability"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/testkit/doccheck"
)

// The program runs once per stack file; every test reads the same result.
var (
	runsMu sync.Mutex
	runs   = map[string]*stackrun.Result{}
)

var stacks = []string{"dev", "prod"}

func run(t *testing.T, stack string) *stackrun.Result {
	t.Helper()
	runsMu.Lock()
	defer runsMu.Unlock()
	if r, ok := runs[stack]; ok {
		return r
	}
	r, err := stackrun.Run(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatalf("running the program for %s: %v", stack, err)
	}
	runs[stack] = r
	return r
}

func load(t *testing.T, stack string) settings.Settings {
	t.Helper()
	s, err := settings.LoadFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// --- property helpers -------------------------------------------------------

// unwrap removes secret and output wrappers.
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func str(m resource.PropertyMap, path ...string) string {
	v, ok := get(m, path...)
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func num(m resource.PropertyMap, path ...string) float64 {
	v, ok := get(m, path...)
	if !ok || !v.IsNumber() {
		return -1
	}
	return v.NumberValue()
}

func boolean(m resource.PropertyMap, path ...string) (bool, bool) {
	v, ok := get(m, path...)
	if !ok || !v.IsBool() {
		return false, false
	}
	return v.BoolValue(), true
}

// get follows object keys; a numeric path element indexes an array.
func get(m resource.PropertyMap, path ...string) (resource.PropertyValue, bool) {
	v := resource.NewProperty(m)
	for _, p := range path {
		v = unwrap(v)
		switch {
		case v.IsObject():
			next, ok := v.ObjectValue()[resource.PropertyKey(p)]
			if !ok {
				return resource.PropertyValue{}, false
			}
			v = next
		case v.IsArray():
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(v.ArrayValue()) {
				return resource.PropertyValue{}, false
			}
			v = v.ArrayValue()[i]
		default:
			return resource.PropertyValue{}, false
		}
	}
	return unwrap(v), true
}

func one(t *testing.T, r *stackrun.Result, typ, nameSuffix string) mocks.Registration {
	t.Helper()
	var found []mocks.Registration
	for _, res := range r.ByType(typ) {
		if strings.HasSuffix(res.Name, nameSuffix) {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d resources of %s named *%s, want 1", r.Stack, len(found), typ, nameSuffix)
	}
	return found[0]
}

func policyDoc(t *testing.T, policy string) iamdoc.Document {
	t.Helper()
	d, err := iamdoc.Parse(policy)
	if err != nil {
		t.Fatalf("policy %s: %v", policy, err)
	}
	return d
}

// rolePolicies returns the inline policies attached to the role with the
// given name.
func rolePolicies(r *stackrun.Result, roleName string) []mocks.Registration {
	var out []mocks.Registration
	for _, p := range r.ByType("aws:iam/rolePolicy:RolePolicy") {
		if str(p.Inputs, "role") == roleName {
			out = append(out, p)
		}
	}
	return out
}

// functionStatements is every statement of the inline policies of fn's
// execution role.
func functionStatements(t *testing.T, r *stackrun.Result, fn mocks.Registration) []iamdoc.Statement {
	t.Helper()
	return rolePolicyStatements(t, r, str(fn.Inputs, "role"))
}

// rolePolicyStatements is every statement of the inline policies of the
// role with roleARN, failing the test when the role is not of this stack.
func rolePolicyStatements(t *testing.T, r *stackrun.Result, roleARN string) []iamdoc.Statement {
	t.Helper()
	var out []iamdoc.Statement
	found := false
	for _, role := range r.ByType(typeRole) {
		if role.Outputs["arn"].StringValue() != roleARN {
			continue
		}
		found = true
		for _, p := range rolePolicies(r, role.Outputs["name"].StringValue()) {
			out = append(out, policyDoc(t, str(p.Inputs, "policy")).Statement...)
		}
	}
	if !found {
		t.Fatalf("role %q is not a role of this stack", roleARN)
	}
	return out
}

const (
	typeInstance  = "aws:rds/instance:Instance"
	typeProxy     = "aws:rds/proxy:Proxy"
	typeQueue     = "aws:sqs/queue:Queue"
	typeFunction  = "aws:lambda/function:Function"
	typeMapping   = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeRole      = "aws:iam/role:Role"
	typeSecret    = "aws:secretsmanager/secret:Secret"
	typeSecretVer = "aws:secretsmanager/secretVersion:SecretVersion"
)

// --- tests ------------------------------------------------------------------

// TestNothingPublic: no component of the stack adds a way in from the
// internet (the network's own rules are checked in infra/network), and the
// only security-group rules are the network's chain.
func TestNothingPublic(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			for _, typ := range []string{"aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
				"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "aws:ec2/route:Route", "aws:ec2/securityGroupRule:SecurityGroupRule"} {
				if n := len(r.ByType(typ)); n > 0 {
					t.Errorf("%d %s: the data path must stay private", n, typ)
				}
			}
			if v, ok := boolean(one(t, r, typeInstance, "-mysql").Inputs, "publiclyAccessible"); !ok || v {
				t.Error("database publiclyAccessible is not false")
			}
			rules := append(r.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), r.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")...)
			if len(rules) != 4 {
				t.Errorf("%d security-group rules, want the network's 4 of client → proxy → database", len(rules))
			}
		})
	}
}

// TestSecurityGroupChain: the database, the proxy and the functions are in
// the network's groups meant for them, by the ids the mocked EC2 returned.
func TestSecurityGroupChain(t *testing.T) {
	r := run(t, "dev")
	id := func(suffix string) string { return one(t, r, "aws:ec2/securityGroup:SecurityGroup", suffix).ID }
	client, proxy, database := id("-client"), id("-proxy"), id("-database")
	db := one(t, r, typeInstance, "-mysql")
	if got := str(db.Inputs, "vpcSecurityGroupIds", "0"); got != database {
		t.Errorf("database security group %q, want %q", got, database)
	}
	px := one(t, r, typeProxy, "-proxy")
	if got := str(px.Inputs, "vpcSecurityGroupIds", "0"); got != proxy {
		t.Errorf("proxy security group %q, want %q", got, proxy)
	}
	for _, fn := range r.ByType(typeFunction) {
		if got := str(fn.Inputs, "vpcConfig", "securityGroupIds", "0"); got != client {
			t.Errorf("function %s security group %q, want the client group %q", fn.Name, got, client)
		}
	}
}

// TestEngineVersion: both stacks run MySQL 8.4 by default, with the
// parameter group family and the proxy's client authentication following
// the version; a stack that keeps 8.0 gets 8.0's.
func TestEngineVersion(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	config, err := settings.ReadStackConfig(filepath.Join(root, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config[settings.Key(settings.KeyDBEngineVersion)] = "8.0"
	kept, err := stackrun.RunConfig(root, "dev", config)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                  string
		r                     *stackrun.Result
		version, family, auth string
	}{
		{"dev", run(t, "dev"), "8.4", "mysql8.4", "MYSQL_CACHING_SHA2_PASSWORD"},
		{"prod", run(t, "prod"), "8.4", "mysql8.4", "MYSQL_CACHING_SHA2_PASSWORD"},
		{"dev on 8.0", kept, "8.0", "mysql8.0", "MYSQL_NATIVE_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := one(t, tt.r, typeInstance, "-mysql")
			pg := one(t, tt.r, "aws:rds/parameterGroup:ParameterGroup", "-params")
			if str(db.Inputs, "engineVersion") != tt.version || str(pg.Inputs, "family") != tt.family || str(db.Inputs, "parameterGroupName") != pg.ID {
				t.Errorf("engine %q, group %s of family %q, instance uses %q", str(db.Inputs, "engineVersion"), pg.ID, str(pg.Inputs, "family"), str(db.Inputs, "parameterGroupName"))
			}
			for _, a := range one(t, tt.r, typeProxy, "-proxy").Inputs["auths"].ArrayValue() {
				if got := str(unwrap(a).ObjectValue(), "clientPasswordAuthType"); got != tt.auth {
					t.Errorf("proxy client authentication %q, want %q", got, tt.auth)
				}
			}
		})
	}
}

// TestQueueFollowsSettings: the queue's inputs are the stack's settings,
// and its message size is the API's body limit.
func TestQueueFollowsSettings(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r, s := run(t, stack), load(t, stack)
			main, dlq := one(t, r, typeQueue, "-queue"), one(t, r, typeQueue, "-queue-dlq")
			var redrive struct {
				DeadLetterTargetArn string
				MaxReceiveCount     int
			}
			if err := json.Unmarshal([]byte(str(main.Inputs, "redrivePolicy")), &redrive); err != nil {
				t.Fatalf("redrive policy: %v", err)
			}
			if redrive.DeadLetterTargetArn != dlq.Outputs["arn"].StringValue() || redrive.MaxReceiveCount != s.Queue.MaxReceiveCount {
				t.Errorf("redrive %+v, settings say %d receives", redrive, s.Queue.MaxReceiveCount)
			}
			if num(main.Inputs, "messageRetentionSeconds") != s.Queue.Retention.Seconds() || num(main.Inputs, "visibilityTimeoutSeconds") != s.Queue.VisibilityTimeout.Seconds() {
				t.Errorf("retention %v visibility %v, settings %v %v", num(main.Inputs, "messageRetentionSeconds"), num(main.Inputs, "visibilityTimeoutSeconds"), s.Queue.Retention, s.Queue.VisibilityTimeout)
			}
			for _, q := range []mocks.Registration{main, dlq} {
				if num(q.Inputs, "maxMessageSize") != float64(s.API.MaxBodyBytes) {
					t.Errorf("%s max message size %v, want maxBodyBytes %d", q.Name, num(q.Inputs, "maxMessageSize"), s.API.MaxBodyBytes)
				}
			}
		})
	}
}

// TestVisibilityRule checks the deployed resources against each other: the
// queue's visibility timeout against the consumer function's timeout and the
// mapping's batching window.
func TestVisibilityRule(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			main := one(t, r, typeQueue, "-queue")
			fn := one(t, r, typeFunction, "-consumer-function")
			esm := one(t, r, typeMapping, "-mapping")
			visibility, timeout := num(main.Inputs, "visibilityTimeoutSeconds"), num(fn.Inputs, "timeout")
			window := max(num(esm.Inputs, "maximumBatchingWindowInSeconds"), 0)
			if visibility < 6*(timeout+window) {
				t.Errorf("visibility %v < 6 × (timeout %v + window %v)", visibility, timeout, window)
			}
			if str(esm.Inputs, "eventSourceArn") != main.Outputs["arn"].StringValue() {
				t.Errorf("mapping reads %q, not this stack's queue", str(esm.Inputs, "eventSourceArn"))
			}
			if num(esm.Inputs, "batchSize") > 10 && window < 1 {
				t.Error("batch size above 10 without a batching window")
			}
			reserved, maxConc := num(fn.Inputs, "reservedConcurrentExecutions"), num(esm.Inputs, "scalingConfig", "maximumConcurrency")
			// No reservation (absent) draws on the account's pool.
			if maxConc < 2 || maxConc > 1000 || reserved >= 0 && maxConc > reserved {
				t.Errorf("maximum concurrency %v, reserved %v", maxConc, reserved)
			}
			borrow := num(one(t, r, "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "-proxy-default").Inputs, "connectionPoolConfig", "connectionBorrowTimeout")
			if borrow <= 0 || borrow >= timeout {
				t.Errorf("proxy borrow timeout %v not below the function timeout %v", borrow, timeout)
			}
		})
	}
}

// TestProxyLogsInWithTheDatabaseSecrets: the proxy's auths are the
// database's master secret and the app user's secret, which holds the
// stack's app user; the proxy's role reads exactly those; and the proxy
// targets this instance with the stack's pool settings.
func TestProxyLogsInWithTheDatabaseSecrets(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r, s := run(t, stack), load(t, stack)
			db := one(t, r, typeInstance, "-mysql")
			px := one(t, r, typeProxy, "-proxy")
			appSecret := one(t, r, typeSecret, "-app-user")
			masterARN := str(db.Outputs, "masterUserSecrets", "0", "secretArn")
			appARN := appSecret.Outputs["arn"].StringValue()
			if masterARN == "" || appARN == "" {
				t.Fatalf("secret ARNs master %q app %q", masterARN, appARN)
			}
			var authARNs []string
			for _, a := range px.Inputs["auths"].ArrayValue() {
				authARNs = append(authARNs, str(unwrap(a).ObjectValue(), "secretArn"))
			}
			want := []string{appARN, masterARN}
			slices.Sort(authARNs)
			slices.Sort(want)
			if !slices.Equal(authARNs, want) {
				t.Errorf("proxy auths %v, want the master and app secrets %v", authARNs, want)
			}
			var cred struct{ Username, Password string }
			if err := json.Unmarshal([]byte(str(one(t, r, typeSecretVer, "-app-user-1").Inputs, "secretString")), &cred); err != nil {
				t.Fatal(err)
			}
			if cred.Username != s.Database.AppUser || len(cred.Password) < 20 {
				t.Errorf("app secret for %q with a %d-character password", cred.Username, len(cred.Password))
			}
			var resources []string
			for _, st := range rolePolicyStatements(t, r, str(px.Inputs, "roleArn")) {
				resources = append(resources, st.Resource...)
			}
			slices.Sort(resources)
			if !slices.Equal(resources, want) {
				t.Errorf("proxy role reads %v, want exactly %v", resources, want)
			}
			target := one(t, r, "aws:rds/proxyTarget:ProxyTarget", "-proxy-target")
			if str(target.Inputs, "dbInstanceIdentifier") != db.Outputs["identifier"].StringValue() ||
				str(target.Inputs, "dbProxyName") != px.Outputs["name"].StringValue() {
				t.Errorf("proxy target %v does not join this proxy and database", target.Inputs)
			}
			pool := one(t, r, "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "-proxy-default")
			if num(pool.Inputs, "connectionPoolConfig", "maxConnectionsPercent") != float64(s.Proxy.MaxConnectionsPercent) ||
				num(pool.Inputs, "connectionPoolConfig", "connectionBorrowTimeout") != s.Proxy.BorrowTimeout.Seconds() {
				t.Error("the pool does not follow the settings")
			}
		})
	}
}

// TestDBConnectFollowsProxyARN: the functions may connect through this
// proxy (its prx- id) as their own user only.
func TestDBConnectFollowsProxyARN(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r, s := run(t, stack), load(t, stack)
			proxyARN := one(t, r, typeProxy, "-proxy").Outputs["arn"].StringValue()
			parts := strings.Split(proxyARN, ":")
			prx := parts[len(parts)-1]
			if !strings.HasPrefix(prx, "prx-") {
				t.Fatalf("proxy ARN %q", proxyARN)
			}
			for fnSuffix, user := range map[string]string{"-consumer-function": s.Database.AppUser, "-migration-migrator": s.Database.MasterUser} {
				fn := one(t, r, typeFunction, fnSuffix)
				want := fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", s.Region, mocks.Account, prx, user)
				var got []string
				for _, st := range functionStatements(t, r, fn) {
					if slices.Contains(st.Action, "rds-db:connect") {
						got = append(got, st.Resource...)
					}
				}
				if !slices.Equal(got, []string{want}) {
					t.Errorf("%s may rds-db:connect to %v, want only %s", fn.Name, got, want)
				}
				if str(fn.Inputs, "environment", "variables", "SLUICE_DB_USER") != user {
					t.Errorf("%s connects as %q, want %q", fn.Name, str(fn.Inputs, "environment", "variables", "SLUICE_DB_USER"), user)
				}
				if !strings.HasPrefix(str(fn.Inputs, "environment", "variables", "SLUICE_DB_ENDPOINT"), one(t, r, typeProxy, "-proxy").Outputs["endpoint"].StringValue()+":") {
					t.Errorf("%s does not connect to the proxy endpoint", fn.Name)
				}
			}
		})
	}
}

func TestConsumerReadsOnlyThisQueue(t *testing.T) {
	r := run(t, "prod")
	queueARN := one(t, r, typeQueue, "-queue").Outputs["arn"].StringValue()
	fn := one(t, r, typeFunction, "-consumer-function")
	var sqsResources []string
	for _, st := range functionStatements(t, r, fn) {
		if slices.ContainsFunc(st.Action, func(a string) bool { return strings.HasPrefix(a, "sqs:") }) {
			sqsResources = append(sqsResources, st.Resource...)
		}
	}
	if len(sqsResources) == 0 || slices.ContainsFunc(sqsResources, func(s string) bool { return s != queueARN }) {
		t.Errorf("consumer SQS permissions on %v, want only %s", sqsResources, queueARN)
	}
}

// TestMappingWaitsForMigration: no message is consumed before the schema
// exists.
func TestMappingWaitsForMigration(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			inv := r.ByType("aws:lambda/invocation:Invocation")
			if len(inv) != 1 {
				t.Fatalf("%d invocations, want the migration step's", len(inv))
			}
			esm := one(t, r, typeMapping, "-mapping")
			if !slices.Contains(esm.Dependencies, inv[0].URN) {
				t.Errorf("mapping depends on %v, not on the migration invocation %s", esm.Dependencies, inv[0].URN)
			}
			if !unwrap(inv[0].Inputs["input"]).IsString() || !inv[0].Inputs["input"].ContainsSecrets() {
				t.Error("the migration input (it carries the app password) is not a secret")
			}
			var input struct{ Action, AppUser, AppPassword string }
			if err := json.Unmarshal([]byte(str(inv[0].Inputs, "input")), &input); err != nil {
				t.Fatal(err)
			}
			var cred struct{ Password string }
			if err := json.Unmarshal([]byte(str(one(t, r, typeSecretVer, "-app-user-1").Inputs, "secretString")), &cred); err != nil {
				t.Fatal(err)
			}
			if input.Action != "up" || input.AppPassword != cred.Password || input.AppUser != load(t, stack).Database.AppUser {
				t.Errorf("migration input action %q user %q, password from the secret: %v", input.Action, input.AppUser, input.AppPassword == cred.Password)
			}
		})
	}
}

// TestNoPlaintextPassword: the generated password appears only inside
// secret values.
func TestNoPlaintextPassword(t *testing.T) {
	r := run(t, "dev")
	var cred struct{ Password string }
	if err := json.Unmarshal([]byte(str(one(t, r, typeSecretVer, "-app-user-1").Inputs, "secretString")), &cred); err != nil || cred.Password == "" {
		t.Fatalf("password: %v", err)
	}
	var leak func(path string, v resource.PropertyValue)
	leak = func(path string, v resource.PropertyValue) {
		switch {
		case v.IsSecret():
			return
		case v.IsOutput() && v.OutputValue().Secret:
			return
		case v.IsOutput():
			leak(path, v.OutputValue().Element)
		case v.IsString() && strings.Contains(v.StringValue(), cred.Password):
			t.Errorf("password in plaintext at %s", path)
		case v.IsArray():
			for i, e := range v.ArrayValue() {
				leak(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case v.IsObject():
			for k, e := range v.ObjectValue() {
				leak(path+"."+string(k), e)
			}
		}
	}
	for _, res := range r.Resources {
		leak(res.Name+".inputs", resource.NewProperty(res.Inputs))
	}
	leak("outputs", resource.NewProperty(r.Outputs))
}

// TestIAMWildcards: no statement allows "*" actions or resources, except
// the ones AWS requires, each named.
func TestIAMWildcards(t *testing.T) {
	// ec2:CreateNetworkInterface, DescribeNetworkInterfaces and
	// DeleteNetworkInterface, which a VPC Lambda needs, support no
	// resource-level restriction: IAM requires Resource "*".
	exceptions := []string{dbfunction.VPCNetworkInterfacesSid}
	// In a KMS key policy "Resource": "*" means this key, and AWS requires
	// it; the account-root statement is AWS's default key policy, without
	// which the key could become unmanageable.
	keyPolicyExceptions := []string{observability.KeyAdministrationSid, observability.KeyCloudWatchSid}
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			checked := map[string]int{}
			// Every policy document of every resource: identity, trust,
			// key, queue and topic policies alike.
			for _, res := range r.Resources {
				for _, key := range []string{"policy", "assumeRolePolicy"} {
					doc := str(res.Inputs, key)
					if doc == "" {
						continue
					}
					allowed := exceptions
					if res.Type == "aws:kms/key:Key" {
						allowed = keyPolicyExceptions
					}
					if err := policyDoc(t, doc).CheckWildcards(allowed...); err != nil {
						t.Errorf("%s %s %s: %v", res.Type, res.Name, key, err)
					}
					checked[res.Type]++
				}
			}
			for _, typ := range []string{"aws:iam/rolePolicy:RolePolicy", typeRole, "aws:sqs/queuePolicy:QueuePolicy", "aws:kms/key:Key"} {
				if checked[typ] == 0 {
					t.Errorf("no %s policy checked", typ)
				}
			}
			for _, role := range r.ByType(typeRole) {
				if arns, ok := get(role.Inputs, "managedPolicyArns"); ok && arns.IsArray() && len(arns.ArrayValue()) > 0 {
					t.Errorf("role %s attaches managed policies %v; statements must be inline and exact", role.Name, arns)
				}
			}
			if n := len(r.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n > 0 {
				t.Errorf("%d managed policy attachments; statements must be inline and exact", n)
			}
		})
	}
}

func TestTaggedAndParented(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			components := map[string]bool{}
			for _, res := range r.Resources {
				if !res.Custom {
					components[res.URN] = true
				}
			}
			for _, res := range r.Resources {
				if res.Custom && !components[res.Parent] {
					t.Errorf("%s %s is not parented to a component (parent %q)", res.Type, res.Name, res.Parent)
				}
				if !slices.Contains(componenttest.Taggable, res.Type) {
					continue
				}
				if str(res.Inputs, "tags", "project") != "sluice" || str(res.Inputs, "tags", "stack") != stack {
					t.Errorf("%s %s tags %v", res.Type, res.Name, res.Inputs["tags"])
				}
			}
		})
	}
}

// TestDevProdDifferAsDocumented compares every input of every resource of
// the two stacks (with the stack name normalised, and inputs computed from
// other resources left out) with the list in docs/configuration.md
// ("dev and prod").
func TestDevProdDifferAsDocumented(t *testing.T) {
	dev, prod := flatten(run(t, "dev")), flatten(run(t, "prod"))
	differ := map[string][]string{} // resource -> its inputs that differ
	for id, dv := range dev {
		pv, ok := prod[id]
		if !ok {
			differ[id] = append(differ[id], "(only in dev)")
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(mergeKeys(dv, pv))) {
			d, inDev := dv[k]
			p, inProd := pv[k]
			switch {
			case !inProd:
				differ[id] = append(differ[id], k+" (only in dev)")
			case !inDev:
				differ[id] = append(differ[id], k+" (only in prod)")
			case d != p:
				differ[id] = append(differ[id], k)
			}
		}
	}
	for id := range prod {
		if _, ok := dev[id]; !ok {
			differ[id] = append(differ[id], "(only in prod)")
		}
	}
	var got []string
	for _, id := range slices.Sorted(maps.Keys(differ)) {
		got = append(got, id+": "+strings.Join(differ[id], ", "))
	}
	doccheck.Check(t, "docs/configuration.md", "dev-prod-diff", strings.Join(got, "\n"))
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// flatten maps "<type> <name>" to the resource's inputs (JSON), leaving out
// inputs computed from other resources' outputs (ids, ARNs) and tags, which
// carry the stack name by design; the stack name is normalised to <stack>.
func flatten(r *stackrun.Result) map[string]map[string]string {
	out := map[string]map[string]string{}
	norm := func(s string) string { return strings.ReplaceAll(s, "sluice-"+r.Stack, "sluice-<stack>") }
	for _, res := range r.Resources {
		inputs := map[string]string{}
		for k, v := range res.Inputs {
			if len(res.PropertyDependencies[string(k)]) > 0 || k == "tags" {
				continue
			}
			b, _ := json.Marshal(plainValue(v))
			inputs[string(k)] = norm(string(b))
		}
		out[res.Type+" "+norm(res.Name)] = inputs
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return "[secret]"
	case v.IsArchive():
		return v.ArchiveValue().Path
	case v.IsAsset():
		return v.AssetValue().Path
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plainValue(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plainValue(e)
		}
		return out
	}
	return v.V
}

func TestInvalidSettingsRegisterNothing(t *testing.T) {
	config, err := settings.ReadStackConfig(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, value, message string
	}{
		{"visibility below rule", "sluice:visibilityTimeoutSeconds", "60", `sluice:visibilityTimeoutSeconds = "60": must be at least 6 × (sluice:functionTimeoutSeconds + sluice:batchingWindowSeconds) = 186 seconds`},
		{"reserved below max concurrency", "sluice:reservedConcurrency", "1", `sluice:maxConcurrency = "2": must be at most sluice:reservedConcurrency (1)`},
		{"typo", "sluice:maxRecieveCount", "3", `sluice:maxRecieveCount = "3": unknown key; did you mean sluice:maxReceiveCount?`},
		{"burst below spike", "sluice:apiThrottleBurst", "100", `sluice:apiThrottleBurst = "100": must be at least sluice:expectedSpike (1000)`},
		{"engine version", "sluice:dbEngineVersion", "5.7", `sluice:dbEngineVersion = "5.7": must be one of 8.4 or 8.0`},
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := map[string]string{}
			for k, v := range config {
				bad[k] = v
			}
			bad[tt.key] = tt.value
			r, err := stackrun.RunConfig(root, "dev", bad)
			if err == nil || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %v, want it to contain %q", err, tt.message)
			}
			if len(r.Resources) != 0 {
				t.Errorf("%d resources registered before the settings error", len(r.Resources))
			}
		})
	}
}

// TestOutputs: every output an operator's runbook reads comes from the
// resource it names, as AWS would answer it.
func TestOutputs(t *testing.T) {
	for _, name := range stacks {
		t.Run(name, func(t *testing.T) {
			r := run(t, name)
			q, dlq := one(t, r, typeQueue, "-queue"), one(t, r, typeQueue, "-queue-dlq")
			consumerFn, migratorFn := one(t, r, typeFunction, "-consumer-function"), one(t, r, typeFunction, "-migration-migrator")
			logGroup := func(suffix string) string {
				return one(t, r, "aws:cloudwatch/logGroup:LogGroup", suffix).Outputs["name"].StringValue()
			}
			dashboard := one(t, r, "aws:cloudwatch/dashboard:Dashboard", "-dashboard").Outputs["dashboardName"].StringValue()
			want := map[string]any{
				stack.OutputQueueURL:         q.Outputs["url"].StringValue(),
				stack.OutputDLQURL:           dlq.Outputs["url"].StringValue(),
				stack.OutputDLQARN:           dlq.Outputs["arn"].StringValue(),
				stack.OutputProxyEndpoint:    one(t, r, typeProxy, "-proxy").Outputs["endpoint"].StringValue(),
				stack.OutputProxyName:        one(t, r, typeProxy, "-proxy").Outputs["name"].StringValue(),
				stack.OutputDBInstanceID:     one(t, r, "aws:rds/instance:Instance", "-db-mysql").Outputs["identifier"].StringValue(),
				stack.OutputConsumerFunction: consumerFn.Outputs["name"].StringValue(),
				stack.OutputMigratorFunction: migratorFn.Outputs["name"].StringValue(),
				stack.OutputConsumerLogGroup: logGroup("-consumer-function-logs"),
				stack.OutputMigratorLogGroup: logGroup("-migration-migrator-logs"),
				stack.OutputDashboardURL:     "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1#dashboards:name=" + dashboard,
				// The mocked migrator answers with the latest version.
				stack.OutputSchemaVersion: float64(migrations.Latest()),
			}
			for k, v := range want {
				got := r.Outputs[resource.PropertyKey(k)]
				if v == "" || !reflect.DeepEqual(got.V, v) {
					t.Errorf("output %s = %v, want %v", k, got, v)
				}
			}
			// The log groups are the functions' own: Lambda writes to
			// /aws/lambda/<function name>.
			for fn, lg := range map[string]string{stack.OutputConsumerFunction: stack.OutputConsumerLogGroup, stack.OutputMigratorFunction: stack.OutputMigratorLogGroup} {
				if got, want := r.Outputs[resource.PropertyKey(lg)].V, "/aws/lambda/"+r.Outputs[resource.PropertyKey(fn)].StringValue(); got != want {
					t.Errorf("output %s = %v, want %s", lg, got, want)
				}
			}
		})
	}
}

// invocationAnswers makes the mocked migrator answer result instead of the
// usual {"action":"up","version":5,...}.
type invocationAnswers struct {
	*mocks.Mocks
	result string
}

func (m invocationAnswers) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, out, err := m.Mocks.NewResource(args)
	if args.TypeToken == "aws:lambda/invocation:Invocation" {
		out["result"] = resource.NewProperty(m.result)
	}
	return id, out, err
}

// TestSchemaVersionNeedsAVersion: a migrator answer the schema version
// cannot be read from fails the run with the resource and the property
// named, instead of a panic or a made-up version.
func TestSchemaVersionNeedsAVersion(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	config, err := settings.ReadStackConfig(filepath.Join(root, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ result, want string }{
		{`{"action":"up","dirty":false,"appUser":"sluice_app"}`, `has no "version"`},
		{`null`, `has no "version"`},
		{``, `is not the migrator's JSON answer`},
		{`{"action":"up","version":"five"}`, `is not the migrator's JSON answer`},
		{`{"action":"up","version":4,"dirty":true}`, `says version 4 is dirty`},
	}
	for _, tt := range tests {
		t.Run(tt.result, func(t *testing.T) {
			m := invocationAnswers{Mocks: &mocks.Mocks{Project: settings.Namespace, Stack: "dev", Region: config[settings.RegionKey]}, result: tt.result}
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				_, err := stack.Run(ctx, config)
				return err
			}, pulumi.WithMocks(settings.Namespace, "dev", m), func(info *pulumi.RunInfo) { info.RootDirectory, info.Config = root, config })
			if err == nil {
				t.Fatalf("the run accepted the migrator answer %q", tt.result)
			}
			for _, part := range []string{"aws:lambda/invocation:Invocation", "sluice-dev-migration-up", "property result", tt.want} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
		})
	}
}

// TestAPISendsOnlyToThisQueue: the integration targets this stack's queue
// URL, through a role that may send to this queue only, and the stage
// follows the stack's throttling (the integration itself is checked in
// infra/api).
func TestAPISendsOnlyToThisQueue(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r, s := run(t, stack), load(t, stack)
			q := one(t, r, typeQueue, "-queue")
			integ := one(t, r, "aws:apigatewayv2/integration:Integration", "-api-sqs")
			if str(integ.Inputs, "requestParameters", "QueueUrl") != q.Outputs["url"].StringValue() {
				t.Errorf("integration sends to %v, want this queue %s", integ.Inputs["requestParameters"], q.Outputs["url"].StringValue())
			}
			var actions, resources []string
			for _, st := range rolePolicyStatements(t, r, str(integ.Inputs, "credentialsArn")) {
				actions = append(actions, st.Action...)
				resources = append(resources, st.Resource...)
			}
			if !slices.Equal(actions, []string{"sqs:SendMessage"}) || !slices.Equal(resources, []string{q.Outputs["arn"].StringValue()}) {
				t.Errorf("API role allows %v on %v, want sqs:SendMessage on this queue only", actions, resources)
			}
			stage := one(t, r, "aws:apigatewayv2/stage:Stage", "-api-default")
			if num(stage.Inputs, "defaultRouteSettings", "throttlingBurstLimit") != float64(s.API.ThrottleBurst) ||
				num(stage.Inputs, "defaultRouteSettings", "throttlingRateLimit") != s.API.ThrottleRate {
				t.Errorf("stage throttling %v, settings burst %d rate %v", stage.Inputs["defaultRouteSettings"], s.API.ThrottleBurst, s.API.ThrottleRate)
			}
		})
	}
}

// TestExistingVPC: with an existing VPC named in config, the program creates
// no VPC of its own and puts the database, the proxy and the consumer in the
// given subnets (the network component's part is in infra/network).
func TestExistingVPC(t *testing.T) {
	config, err := settings.ReadStackConfig(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	delete(config, "sluice:vpcCidr")
	delete(config, "sluice:availabilityZones")
	config["sluice:existingVpcId"] = "vpc-0123456789abcdef0"
	config["sluice:existingSubnetIds"] = "subnet-0123456789abcdef0,subnet-0123456789abcdef1"
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	r, err := stackrun.RunConfig(root, "dev", config)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.ByType("aws:ec2/vpc:Vpc")); n != 0 {
		t.Errorf("%d VPCs created in an existing VPC", n)
	}
	want := []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}
	check := func(what string, v resource.PropertyValue, ok bool) {
		var got []string
		if ok && v.IsArray() {
			for _, e := range v.ArrayValue() {
				got = append(got, unwrap(e).StringValue())
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s subnets %v, want %v", what, got, want)
		}
	}
	v, ok := get(one(t, r, "aws:rds/subnetGroup:SubnetGroup", "-subnets").Inputs, "subnetIds")
	check("database", v, ok)
	v, ok = get(one(t, r, typeProxy, "-proxy").Inputs, "vpcSubnetIds")
	check("proxy", v, ok)
	v, ok = get(one(t, r, typeFunction, "-consumer-function").Inputs, "vpcConfig", "subnetIds")
	check("consumer", v, ok)
}

// TestPasswordRotation: a new password generation is a new secret version
// (so ignoreChanges cannot carry the old value over) and its password is the
// one the migration step receives.
func TestPasswordRotation(t *testing.T) {
	config, err := settings.ReadStackConfig(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config["sluice:appPasswordGeneration"] = "2"
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	r, err := stackrun.RunConfig(root, "dev", config)
	if err != nil {
		t.Fatal(err)
	}
	versions := r.ByType(typeSecretVer)
	if len(versions) != 1 || !strings.HasSuffix(versions[0].Name, "-app-user-2") {
		t.Fatalf("secret versions %v, want the generation-2 one only", versions)
	}
	var stored, sent struct{ Password, AppPassword string }
	if err := json.Unmarshal([]byte(str(versions[0].Inputs, "secretString")), &stored); err != nil {
		t.Fatal(err)
	}
	inv := r.ByType("aws:lambda/invocation:Invocation")
	if len(inv) != 1 {
		t.Fatalf("%d invocations", len(inv))
	}
	if err := json.Unmarshal([]byte(str(inv[0].Inputs, "input")), &sent); err != nil {
		t.Fatal(err)
	}
	if stored.Password == "" || sent.AppPassword != stored.Password {
		t.Error("the migration step does not receive the new generation's password")
	}
	// The generation is a trigger: changing it re-runs the migrator in the
	// same update, so the user's password follows the secret.
	if got, ok := get(inv[0].Inputs, "triggers", "appPassword"); !ok || got.StringValue() != "2" {
		t.Errorf("invocation trigger appPassword = %v, want \"2\"", got)
	}
}

// TestStatementSizeAndPinningAlarm: the consumer gets the stack's statement
// size, and the pinned-sessions alarm expects the migrator's session and
// two per consumer instance (a recycled sandbox's lingers), whatever that
// size (a long quarantined body pins even below the threshold).
func TestStatementSizeAndPinningAlarm(t *testing.T) {
	tests := []struct {
		stack, bytes string // bytes "" keeps the stack file's value
		wantEnv      string
		wantPinned   float64
	}{
		{"dev", "", "1048576", 1 + 2*2},    // dev's maxConcurrency
		{"prod", "", "1048576", 1 + 2*10},  // prod's
		{"dev", "16000", "16000", 1 + 2*2}, // no pinning by whole batches
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, tt := range tests {
		t.Run(tt.stack+"/"+tt.bytes, func(t *testing.T) {
			r := run(t, tt.stack) // the stack file as it is, shared with the other tests
			if tt.bytes != "" {
				config, err := settings.ReadStackConfig(filepath.Join(root, "Pulumi."+tt.stack+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				config[settings.Key(settings.KeyMaxStatementBytes)] = tt.bytes
				if r, err = stackrun.RunConfig(root, tt.stack, config); err != nil {
					t.Fatal(err)
				}
			}
			fn := one(t, r, typeFunction, "-consumer-function")
			if got := str(fn.Inputs, "environment", "variables", statementsize.EnvVar); got != tt.wantEnv {
				t.Errorf("consumer %s = %q, want %q", statementsize.EnvVar, got, tt.wantEnv)
			}
			alarm := one(t, r, "aws:cloudwatch/metricAlarm:MetricAlarm", "-proxy-pinned-sessions")
			if got := num(alarm.Inputs, "threshold"); got != tt.wantPinned {
				t.Errorf("pinned-sessions alarm threshold %v, want %v", got, tt.wantPinned)
			}
		})
	}
}

// TestEveryResourceShapedLikeAWS guards the other tests: a type the mocks do
// not know would get a generic id and no ARN, and relationship checks on it
// would prove little.
func TestEveryResourceShapedLikeAWS(t *testing.T) {
	arnPattern := regexp.MustCompile(`^arn:aws:[a-z0-9-]+:(ap-northeast-1)?:(123456789012)?:\S+$`)
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack)
			if len(r.GenericTypes) > 0 {
				t.Errorf("types the mocks do not shape: %v (add them to offline/awsmodel)", r.GenericTypes)
			}
			for _, res := range r.Resources {
				if !res.Custom {
					continue
				}
				if res.ID == "" {
					t.Errorf("%s %s has no id", res.Type, res.Name)
				}
				if v, ok := res.Outputs["arn"]; ok && !arnPattern.MatchString(unwrap(v).StringValue()) {
					t.Errorf("%s %s arn %q", res.Type, res.Name, unwrap(v).StringValue())
				}
			}
		})
	}
}
