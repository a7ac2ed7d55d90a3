package dbfunction

import "testing"

func TestProxyDBUserARN(t *testing.T) {
	tests := []struct {
		proxy, user, want string
		wantErr           bool
	}{
		{"arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0a1b2c3d4e5f67890", "sluice_app",
			"arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0a1b2c3d4e5f67890/sluice_app", false},
		{"arn:aws-cn:rds:cn-north-1:210987654321:db-proxy:prx-abc", "sluice_admin",
			"arn:aws-cn:rds-db:cn-north-1:210987654321:dbuser:prx-abc/sluice_admin", false},
		{"arn:aws:rds:ap-northeast-1:123456789012:db:sluice-dev", "sluice_app", "", true},                // an instance, not a proxy
		{"arn:aws:rds:ap-northeast-1:123456789012:db-proxy:sluice-dev", "sluice_app", "", true},          // name, not prx- id
		{"arn:aws:rds:ap-northeast-1::db-proxy:prx-abc", "sluice_app", "", true},                         // no account
		{"arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-abc", "", "", true},                       // no user
		{"arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-abc", "*", "", true},                      // wildcard user
		{"arn:aws:rds:ap-northeast-1:123456789012:db-proxy-endpoint:prx-ep-abc", "sluice_app", "", true}, // endpoint ARN
		{"prx-abc", "sluice_app", "", true},
	}
	for _, tt := range tests {
		got, err := ProxyDBUserARN(tt.proxy, tt.user)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ProxyDBUserARN(%q, %q) = %q, %v; want %q, error %v", tt.proxy, tt.user, got, err, tt.want, tt.wantErr)
		}
	}
}
