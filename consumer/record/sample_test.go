package record

import "testing"

// TestSamplesDecode: every sample record, alone or in an array, decodes to
// itself, and samples differ from each other and from another run's.
func TestSamplesDecode(t *testing.T) {
	seen := map[string]bool{}
	for i := range 50 {
		for _, tag := range []string{"", "run-a", "run-b"} {
			want := Sample(i, tag)
			body := want.JSON()
			got, err := Decode(body)
			if err != nil || !equalRecords(got, want) {
				t.Fatalf("Sample(%d, %q) = %s: %+v, %v", i, tag, body, got, err)
			}
			if seen[body] && tag != "" {
				t.Errorf("Sample(%d, %q) repeats an earlier sample: %s", i, tag, body)
			}
			seen[body] = true
		}
	}
	elems, array, err := Split(SampleBody(7, 3, "t", func(j int) string { return "k-" + string(rune('a'+j)) }))
	if err != nil || !array || len(elems) != 3 {
		t.Fatalf("SampleBody of 3: %d elements, array %v, %v", len(elems), array, err)
	}
	for j, e := range elems {
		values := make([]Value, len(table))
		key, err := DecodeElement(e, values)
		if err != nil || key != "k-"+string(rune('a'+j+7)) || !equalRecords(Record{Values: values, IdempotencyKey: key}, Record{Values: Sample(7+j, "t").Values, IdempotencyKey: key}) {
			t.Errorf("element %d %s: key %q, %v", j, e, key, err)
		}
	}
	if _, array, _ := Split(SampleBody(0, 1, "", nil)); array {
		t.Error("SampleBody of 1 is an array, want one object")
	}
}
