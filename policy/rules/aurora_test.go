package rules_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// TestCompliantAuroraStack: the Aurora variant of the compliant stack has
// no finding but the advisory one on the undeclared public route, in dev
// and prod, and none in the preview of a new stack.
func TestCompliantAuroraStack(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		vs := rules.Evaluate(rules.All(), rulestest.AuroraStack(), nil, rules.Env{Stack: stack})
		if len(vs) != 1 || vs[0].Policy != "apigw-route-authorization" || vs[0].EnforcementLevel != rules.Advisory {
			t.Errorf("%s: got %+v, want only the advisory route finding", stack, vs)
		}
		preview := rulestest.Preview(rulestest.AuroraStack())
		if vs := rules.Evaluate(rules.All(), preview, nil, rules.Env{Stack: stack, DryRun: true}); rules.HasMandatory(vs) {
			t.Errorf("%s preview: %+v", stack, vs)
		}
	}
}

func TestMutationsOfAuroraStack(t *testing.T) {
	base := map[string][]rules.Resource{"dev": rulestest.AuroraStack(), "prod": rulestest.AuroraStack()}
	applied, caught := rulestest.CheckMutationsOf(t, rulestest.AuroraMutations(), base, true)
	t.Logf("%d Aurora mutations applied, %d caught by the intended policy alone", applied, caught)
	// Every database policy is exercised on the Aurora stack.
	covered := map[string]bool{}
	for _, m := range rulestest.AuroraMutations() {
		covered[m.Policy] = true
	}
	for _, p := range []string{"encryption-at-rest", "rds-iam-auth", "transport-tls-required", "rds-network-private",
		"rds-instance-not-public", "production-safeguards"} {
		if !covered[p] {
			t.Errorf("no Aurora mutation for %s", p)
		}
	}
	// The mutations also break the stack as a preview sees it: the
	// references are computed and followed through property dependencies.
	for _, m := range rulestest.AuroraMutations() {
		if m.Stack != "" {
			continue
		}
		mutated, err := m.Apply(rulestest.AuroraStack())
		if err != nil {
			t.Fatal(err)
		}
		vs := rules.Evaluate(rules.All(), rulestest.Preview(mutated), nil, rules.Env{Stack: "dev", DryRun: true})
		if !hasMandatory(vs, m.Policy) {
			t.Errorf("%s: the preview has no mandatory %s finding: %+v", m.Name, m.Policy, vs)
		}
	}
}

func hasMandatory(vs []rules.Violation, policy string) bool {
	for _, v := range vs {
		if v.Policy == policy && v.EnforcementLevel == rules.Mandatory {
			return true
		}
	}
	return false
}

// TestDatabaseResourceStates runs the database resource policies on one
// Aurora-side resource per case: pass, fail, absent, computed and secret.
func TestDatabaseResourceStates(t *testing.T) {
	const (
		cl     = "aws:rds/cluster:Cluster"
		ci     = "aws:rds/clusterInstance:ClusterInstance"
		gc     = "aws:rds/globalCluster:GlobalCluster"
		sg     = "aws:rds/shardGroup:ShardGroup"
		snap   = "aws:rds/snapshot:Snapshot"
		copyC  = "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy"
		rolePo = "aws:iam/rolePolicy:RolePolicy"
	)
	connect := func(res string) string {
		return `{"Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"` + res + `"}]}`
	}
	cases := []struct {
		name   string
		policy rules.Policy
		typ    string
		props  map[string]any
		env    rules.Env
		want   int
	}{
		{"cluster encrypted", rules.EncryptionAtRest, cl, map[string]any{"storageEncrypted": true}, rules.Env{}, 0},
		{"cluster unencrypted", rules.EncryptionAtRest, cl, map[string]any{"storageEncrypted": false}, rules.Env{}, 1},
		{"cluster encryption absent (default false)", rules.EncryptionAtRest, cl, map[string]any{"engine": "aurora-mysql"}, rules.Env{}, 1},
		{"cluster encryption computed fails closed", rules.EncryptionAtRest, cl, map[string]any{"storageEncrypted": computed()}, rules.Env{DryRun: true}, 1},
		{"cluster encryption secret true", rules.EncryptionAtRest, cl, map[string]any{"storageEncrypted": secret(true)}, rules.Env{}, 0},
		{"cluster encryption malformed", rules.EncryptionAtRest, cl, map[string]any{"storageEncrypted": "yes"}, rules.Env{}, 1},
		{"serverless v1 cluster is always encrypted", rules.EncryptionAtRest, cl, map[string]any{"engineMode": "serverless"}, rules.Env{}, 0},
		{"secondary cluster of a global cluster: left to the stack part", rules.EncryptionAtRest, cl, map[string]any{"globalClusterIdentifier": computed()}, rules.Env{DryRun: true}, 0},
		{"secondary cluster explicitly unencrypted", rules.EncryptionAtRest, cl, map[string]any{"globalClusterIdentifier": "g", "storageEncrypted": false}, rules.Env{}, 1},
		{"global cluster encrypted", rules.EncryptionAtRest, gc, map[string]any{"storageEncrypted": true}, rules.Env{}, 0},
		{"global cluster absent without source", rules.EncryptionAtRest, gc, map[string]any{"engine": "aurora-mysql"}, rules.Env{}, 1},
		{"global cluster from a source cluster: left to the stack part", rules.EncryptionAtRest, gc, map[string]any{"sourceDbClusterIdentifier": "arn:aws:rds:ap-northeast-1:123456789012:cluster:c"}, rules.Env{}, 0},
		{"read replica: left to the stack part", rules.EncryptionAtRest, "aws:rds/instance:Instance", map[string]any{"replicateSourceDb": "db"}, rules.Env{}, 0},
		{"cluster instance has no storage of its own", rules.EncryptionAtRest, ci, map[string]any{}, rules.Env{}, 0},

		{"cluster IAM auth on", rules.RDSIAMAuth, cl, map[string]any{"iamDatabaseAuthenticationEnabled": true}, rules.Env{}, 0},
		{"cluster IAM auth off", rules.RDSIAMAuth, cl, map[string]any{"iamDatabaseAuthenticationEnabled": false}, rules.Env{}, 1},
		{"cluster IAM auth absent", rules.RDSIAMAuth, cl, map[string]any{}, rules.Env{}, 1},
		{"cluster IAM auth computed", rules.RDSIAMAuth, cl, map[string]any{"iamDatabaseAuthenticationEnabled": computed()}, rules.Env{DryRun: true}, 1},
		{"cluster IAM auth secret true", rules.RDSIAMAuth, cl, map[string]any{"iamDatabaseAuthenticationEnabled": secret(true)}, rules.Env{}, 0},
		{"connect on a cluster user", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:cluster-ABCDEFGHIJKL01234/sluice_app")}, rules.Env{}, 0},
		{"connect on every user of a cluster", rules.RDSIAMAuth, rolePo, map[string]any{"policy": connect("arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:cluster-ABCDEFGHIJKL01234/*")}, rules.Env{}, 1},

		{"cluster instance private", rules.RDSInstanceNotPublic, ci, map[string]any{"publiclyAccessible": false}, rules.Env{}, 0},
		{"shard group private", rules.RDSInstanceNotPublic, sg, map[string]any{"publiclyAccessible": false}, rules.Env{}, 0},
		{"shard group absent (default false)", rules.RDSInstanceNotPublic, sg, map[string]any{}, rules.Env{}, 0},
		{"shard group secret true", rules.RDSInstanceNotPublic, sg, map[string]any{"publiclyAccessible": secret(true)}, rules.Env{}, 1},
		{"shard group public", rules.RDSInstanceNotPublic, sg, map[string]any{"publiclyAccessible": true}, rules.Env{}, 1},
		{"shard group computed", rules.RDSInstanceNotPublic, sg, map[string]any{"publiclyAccessible": computed()}, rules.Env{DryRun: true}, 1},
		{"snapshot shared with an account", rules.RDSInstanceNotPublic, snap, map[string]any{"sharedAccounts": []any{"210987654321"}}, rules.Env{}, 0},
		{"snapshot shared with all", rules.RDSInstanceNotPublic, snap, map[string]any{"sharedAccounts": []any{"210987654321", "all"}}, rules.Env{}, 1},
		{"snapshot copy shared with all, as a secret", rules.RDSInstanceNotPublic, copyC, map[string]any{"sharedAccounts": secret([]any{"all"})}, rules.Env{}, 1},
		{"snapshot not shared (absent)", rules.RDSInstanceNotPublic, snap, map[string]any{}, rules.Env{}, 0},
		{"snapshot sharing computed in preview", rules.RDSInstanceNotPublic, snap, map[string]any{"sharedAccounts": []any{computed()}}, rules.Env{DryRun: true}, 0},
		{"snapshot sharing computed at up", rules.RDSInstanceNotPublic, snap, map[string]any{"sharedAccounts": computed()}, rules.Env{}, 1},
		{"snapshot sharing malformed", rules.RDSInstanceNotPublic, snap, map[string]any{"sharedAccounts": "all"}, rules.Env{}, 1},

		{"dev cluster needs no safeguards", rules.ProductionSafeguards, cl, map[string]any{}, rules.Env{Stack: "dev"}, 0},
		{"prod cluster without safeguards", rules.ProductionSafeguards, cl, map[string]any{}, rules.Env{Stack: "prod"}, 2},
		{"prod cluster with safeguards", rules.ProductionSafeguards, cl, map[string]any{"deletionProtection": true, "backupRetentionPeriod": 7}, rules.Env{Stack: "prod"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rules.Resource{Type: tc.typ, Name: "r", URN: rulestest.URN(tc.typ, "r"), Properties: props(tc.props)}
			vs := tc.policy.CheckResource(r, nil, tc.env)
			if len(vs) != tc.want {
				t.Fatalf("got %d violations, want %d: %+v", len(vs), tc.want, vs)
			}
			for _, v := range vs {
				if v.EnforcementLevel != rules.Mandatory || !strings.Contains(v.Message, "Fix:") {
					t.Errorf("malformed violation %+v", v)
				}
			}
		})
	}
}
