package spike

import (
	"testing"

	"github.com/sluicehq/sluice/consumer/record"
)

// TestSampleBodyIsAValidRecord: the spike's records come from the record's
// table, decode without a rejection, and carry the run's e-mail (by which
// the run finds its rows) and, with keys, a key of their own.
func TestSampleBodyIsAValidRecord(t *testing.T) {
	seen := map[string]bool{}
	for i := range 3 {
		for _, keys := range []bool{false, true} {
			email, body := sampleBody(i, "spike-run1-", keys)
			r, err := record.Decode(body)
			if err != nil {
				t.Fatalf("record %d (keys %v): %s: %v", i, keys, body, err)
			}
			if v, ok := r.Value("email"); !ok || v.Str != email {
				t.Errorf("record %d: email %+v, want %s", i, v, email)
			}
			if keys == (r.IdempotencyKey == "") || keys && seen[r.IdempotencyKey] {
				t.Errorf("record %d (keys %v): key %q", i, keys, r.IdempotencyKey)
			}
			seen[r.IdempotencyKey] = true
		}
	}
}
