package limits

import "testing"

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"batch of 10 without window", BatchNeedsWindow(10, 0), false},
		{"batch of 11 without window", BatchNeedsWindow(11, 0), true},
		{"batch of 11 with 1 s", BatchNeedsWindow(11, 1), false},
		{"reserved equals maximum", ReservedCoversMaximum(5, 5), true},
		{"reserved below maximum", ReservedCoversMaximum(4, 5), false},
		{"queue shorter than DLQ", DLQOutlivesQueue(DLQRetentionSeconds-1, DLQRetentionSeconds), true},
		{"queue as long as DLQ", DLQOutlivesQueue(DLQRetentionSeconds, DLQRetentionSeconds), false},
		{"autoscaling off", ValidMaxAllocatedStorage(0, 100), true},
		{"ceiling at allocation", ValidMaxAllocatedStorage(100, 100), false},
		{"ceiling above allocation", ValidMaxAllocatedStorage(101, 100), true},
		{"protected with backups", RestorableWhenProtected(true, 1), true},
		{"protected without backups", RestorableWhenProtected(true, 0), false},
		{"unprotected without backups", RestorableWhenProtected(false, 0), true},
		{"users differ only in case", SeparateUsers("sluice_admin", "Sluice_Admin"), false},
		{"idle above max", IdleWithinMax(51, 50), false},
		{"PI on micro", PerformanceInsightsAvailable("db.t4g.micro"), false},
		{"PI on large", PerformanceInsightsAvailable("db.m7g.large"), true},
		{"reserved user any case", ReservedUser("RdsProxyAdmin"), true},
		{"retention 14", ValidLogRetention(14), true},
		{"retention 10", ValidLogRetention(10), false},
		{"private /16", ValidVPCCIDR("10.40.0.0/16"), true},
		{"private /24", ValidVPCCIDR("192.168.1.0/24"), true},
		{"/8", ValidVPCCIDR("10.0.0.0/8"), false},
		{"/25", ValidVPCCIDR("10.0.0.0/25"), false},
		{"host bits", ValidVPCCIDR("10.40.1.0/16"), false},
		{"public", ValidVPCCIDR("8.8.0.0/16"), false},
		{"IPv6", ValidVPCCIDR("fd00::/48"), false},
		{"https origin", CORSOriginPattern.MatchString("https://app.example.com:8443"), true},
		{"localhost origin", CORSOriginPattern.MatchString("http://localhost:3000"), true},
		{"http origin", CORSOriginPattern.MatchString("http://app.example.com"), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got := MinVisibilityTimeoutSeconds(30, 1); got != 186 {
		t.Errorf("MinVisibilityTimeoutSeconds(30, 1) = %d, want 186", got)
	}
}

func TestWords(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{OneOf([]string{"a"}), "one of a"},
		{OneOf([]string{"a", "b", "c"}), "one of a, b or c"},
		{OneOf([]int{1, 3}), "one of 1 or 3"},
		{BatchSize.String(), "1–10000"},
		{Invalid("BatchSize", "%d: want %v", 0, BatchSize).Error(), "BatchSize: 0: want 1–10000"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
