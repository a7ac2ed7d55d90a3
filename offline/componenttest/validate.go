package componenttest

import (
	"strings"
	"testing"
)

// CheckValidate applies modify to fresh arguments from valid and checks what
// their Validate says: nil when field is empty, otherwise an error that
// starts with the field's name, as every component's Validate reports a
// problem. It is one row of a component's Validate table.
func CheckValidate[A interface{ Validate() error }](t *testing.T, valid func() A, modify func(*A), field string) {
	t.Helper()
	a := valid()
	modify(&a)
	err := a.Validate()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil || !strings.HasPrefix(err.Error(), field+":") {
		t.Fatalf("Validate() = %v, want an error naming %s", err, field)
	}
}
