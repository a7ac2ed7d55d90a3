package network

import (
	"slices"
	"testing"
)

func TestSubnetCIDRs(t *testing.T) {
	tests := []struct {
		vpc  string
		n    int
		want []string
	}{
		{"10.40.0.0/16", 2, []string{"10.40.0.0/20", "10.40.16.0/20"}},
		{"10.41.0.0/16", 3, []string{"10.41.0.0/20", "10.41.16.0/20", "10.41.32.0/20"}},
		{"192.168.4.0/22", 2, []string{"192.168.4.0/26", "192.168.4.64/26"}},
		{"10.0.0.0/24", 2, []string{"10.0.0.0/28", "10.0.0.16/28"}},
		{"10.0.0.0/26", 5, nil}, // /28 leaves room for 4
		{"not-a-cidr", 2, nil},
	}
	for _, tt := range tests {
		got, err := SubnetCIDRs(tt.vpc, tt.n)
		if (err != nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("SubnetCIDRs(%s, %d) = %v, %v; want %v", tt.vpc, tt.n, got, err, tt.want)
		}
	}
}
