package enginetest

import (
	"regexp"
	"testing"
)

// TestEnginePublicRoutes: a stack's own sluice:publicRoutes reaches the
// policy pack through the engine (the stack configuration of the
// analyzer's ConfigureStack request), with no policy config or flag. The
// dev stack declares its intake route public, so the preview has no
// apigw-route-authorization finding; without the key in the stack file the
// project's declared default (Pulumi.yaml) declares it; a stack that
// declares no route public gets the advisory finding on the open route.
func TestEnginePublicRoutes(t *testing.T) {
	tl := sharedTools(t)
	tests := []struct {
		name     string
		edit     func(*testing.T, []byte) []byte
		findings int
	}{
		{"declared in the stack file", nil, 0},
		{"declared by the project default", dropStackKey("sluice:publicRoutes"), 0},
		{"declared empty", setStackKey("sluice:publicRoutes", `""`), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := tl.preview(t, previewOptions{stack: "dev", editStack: tt.edit})
			if run.err != nil {
				t.Fatalf("preview failed: %v\n%s", run.err, run.output)
			}
			var findings int
			for _, v := range run.policyViolations("") {
				if v.PolicyName == "apigw-route-authorization" && v.PolicyPackName == packName {
					findings++
				}
			}
			if findings != tt.findings {
				t.Errorf("%d apigw-route-authorization findings, want %d; violations %+v\n%s", findings, tt.findings, run.policyViolations(""), run.output)
			}
		})
	}
}

// dropStackKey returns an edit that removes one key from a stack file,
// failing the test if the file does not set it.
func dropStackKey(key string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, file []byte) []byte {
		t.Helper()
		re := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(key) + `:.*\n`)
		if !re.Match(file) {
			t.Fatalf("stack file does not set %s", key)
		}
		return re.ReplaceAll(file, nil)
	}
}

// setStackKey returns an edit that replaces the value of one key in a stack
// file, failing the test if the file does not set that key.
func setStackKey(key, value string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, file []byte) []byte {
		t.Helper()
		re := regexp.MustCompile(`(?m)^(\s+` + regexp.QuoteMeta(key) + `:)\s*.*$`)
		if !re.Match(file) {
			t.Fatalf("stack file does not set %s", key)
		}
		return re.ReplaceAll(file, []byte("${1} "+value))
	}
}
