package settings

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/infra/routeauth"
)

// base is a minimal valid configuration: only the required key.
func base() map[string]string { return map[string]string{RegionKey: "ap-northeast-1"} }

func with(kv ...string) map[string]string {
	m := base()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestDefaults(t *testing.T) {
	s, err := LoadConfig(base())
	if err != nil {
		t.Fatalf("LoadConfig(minimal) = %v", err)
	}
	c := s.Consumer
	if got, want := s.Queue.VisibilityTimeout, 6*(c.Timeout+c.BatchingWindow); got != want {
		t.Errorf("default visibility timeout = %v, want 6 × (timeout + window) = %v", got, want)
	}
	if s.Consumer.ReservedConcurrency != 0 {
		t.Errorf("default reserved concurrency %d, want 0 (none)", s.Consumer.ReservedConcurrency)
	}
	if got := s.Network.AvailabilityZones; len(got) != 2 || got[0] != "ap-northeast-1a" || got[1] != "ap-northeast-1c" {
		t.Errorf("default zones = %v", got)
	}
	if s.Database.MasterUser != "sluice_admin" || s.Database.AppUser != "sluice_app" {
		t.Errorf("default users = %q, %q; the schema contract says sluice_admin, sluice_app", s.Database.MasterUser, s.Database.AppUser)
	}
	if s.Network.UsesExistingVPC() {
		t.Error("default network uses an existing VPC")
	}
	if c.MaxStatementBytes != statementsize.Default {
		t.Errorf("default statement size %d, want the consumer's default %d", c.MaxStatementBytes, statementsize.Default)
	}
	if s.API.Auth != routeauth.None || s.API.ThrottleBurst < s.API.ExpectedSpike || !slices.Equal(s.API.PublicRoutes, []string{routeauth.Submit}) {
		t.Errorf("default API = %+v", s.API)
	}
	if s.Database.EngineVersion != "8.4" || s.Database.AllowMajorVersionUpgrade {
		t.Errorf("default engine %q (major upgrades allowed: %v), want 8.4 LTS without", s.Database.EngineVersion, s.Database.AllowMajorVersionUpgrade)
	}
	if o := s.Observability; o.DBFreeStorageAlarmGiB >= s.Database.AllocatedStorageGiB || o.DBCPUAlarmPercent != 80 || o.QuarantineAlarmRecords < 1 ||
		o.DBFreeableMemoryAlarmMiB < 1 || o.DBConnectionsAlarm < 1 {
		t.Errorf("default alarm thresholds %+v", o)
	}
}

func TestDerivedVisibilityFollowsTimeoutAndWindow(t *testing.T) {
	s, err := LoadConfig(with(Key(KeyFunctionTimeout), "45", Key(KeyBatchingWindow), "5"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Queue.VisibilityTimeout, 300*time.Second; got != want {
		t.Errorf("visibility = %v, want %v", got, want)
	}
}

func TestValidValues(t *testing.T) {
	tests := []struct {
		name  string
		cfg   map[string]string
		check func(Settings) bool
	}{
		{"yaml booleans", with(Key(KeyDBMultiAZ), "true", Key(KeyDBDeletionProtection), "true"), func(s Settings) bool { return s.Database.MultiAZ && s.Database.DeletionProtection }},
		{"explicit visibility above minimum", with(Key(KeyVisibilityTimeout), "900"), func(s Settings) bool { return s.Queue.VisibilityTimeout == 900*time.Second }},
		{"existing vpc", with(Key(KeyExistingVpcID), "vpc-0123456789abcdef0", Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0, subnet-0123456789abcdef1"), func(s Settings) bool {
			return s.Network.UsesExistingVPC() && len(s.Network.ExistingSubnetIDs) == 2
		}},
		{"jwt", with(Key(KeyAPIAuth), "JWT", Key(KeyJWTIssuer), "https://issuer.example.com/", Key(KeyJWTAudience), "a,b"), func(s Settings) bool {
			return s.API.Auth == routeauth.JWT && len(s.API.JWTAudience) == 2
		}},
		{"iam auth", with(Key(KeyAPIAuth), "AWS_IAM"), func(s Settings) bool { return s.API.Auth == routeauth.IAM }},
		{"mysql 8.0", with(Key(KeyDBEngineVersion), "8.0"), func(s Settings) bool { return s.Database.EngineVersion == "8.0" }},
		{"major upgrade", with(Key(KeyDBAllowMajorVersionUpgrade), "true"), func(s Settings) bool { return s.Database.AllowMajorVersionUpgrade }},
		{"no public route", with(Key(KeyPublicRoutes), ""), func(s Settings) bool { return s.API.PublicRoutes != nil && len(s.API.PublicRoutes) == 0 }},
		{"empty derived and optional keys are unset", with(Key(KeyVisibilityTimeout), "", Key(KeyAvailabilityZones), "",
			Key(KeyVpcCIDR), "", Key(KeyJWTIssuer), "", Key(KeyAlarmEmail), ""), func(s Settings) bool {
			d, _ := LoadConfig(base())
			return reflect.DeepEqual(s, d)
		}},
		{"cors", with(Key(KeyCORSAllowOrigins), "https://app.example.com,http://localhost:3000"), func(s Settings) bool { return len(s.API.CORSAllowOrigins) == 2 }},
		{"large batch with window", with(Key(KeyBatchSize), "100", Key(KeyBatchingWindow), "1"), func(s Settings) bool { return s.Consumer.BatchSize == 100 }},
		{"statements below the proxy's pinning threshold", with(Key(KeyMaxStatementBytes), "16000"), func(s Settings) bool { return s.Consumer.MaxStatementBytes == 16000 }},
		{"unnamespaced other keys are ignored", with("aws:profile", "x", "pulumi:tags", "y"), func(s Settings) bool { return s.Region == "ap-northeast-1" }},
		{"fractional rate", with(Key(KeyAPIThrottleRate), "12.5"), func(s Settings) bool { return s.API.ThrottleRate == 12.5 }},
		{"zones of region", with(Key(KeyAvailabilityZones), "ap-northeast-1a,ap-northeast-1c,ap-northeast-1d"), func(s Settings) bool { return len(s.Network.AvailabilityZones) == 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadConfig(tt.cfg)
			if err != nil {
				t.Fatalf("LoadConfig = %v", err)
			}
			if !tt.check(s) {
				t.Errorf("unexpected settings %+v", s)
			}
		})
	}
}

// TestRules covers every range and cross-field rule: each case must fail
// with exactly one problem, naming the key, echoing the value, and saying
// what is allowed.
func TestRules(t *testing.T) {
	tests := []struct {
		name    string
		cfg     map[string]string
		key     string // full key named in the error
		value   string
		allowed string // substring of the explanation
	}{
		{"region required", with(RegionKey, "<unset>"), RegionKey, "", "required"},
		{"region malformed", with(RegionKey, "tokyo"), RegionKey, "tokyo", "AWS region"},
		{"unknown key", with("sluice:batchsize", "10"), "sluice:batchsize", "10", "unknown key; did you mean sluice:batchSize?"},
		{"unknown key far from any", with("sluice:colour", "blue"), "sluice:colour", "blue", "unknown key (every key"},
		{"max concurrency below 2", with(Key(KeyMaxConcurrency), "1"), Key(KeyMaxConcurrency), "1", "from 2 to 1000"},
		{"max concurrency above 1000", with(Key(KeyMaxConcurrency), "1001", Key(KeyReservedConcurrency), "2000"), Key(KeyMaxConcurrency), "1001", "from 2 to 1000"},
		{"max concurrency above reserved", with(Key(KeyMaxConcurrency), "10", Key(KeyReservedConcurrency), "5"), Key(KeyMaxConcurrency), "10", "at most sluice:reservedConcurrency (5)"},
		{"visibility below 6x", with(Key(KeyFunctionTimeout), "30", Key(KeyBatchingWindow), "2", Key(KeyVisibilityTimeout), "191"), Key(KeyVisibilityTimeout), "191", "at least 6 × (sluice:functionTimeoutSeconds + sluice:batchingWindowSeconds) = 192 seconds"},
		{"visibility above 12h", with(Key(KeyVisibilityTimeout), "43201"), Key(KeyVisibilityTimeout), "43201", "from 0 to 43200"},
		{"borrow timeout not below function timeout", with(Key(KeyFunctionTimeout), "10", Key(KeyProxyBorrowTimeout), "10"), Key(KeyProxyBorrowTimeout), "10", "less than sluice:functionTimeoutSeconds (10 seconds)"},
		{"batch above 10 without window", with(Key(KeyBatchSize), "11"), Key(KeyBatchingWindow), "", "at least 1 second when sluice:batchSize (11) is above 10"},
		{"batch size too large", with(Key(KeyBatchSize), "10001"), Key(KeyBatchSize), "10001", "from 1 to 10000"},
		{"batching window too large", with(Key(KeyBatchingWindow), "301"), Key(KeyBatchingWindow), "301", "from 0 to 300"},
		{"statement size too small", with(Key(KeyMaxStatementBytes), "1023"), Key(KeyMaxStatementBytes), "1023", "from 1024 to 15728640"},
		{"statement size above max_allowed_packet", with(Key(KeyMaxStatementBytes), "16777216"), Key(KeyMaxStatementBytes), "16777216", "from 1024 to 15728640"},
		{"burst below spike", with(Key(KeyAPIThrottleBurst), "999", Key(KeyExpectedSpike), "1000"), Key(KeyAPIThrottleBurst), "999", "at least sluice:expectedSpike (1000)"},
		{"burst above account", with(Key(KeyAPIThrottleBurst), "5001"), Key(KeyAPIThrottleBurst), "5001", "from 1 to 5000"},
		{"rate zero", with(Key(KeyAPIThrottleRate), "0"), Key(KeyAPIThrottleRate), "0", "above 0"},
		{"rate not a number", with(Key(KeyAPIThrottleRate), "fast"), Key(KeyAPIThrottleRate), "fast", "a number"},
		{"function timeout above 900", with(Key(KeyFunctionTimeout), "901"), Key(KeyFunctionTimeout), "901", "from 1 to 900"},
		{"memory not integer", with(Key(KeyFunctionMemory), "1.5"), Key(KeyFunctionMemory), "1.5", "an integer"},
		{"max receive count zero", with(Key(KeyMaxReceiveCount), "0"), Key(KeyMaxReceiveCount), "0", "from 1 to 1000"},
		{"queue retention equals dlq", with(Key(KeyQueueRetention), "1209600"), Key(KeyQueueRetention), "1209600", "less than the DLQ's retention (1209600 seconds)"},
		{"queue retention too short", with(Key(KeyQueueRetention), "59"), Key(KeyQueueRetention), "59", "from 60 to 1209600"},
		{"oldest message alarm beyond retention", with(Key(KeyQueueRetention), "600", Key(KeyOldestMessageAlarm), "600"), Key(KeyOldestMessageAlarm), "600", "less than sluice:queueRetentionSeconds (600 seconds)"},
		{"body above sqs limit", with(Key(KeyMaxBodyBytes), "262145"), Key(KeyMaxBodyBytes), "262145", "from 1024 to 262144"},
		{"idle percent above max percent", with(Key(KeyProxyMaxConnectionsPercent), "40", Key(KeyProxyMaxIdlePercent), "50"), Key(KeyProxyMaxIdlePercent), "50", "at most sluice:proxyMaxConnectionsPercent (40)"},
		{"max connections percent zero", with(Key(KeyProxyMaxConnectionsPercent), "0"), Key(KeyProxyMaxConnectionsPercent), "0", "from 1 to 100"},
		{"idle client timeout", with(Key(KeyProxyIdleClientTimeout), "28801"), Key(KeyProxyIdleClientTimeout), "28801", "from 1 to 28800"},
		{"bool malformed", with(Key(KeyDBMultiAZ), "yes"), Key(KeyDBMultiAZ), "yes", "true or false"},
		{"backups too long", with(Key(KeyDBBackupRetentionDays), "36"), Key(KeyDBBackupRetentionDays), "36", "from 0 to 35"},
		{"protected without backups", with(Key(KeyDBDeletionProtection), "true", Key(KeyDBBackupRetentionDays), "0"), Key(KeyDBBackupRetentionDays), "0", "at least 1 when sluice:dbDeletionProtection is true"},
		{"storage too small", with(Key(KeyDBAllocatedStorage), "19"), Key(KeyDBAllocatedStorage), "19", "from 20 to 65536"},
		{"autoscaling ceiling not above storage", with(Key(KeyDBAllocatedStorage), "100", Key(KeyDBMaxAllocatedStorage), "100"), Key(KeyDBMaxAllocatedStorage), "100", "more than sluice:dbAllocatedStorageGiB (100)"},
		{"performance insights on micro", with(Key(KeyDBInstanceClass), "db.t4g.micro", Key(KeyDBPerformanceInsights), "true"), Key(KeyDBPerformanceInsights), "true", "must be false on db.t4g.micro"},
		{"instance class malformed", with(Key(KeyDBInstanceClass), "t4g.micro"), Key(KeyDBInstanceClass), "t4g.micro", "instance class"},
		{"engine not supported", with(Key(KeyDBEngineVersion), "5.7"), Key(KeyDBEngineVersion), "5.7", "must be one of 8.4 or 8.0"},
		{"engine minor version", with(Key(KeyDBEngineVersion), "8.0.36"), Key(KeyDBEngineVersion), "8.0.36", "one of 8.4 or 8.0"},
		{"empty engine", with(Key(KeyDBEngineVersion), ""), Key(KeyDBEngineVersion), "", "one of 8.4 or 8.0"},
		{"major upgrade not a bool", with(Key(KeyDBAllowMajorVersionUpgrade), "yes"), Key(KeyDBAllowMajorVersionUpgrade), "yes", "true or false"},
		{"public route the API lacks", with(Key(KeyPublicRoutes), "GET /health"), Key(KeyPublicRoutes), "GET /health", "route keys (POST /submit)"},
		{"db name malformed", with(Key(KeyDBName), "my-db"), Key(KeyDBName), "my-db", "schema name"},
		{"app user reserved", with(Key(KeyDBAppUser), "root"), Key(KeyDBAppUser), "root", "reserved"},
		{"proxy's monitoring user reserved", with(Key(KeyDBAppUser), "rdsproxyadmin"), Key(KeyDBAppUser), "rdsproxyadmin", "reserved"},
		{"app user equals master", with(Key(KeyDBAppUser), "Sluice_Admin"), Key(KeyDBAppUser), "Sluice_Admin", "differ from sluice:dbMasterUser"},
		{"password generation zero", with(Key(KeyAppPasswordGeneration), "0"), Key(KeyAppPasswordGeneration), "0", "from 1 to 1000000"},
		{"user too long", with(Key(KeyDBMasterUser), strings.Repeat("a", 33)), Key(KeyDBMasterUser), strings.Repeat("a", 33), "at most 32"},
		{"cidr public", with(Key(KeyVpcCIDR), "8.8.0.0/16"), Key(KeyVpcCIDR), "8.8.0.0/16", "private IPv4"},
		{"cidr too large", with(Key(KeyVpcCIDR), "10.0.0.0/8"), Key(KeyVpcCIDR), "10.0.0.0/8", "/16 to /24"},
		{"cidr host bits", with(Key(KeyVpcCIDR), "10.40.1.0/16"), Key(KeyVpcCIDR), "10.40.1.0/16", "private IPv4"},
		{"one zone", with(Key(KeyAvailabilityZones), "ap-northeast-1a"), Key(KeyAvailabilityZones), "ap-northeast-1a", "2 to 6"},
		{"zones with a bad region", with(RegionKey, "tokyo", Key(KeyAvailabilityZones), "ap-northeast-1a,ap-northeast-1c"), RegionKey, "tokyo", "AWS region"},
		{"zone of another region", with(Key(KeyAvailabilityZones), "us-east-1a,us-east-1b"), Key(KeyAvailabilityZones), "us-east-1a,us-east-1b", "zones of aws:region"},
		{"duplicate zone", with(Key(KeyAvailabilityZones), "ap-northeast-1a,ap-northeast-1a"), Key(KeyAvailabilityZones), "ap-northeast-1a,ap-northeast-1a", "without duplicates"},
		{"subnets without vpc", with(Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0,subnet-0123456789abcdef1"), Key(KeyExistingVpcID), "", "must be set when sluice:existingSubnetIds"},
		{"vpc with one subnet", with(Key(KeyExistingVpcID), "vpc-0123456789abcdef0", Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0"), Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0", "at least 2 private subnets"},
		{"vpc with cidr", with(Key(KeyExistingVpcID), "vpc-0123456789abcdef0", Key(KeyExistingSubnetIDs), "subnet-0123456789abcdef0,subnet-0123456789abcdef1", Key(KeyVpcCIDR), "10.40.0.0/16"), Key(KeyVpcCIDR), "10.40.0.0/16", "must be unset when sluice:existingVpcId"},
		{"vpc id malformed", with(Key(KeyExistingVpcID), "my-vpc"), Key(KeyExistingVpcID), "my-vpc", "VPC id"},
		{"auth unknown", with(Key(KeyAPIAuth), "COGNITO"), Key(KeyAPIAuth), "COGNITO", "none, AWS_IAM or JWT"},
		{"audience without jwt", with(Key(KeyJWTAudience), "a"), Key(KeyJWTAudience), "a", "unset unless sluice:apiAuth is JWT"},
		{"jwt without issuer", with(Key(KeyAPIAuth), "JWT", Key(KeyJWTAudience), "a"), Key(KeyJWTIssuer), "", "https:// URL when sluice:apiAuth is JWT"},
		{"jwt without audience", with(Key(KeyAPIAuth), "JWT", Key(KeyJWTIssuer), "https://i.example.com"), Key(KeyJWTAudience), "", "at least one audience"},
		{"issuer without jwt", with(Key(KeyJWTIssuer), "https://i.example.com"), Key(KeyJWTIssuer), "https://i.example.com", "unset unless sluice:apiAuth is JWT"},
		{"issuer not https", with(Key(KeyAPIAuth), "JWT", Key(KeyJWTIssuer), "http://i.example.com", Key(KeyJWTAudience), "a"), Key(KeyJWTIssuer), "http://i.example.com", "https://"},
		{"cors origin with path", with(Key(KeyCORSAllowOrigins), "https://app.example.com/x"), Key(KeyCORSAllowOrigins), "https://app.example.com/x", "origins"},
		{"cors http origin", with(Key(KeyCORSAllowOrigins), "http://app.example.com"), Key(KeyCORSAllowOrigins), "http://app.example.com", "origins"},
		{"integer key empty", with(Key(KeyBatchSize), ""), Key(KeyBatchSize), "", "from 1 to 10000"},
		{"borrow latency alarm not below borrow timeout", with(Key(KeyBorrowLatencyAlarm), "10000"), Key(KeyBorrowLatencyAlarm), "10000", "less than sluice:proxyBorrowTimeoutSeconds (10000 ms)"},
		{"alarm email malformed", with(Key(KeyAlarmEmail), "ops"), Key(KeyAlarmEmail), "ops", "email address"},
		{"quarantine alarm zero", with(Key(KeyQuarantineAlarm), "0"), Key(KeyQuarantineAlarm), "0", "from 1 to 1000000"},
		{"cpu alarm above 100", with(Key(KeyDBCPUAlarm), "101"), Key(KeyDBCPUAlarm), "101", "from 1 to 100"},
		{"free storage alarm not below storage", with(Key(KeyDBAllocatedStorage), "20", Key(KeyDBFreeStorageAlarm), "20"), Key(KeyDBFreeStorageAlarm), "20", "less than sluice:dbAllocatedStorageGiB (20 GiB)"},
		{"freeable memory alarm zero", with(Key(KeyDBFreeMemoryAlarm), "0"), Key(KeyDBFreeMemoryAlarm), "0", "from 1 to 1048576"},
		{"connections alarm not a number", with(Key(KeyDBConnectionsAlarm), "many"), Key(KeyDBConnectionsAlarm), "many", "an integer"},
		{"log retention not allowed by cloudwatch", with(Key(KeyLogRetentionDays), "10"), Key(KeyLogRetentionDays), "10", "one of 1, 3, 5, 7, 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadConfig(tt.cfg)
			if err == nil {
				t.Fatalf("LoadConfig accepted %v: %+v", tt.cfg, s)
			}
			problems := Problems(err)
			if len(problems) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(problems), err)
			}
			p := problems[0]
			if p.Key != tt.key || p.Value != tt.value || !strings.Contains(p.Allowed, tt.allowed) {
				t.Errorf("problem = {%q %q %q}, want key %q value %q allowed containing %q", p.Key, p.Value, p.Allowed, tt.key, tt.value, tt.allowed)
			}
			// The message a user sees names all three.
			msg := err.Error()
			for _, part := range []string{tt.key, `"` + tt.value + `"`, tt.allowed} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q lacks %q", msg, part)
				}
			}
			if !reflect.DeepEqual(s, Settings{}) {
				t.Errorf("failed load returned non-zero settings %+v", s)
			}
		})
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	_, err := LoadConfig(with(Key(KeyBatchSize), "0", Key(KeyMaxReceiveCount), "x", "sluice:typo", "1"))
	got := map[string]bool{}
	for _, p := range Problems(err) {
		got[p.Key] = true
	}
	for _, k := range []string{Key(KeyBatchSize), Key(KeyMaxReceiveCount), "sluice:typo"} {
		if !got[k] {
			t.Errorf("problem for %s missing from %v", k, err)
		}
	}
}

func TestStackFiles(t *testing.T) {
	dev, err := LoadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := LoadFile("../../Pulumi.prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if dev.Database.MultiAZ || dev.Database.DeletionProtection || dev.Database.FinalSnapshot {
		t.Errorf("dev database is not the cheap one: %+v", dev.Database)
	}
	if !prod.Database.MultiAZ || !prod.Database.DeletionProtection || !prod.Database.FinalSnapshot || prod.Database.BackupRetentionDays < 7 || !prod.Database.PerformanceInsights {
		t.Errorf("prod database lacks durability settings: %+v", prod.Database)
	}
	if prod.API.ThrottleBurst <= dev.API.ThrottleBurst || prod.API.ThrottleRate <= dev.API.ThrottleRate || prod.Consumer.MaxConcurrency <= dev.Consumer.MaxConcurrency {
		t.Errorf("prod throughput limits not above dev: dev %+v %+v, prod %+v %+v", dev.API, dev.Consumer, prod.API, prod.Consumer)
	}
	// The database alarms follow the instance: prod's is larger (8 GiB,
	// 100 GiB of storage), so its thresholds are too.
	if d, p := dev.Observability, prod.Observability; p.DBFreeStorageAlarmGiB <= d.DBFreeStorageAlarmGiB ||
		p.DBFreeableMemoryAlarmMiB <= d.DBFreeableMemoryAlarmMiB || p.DBConnectionsAlarm <= d.DBConnectionsAlarm {
		t.Errorf("prod database alarm thresholds not above dev's: dev %+v, prod %+v", d, p)
	}
	for name, s := range map[string]Settings{"dev": dev, "prod": prod} {
		if s.API.ThrottleBurst < 1000 {
			t.Errorf("%s burst %d cannot absorb a 1000-request spike", name, s.API.ThrottleBurst)
		}
	}
}

func TestReadStackConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "Pulumi.x.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := ReadStackConfig(write("config:\n  aws:region: ap-northeast-1\n  batchSize: 20\n  sluice:dbMultiAz: true\n  aws:defaultTags:\n    tags: {a: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"aws:region": "ap-northeast-1", "sluice:batchSize": "20", "sluice:dbMultiAz": "true"}
	if !maps.Equal(cfg, want) {
		t.Errorf("ReadStackConfig = %v, want %v", cfg, want)
	}

	_, err = ReadStackConfig(write("config:\n  sluice:apiAuth:\n    secure: v1:abc\n"))
	var e *Error
	if !errors.As(err, &e) || e.Key != "sluice:apiAuth" {
		t.Errorf("structured sluice value: err = %v", err)
	}
	if _, err := ReadStackConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := LoadFile(write("config:\n  sluice:batchSize: 0\n")); err == nil || !strings.Contains(err.Error(), "Pulumi.x.yaml") {
		t.Errorf("LoadFile error does not name the file: %v", err)
	}
}
