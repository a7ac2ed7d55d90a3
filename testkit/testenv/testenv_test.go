package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipsOnlyInShortMode runs this package's helper test in a child
// process, with and without -short, and reads what it reports.
func TestSkipsOnlyInShortMode(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-test.short"}, "--- SKIP: TestChild"},
		{nil, "--- PASS: TestChild"},
	} {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestChild$", "-test.v"}, tt.args...)...)
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, out)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: want %q in\n%s", tt.args, tt.want, out)
		}
		if tt.args != nil && !strings.Contains(string(out), "needs moto_server on PATH") {
			t.Errorf("the skip does not say what is needed:\n%s", out)
		}
	}
}

// TestChild is the test the child process runs; in the parent it does
// nothing.
func TestChild(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "1" {
		return
	}
	NeedsMoto(t)
	t.Log("not skipped")
}
