package dbconn

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	base := map[string]string{
		EnvEndpoint: "prx.example.internal:3306",
		EnvName:     "sluice",
		EnvUser:     "sluice_app",
		EnvRegion:   "ap-northeast-1",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "defaults to IAM over TLS", env: base,
			want: Config{Endpoint: "prx.example.internal:3306", Name: "sluice", User: "sluice_app", Auth: AuthIAM, TLS: true, Region: "ap-northeast-1"}},
		{name: "password without TLS", env: with(EnvAuth, "password", EnvPassword, "pw", EnvTLS, "false"),
			want: Config{Endpoint: "prx.example.internal:3306", Name: "sluice", User: "sluice_app", Auth: AuthPassword, Password: "pw", TLS: false, Region: "ap-northeast-1"}},
		{name: "IAM refuses plaintext", env: with(EnvTLS, "false"), wantErr: "SLUICE_DB_TLS=false is not allowed with SLUICE_DB_AUTH=iam"},
		{name: "IAM needs a region", env: with(EnvRegion, ""), wantErr: "AWS_REGION is required"},
		{name: "IAM with a password is a mistake", env: with(EnvPassword, "pw"), wantErr: "SLUICE_DB_PASSWORD must be empty"},
		{name: "missing endpoint", env: with(EnvEndpoint, ""), wantErr: "SLUICE_DB_ENDPOINT is required"},
		{name: "endpoint without port", env: with(EnvEndpoint, "db.internal"), wantErr: `SLUICE_DB_ENDPOINT="db.internal": want host:port`},
		{name: "missing name", env: with(EnvName, ""), wantErr: "SLUICE_DB_NAME is required"},
		{name: "missing user", env: with(EnvUser, ""), wantErr: "SLUICE_DB_USER is required"},
		{name: "unknown auth", env: with(EnvAuth, "kerberos"), wantErr: `SLUICE_DB_AUTH="kerberos": want iam or password`},
		{name: "bad TLS flag", env: with(EnvTLS, "maybe"), wantErr: `SLUICE_DB_TLS="maybe": want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStringHidesPassword(t *testing.T) {
	c := Config{Endpoint: "h:3306", Name: "d", User: "u", Auth: AuthPassword, Password: "hunter2"}
	if s := c.String(); strings.Contains(s, "hunter2") {
		t.Fatalf("String() leaks the password: %s", s)
	}
}

func TestMySQLConfigIAM(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	c := Config{Endpoint: "prx-1.proxy-abc.ap-northeast-1.rds.amazonaws.com:3306", Name: "sluice", User: "sluice_app", Auth: AuthIAM, TLS: true, Region: "ap-northeast-1"}
	mc, err := c.MySQLConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !mc.AllowCleartextPasswords || !mc.InterpolateParams || mc.TLS == nil || mc.Passwd != "" {
		t.Fatalf("IAM config: cleartext=%t interpolate=%t tls=%v passwd set=%t", mc.AllowCleartextPasswords, mc.InterpolateParams, mc.TLS, mc.Passwd != "")
	}
	if mc.TLS.ServerName != "prx-1.proxy-abc.ap-northeast-1.rds.amazonaws.com" {
		t.Fatalf("TLS ServerName = %q", mc.TLS.ServerName)
	}
}

func TestBuildTokenIsSignedForTheEndpointAndUser(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	tok, err := buildToken(context.Background(), "prx.example:3306", "ap-northeast-1", "sluice_app", aws.NewCredentialsCache(creds))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse("https://" + tok)
	if err != nil {
		t.Fatalf("token is not a presigned URL: %v", err)
	}
	q := u.Query()
	if u.Host != "prx.example:3306" || q.Get("Action") != "connect" || q.Get("DBUser") != "sluice_app" || q.Get("X-Amz-Signature") == "" {
		t.Fatalf("unexpected token %q", tok)
	}
	if !strings.Contains(q.Get("X-Amz-Credential"), "/ap-northeast-1/rds-db/") {
		t.Fatalf("token not scoped to rds-db in the region: %s", q.Get("X-Amz-Credential"))
	}
}
