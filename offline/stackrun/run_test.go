package stackrun

import "testing"

func TestStackName(t *testing.T) {
	tests := []struct{ path, want string }{
		{"Pulumi.dev.yaml", "dev"},
		{"/a/b/Pulumi.prod.yaml", "prod"},
		{"Pulumi.yaml", ""},
		{"Pulumi.dev.yml", ""},
		{"stack.dev.yaml", ""},
	}
	for _, tt := range tests {
		got, err := StackName(tt.path)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("StackName(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}
