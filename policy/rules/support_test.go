package rules_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// TestRDSEngineStandardSupport runs the support-date policy on one
// database per case, with "today" pinned through the asOf config.
func TestRDSEngineStandardSupport(t *testing.T) {
	const (
		db      = "aws:rds/instance:Instance"
		cluster = "aws:rds/cluster:Cluster"
	)
	cfg := func(props rules.Config) rules.PackConfig {
		return rules.PackConfig{"rds-engine-standard-support": {Properties: props}}
	}
	on := func(date string) rules.PackConfig { return cfg(rules.Config{"asOf": date}) }
	mysql := func(version any) map[string]any { return map[string]any{"engine": "mysql", "engineVersion": version} }
	aurora := func(version string) map[string]any {
		return map[string]any{"engine": "aurora-mysql", "engineVersion": version}
	}
	cases := []struct {
		name  string
		typ   string
		props map[string]any
		env   rules.Env
		cfg   rules.PackConfig
		msg   []string // substrings of the one violation; nil means none
	}{
		{"8.0 after its end date", db, mysql("8.0"), rules.Env{}, on("2026-08-01"), []string{
			`engineVersion "8.0" is RDS for MySQL 8.0, whose standard support ended on 2026-07-31 (checked on 2026-08-01)`,
			"RDS enrolls the database in RDS Extended Support, charged per vCPU-hour",
			"Fix: upgrade to RDS for MySQL 8.4 (standard support until 2029-07-31); in Sluice set sluice:dbEngineVersion",
		}},
		{"8.0 the day before", db, mysql("8.0"), rules.Env{}, on("2026-07-30"), nil},
		{"8.0 on its end date", db, mysql("8.0"), rules.Env{}, on("2026-07-31"), []string{"standard support ends on 2026-07-31"}},
		{"8.0 minor version", db, mysql("8.0.39"), rules.Env{}, on("2026-12-01"), []string{`"8.0.39" is RDS for MySQL 8.0`}},
		{"8.0 as a secret", db, mysql(secret("8.0")), rules.Env{}, on("2026-12-01"), []string{"RDS for MySQL 8.0"}},
		{"8.0 with Extended Support disabled", db, map[string]any{"engine": "mysql", "engineVersion": "8.0",
			"engineLifecycleSupport": "open-source-rds-extended-support-disabled"}, rules.Env{}, on("2026-12-01"),
			[]string{"RDS Extended Support is disabled on this database (engineLifecycleSupport), so RDS upgrades it"}},
		{"8.4, the default, today", db, mysql("8.4"), rules.Env{}, on("2026-12-01"), nil},
		{"8.4.3 planned ahead past 2029-07-31", db, mysql("8.4.3"), rules.Env{}, on("2029-08-01"),
			[]string{"ended on 2029-07-31", "Fix: upgrade to a major version in standard support"}},
		{"5.7 with the default date (always past)", db, mysql("5.7.44"), rules.Env{}, nil, []string{"ended on 2024-02-29"}},
		{"version not in the calendar", db, mysql("9.1.0"), rules.Env{}, on("2026-12-01"), nil},
		{"no version: RDS picks its default", db, map[string]any{"engine": "mysql"}, rules.Env{}, on("2026-12-01"), nil},
		{"version computed in preview", db, mysql(computed()), rules.Env{DryRun: true}, on("2026-12-01"), nil},
		{"version computed at up", db, mysql(computed()), rules.Env{}, on("2026-12-01"), []string{"engineVersion is still unknown"}},
		{"PostgreSQL is not checked", db, map[string]any{"engine": "postgres", "engineVersion": "11"}, rules.Env{}, on("2026-12-01"), nil},
		{"MariaDB is not checked", db, map[string]any{"engine": "mariadb", "engineVersion": "10.6"}, rules.Env{}, on("2026-12-01"), nil},
		{"a later date from config", db, mysql("8.0"), rules.Env{}, cfg(rules.Config{"asOf": "2026-12-01",
			"mysqlStandardSupportEnds": map[string]any{"8.0": "2027-01-31"}}), nil},
		{"Multi-AZ DB cluster on 8.0", cluster, mysql("8.0.40"), rules.Env{}, on("2026-12-01"), []string{"RDS for MySQL 8.0"}},
		{"Aurora MySQL version 2", cluster, aurora("5.7.mysql_aurora.2.11.2"), rules.Env{}, on("2026-12-01"), []string{
			`"5.7.mysql_aurora.2.11.2" is Aurora MySQL version 2, whose standard support ended on 2024-10-31`,
			"Fix: upgrade to Aurora MySQL version 3 (standard support until 2028-04-30).",
		}},
		{"Aurora MySQL version 3 today", cluster, aurora("8.0.mysql_aurora.3.05.2"), rules.Env{}, on("2026-12-01"), nil},
		{"Aurora MySQL 8.0 written as the community version", cluster, aurora("8.0"), rules.Env{}, on("2028-05-01"),
			[]string{"Aurora MySQL version 3, whose standard support ended on 2028-04-30"}},
		{"Aurora instances are checked through their cluster", db, aurora("5.7.mysql_aurora.2.11.2"), rules.Env{}, on("2026-12-01"), nil},
		{"a malformed date is reported, not a crash of the pack", db, mysql("8.0"), rules.Env{}, on("1 Aug 2026"),
			[]string{`internal error: config "asOf" is "1 Aug 2026", want a date YYYY-MM-DD`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rules.Resource{Type: tc.typ, Name: "db", URN: rulestest.URN(tc.typ, "db"), Properties: props(tc.props)}
			vs := rules.RDSEngineStandardSupport.CheckResource(r, tc.cfg, tc.env)
			if tc.msg == nil {
				if len(vs) != 0 {
					t.Fatalf("got %+v, want none", vs)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("got %d violations, want 1: %+v", len(vs), vs)
			}
			v := vs[0]
			fixed := strings.Contains(v.Message, "Fix:") || strings.Contains(v.Message, "internal error")
			if v.EnforcementLevel != rules.Advisory || !strings.HasPrefix(v.Message, "[medium] ") || !fixed {
				t.Errorf("malformed violation %+v", v)
			}
			for _, want := range tc.msg {
				if !strings.Contains(v.Message, want) {
					t.Errorf("message %q lacks %q", v.Message, want)
				}
			}
		})
	}
}

// TestStandardSupportOfStacks: the default (8.4) stack previews clean, a
// stack set to 8.0 gets the advisory and nothing else changes.
func TestStandardSupportOfStacks(t *testing.T) {
	cfg := rules.PackConfig{
		"rds-engine-standard-support": {Properties: rules.Config{"asOf": "2026-12-01"}},
		"apigw-route-authorization":   {Properties: rules.Config{"publicRoutes": []any{"POST /submit"}}},
	}
	env := rules.Env{Stack: "dev", DryRun: true}
	if vs := rules.Evaluate(rules.All(), rulestest.Preview(rulestest.Stack()), cfg, env); len(vs) != 0 {
		t.Fatalf("8.4 stack in preview: %+v", vs)
	}
	stack := rulestest.Stack()
	db := find(stack, "aws:rds/instance:Instance", "db")
	db.Properties = db.Properties.Copy()
	db.Properties["engineVersion"] = rulestest.Secret("8.0")
	vs := rules.Evaluate(rules.All(), rulestest.Preview(stack), cfg, env)
	if len(vs) != 1 || vs[0].Policy != "rds-engine-standard-support" || vs[0].EnforcementLevel != rules.Advisory ||
		rules.HasMandatory(vs) {
		t.Fatalf("8.0 stack in preview: %+v", vs)
	}
}
