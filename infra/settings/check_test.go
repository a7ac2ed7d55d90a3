package settings

import (
	"strings"
	"testing"
	"time"
)

// TestSectionValidate: a section's Validate refuses what the loader would
// refuse of the keys it comes from, naming the field and the key, every
// problem at once, and applies the rules among that section's keys only.
func TestSectionValidate(t *testing.T) {
	defaults, err := LoadConfig(map[string]string{RegionKey: "ap-northeast-1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		validate func(s Settings) error
		change   func(s *Settings)
		want     []string // each a line of the error; none: valid
	}{
		{"defaults", func(s Settings) error { return s.Queue.Validate() }, func(*Settings) {}, nil},
		{"below the range", func(s Settings) error { return s.Queue.Validate() },
			func(s *Settings) { s.Queue.Retention = 59 * time.Second },
			[]string{`Queue.Retention: "59" (sluice:queueRetentionSeconds) must be an integer from 60 to 1209600`}},
		{"every problem", func(s Settings) error { return s.Queue.Validate() },
			func(s *Settings) { s.Queue.Retention, s.Queue.MaxReceiveCount = 59*time.Second, 0 },
			[]string{"Queue.Retention:", "Queue.MaxReceiveCount:"}},
		{"not whole seconds", func(s Settings) error { return s.Consumer.Validate() },
			func(s *Settings) { s.Consumer.Timeout = 1500 * time.Millisecond },
			[]string{"Consumer.Timeout: \"1.5s\" (sluice:functionTimeoutSeconds) must be a whole number of 1s"}},
		{"milliseconds", func(s Settings) error { return s.Observability.Validate() },
			func(s *Settings) { s.Observability.BorrowLatency = 0 },
			[]string{`Observability.BorrowLatency: "0" (sluice:proxyBorrowLatencyAlarmMs)`}},
		{"rule within the section", func(s Settings) error { return s.Proxy.Validate() },
			func(s *Settings) { s.Proxy.MaxConnectionsPercent, s.Proxy.MaxIdleConnectionsPercent = 40, 50 },
			[]string{"Proxy.MaxIdleConnectionsPercent: \"50\" (sluice:proxyMaxIdleConnectionsPercent) must be at most sluice:proxyMaxConnectionsPercent (40)"}},
		{"rule across sections is the loader's", func(s Settings) error { return s.Proxy.Validate() },
			func(s *Settings) { s.Proxy.BorrowTimeout = 3600 * time.Second }, nil},
		{"optional unset", func(s Settings) error { return s.API.Validate() },
			func(s *Settings) { s.API.JWTIssuer, s.API.CORSAllowOrigins = "", nil }, nil},
		{"list item", func(s Settings) error { return s.API.Validate() },
			func(s *Settings) { s.API.CORSAllowOrigins = []string{"http://app.example.com"} },
			[]string{"API.CORSAllowOrigins:"}},
		{"new vpc and existing", func(s Settings) error { return s.Network.Validate() },
			func(s *Settings) {
				s.Network.ExistingVpcID, s.Network.ExistingSubnetIDs = "vpc-0123456789abcdef0", []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}
			},
			[]string{"Network.VpcCIDR:", "Network.AvailabilityZones:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaults
			s.Network.AvailabilityZones = append([]string(nil), s.Network.AvailabilityZones...)
			tt.change(&s)
			err := tt.validate(s)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d problems", lines, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("problem %d = %q, want it to start %q", i, lines[i], want)
				}
			}
		})
	}
}
