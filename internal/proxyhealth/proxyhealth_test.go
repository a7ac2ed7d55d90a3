package proxyhealth

import (
	"strings"
	"testing"
)

func TestProxyName(t *testing.T) {
	for _, tc := range []struct{ endpoint, want string }{
		{"sluice-dev-proxy.proxy-c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com:3306", "sluice-dev-proxy"},
		{"sluice-dev-proxy.proxy-c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com", "sluice-dev-proxy"},
		{"sluice-dev-db.c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com:3306", ""}, // an instance, not a proxy
		{"127.0.0.1:3306", ""},
		{"", ""},
	} {
		if got := ProxyName(tc.endpoint); got != tc.want {
			t.Errorf("ProxyName(%q) = %q, want %q", tc.endpoint, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		h     Health
		ready bool
		want  []string
	}{
		{Health{State: "AVAILABLE"}, true, []string{"AVAILABLE"}},
		{Health{State: "REGISTERING"}, false, []string{"REGISTERING", "9501", "wait"}},
		{Health{State: "UNAVAILABLE", Reason: "AUTH_FAILURE", Description: "Proxy does not have any registered credentials."},
			false, []string{"UNAVAILABLE (AUTH_FAILURE): Proxy does not have any registered credentials: MySQL refused", SettingAppUserAuthPlugin + ": mysql_native_password"}},
		{Health{State: "UNAVAILABLE", Reason: "PENDING_PROXY_CAPACITY"}, false, []string{SettingSecretsManagerEndpoint + ": true"}},
		{Health{State: "UNAVAILABLE", Reason: "SOMETHING_NEW", Description: "new"}, false, []string{"UNAVAILABLE (SOMETHING_NEW): new"}},
	} {
		got := tc.h.Explain()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v.Explain() = %q, lacks %q", tc.h, got, w)
			}
		}
		if tc.h.Ready() != tc.ready {
			t.Errorf("%+v.Ready() = %t", tc.h, !tc.ready)
		}
	}
}

func TestChecklistNamesTheProxyAndEveryReason(t *testing.T) {
	got := Checklist("p1.proxy-abc.eu-west-1.rds.amazonaws.com:3306")
	if !strings.Contains(got, "aws rds describe-db-proxy-targets --db-proxy-name p1 ") {
		t.Errorf("Checklist lacks the command for p1:\n%s", got)
	}
	// Every value of TargetHealth.Reason in the RDS API reference.
	for _, r := range []string{"UNREACHABLE", "CONNECTION_FAILED", "AUTH_FAILURE", "PENDING_PROXY_CAPACITY", "INVALID_REPLICATION_STATE", "PROMOTED"} {
		if Meaning(r) == "" || !strings.Contains(got, "\n  "+r+": ") {
			t.Errorf("reason %s has no meaning in the checklist:\n%s", r, got)
		}
	}
}
