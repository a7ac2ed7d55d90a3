package record

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzSeeds are bodies derived from the table: samples (one record, with a
// key, an array), and for every field each JSON type in its place, null,
// an absent member, and a string at and past its limits.
func fuzzSeeds() []string {
	seeds := []string{SampleBody(0, 1, "", nil), SampleBody(1, 1, "t", func(j int) string { return "k-" + strconv.Itoa(j) }), SampleBody(2, 3, "", nil)}
	for i := range table {
		f := &table[i]
		base := Sample(i, "")
		for _, raw := range []string{`null`, `42`, `-1.5e3`, `0.125`, `true`, `"x"`, `" "`, `"a\u0007b"`, `[]`, `{}`, `"2026-01-02T03:04:05.678+09:00"`, "\"" + strings.Repeat("あ", max(f.MaxChars, f.MaxBytes)+1) + "\""} {
			seeds = append(seeds, withMember(base, f.Member, raw))
		}
		seeds = append(seeds, withMember(base, f.Member, ""))
	}
	return seeds
}

// withMember is r's body with member's value replaced by raw ("" removes it).
func withMember(r Record, member, raw string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(r.JSON()), &m) // JSON always writes an object
	if raw == "" {
		delete(m, member)
	} else {
		m[member] = json.RawMessage(raw)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// FuzzDecode checks the invariants of Decode on arbitrary bodies: it never
// panics, every rejection carries a known reason, and every accepted record
// satisfies the table's rules, agrees with an independent reading by
// encoding/json and survives a round trip through Record.JSON.
func FuzzDecode(f *testing.F) {
	// Seeds beyond testdata/fuzz/FuzzDecode: one of each shape, then the
	// ones the table gives.
	for _, s := range []string{
		`{"name":"Alice","email":"alice@example.com"}`,
		`{"name":"山田 太郎","email":"taro@example.jp"}`,
		`{"name":"a","name":"b","email":"a@example.com"}`,
		`{"name":"a","email":"Alice <a@example.com>"}`,
		"{\"name\":\"\xff\",\"email\":\"a@example.com\"}",
		`[]`, ``, `{"name":"a","email":"a@example.com"} {}`,
		`a.b+c@example.com`, `a..b@example.com`, `.a@b`, `a@b.`, "a@b@c", `{|}~@x`,
		`{"name":"a","email":"a@example.com","idempotency_key":"k-1"}`,
		`{"name":"a","email":"a@example.com","idempotency_key":" k"}`,
		`{"idempotency_key":null,"name":"a","email":"a@example.com"}`,
		`{"idempotency_key":null,"name":"a","email":"a@example.com","idempotency_key":"k"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// The shortcut for plain addresses must never accept what
		// net/mail would refuse or change.
		if s := string(body); isDotAtomAddress(s) {
			if addr, err := mail.ParseAddress(s); err != nil || addr.Name != "" || addr.Address != s {
				t.Fatalf("isDotAtomAddress(%q) but net/mail gives %+v, %v", s, addr, err)
			}
		}
		// Wherever the fast path answers, the general one must agree.
		if fast, ok := plainObject(string(body)); ok {
			general, err := anyObject(string(body))
			if err != nil || general != fast {
				t.Fatalf("plainObject(%q) = %+v; anyObject gives %+v, %v", body, fast, general, err)
			}
		}
		// An array's elements are what encoding/json sees.
		if elems, array, err := Split(string(body)); array && err == nil {
			var ref []json.RawMessage
			if json.Unmarshal(body, &ref) != nil || len(ref) != len(elems) {
				t.Fatalf("Split(%q) = %d elements; encoding/json sees %d", body, len(elems), len(ref))
			}
			for i := range elems {
				if !bytes.Equal(bytes.TrimSpace(ref[i]), []byte(elems[i])) {
					t.Fatalf("Split(%q) element %d = %q, want %q", body, i, elems[i], ref[i])
				}
			}
		} else if err != nil && !slices.Contains(Reasons(), ReasonOf(err)) {
			t.Fatalf("Split: unknown reason from %v", err)
		}
		rec, err := Decode(string(body))
		ref, refOK := referenceMembers(body)
		if err != nil {
			if rec.Values != nil || rec.IdempotencyKey != "" {
				t.Fatalf("rejected body returned a non-zero record %+v", rec)
			}
			r := ReasonOf(err)
			if !slices.Contains(Reasons(), r) {
				t.Fatalf("unknown reason %q from %v", r, err)
			}
			// A body of the right shape can only fail on the values.
			if refOK && !valueReason(r) {
				t.Fatalf("%q rejected for %s, but its shape is right", body, r)
			}
			return
		}
		if !refOK {
			t.Fatalf("%q accepted as %+v; encoding/json sees %v", body, rec, ref)
		}
		checkAccepted(t, rec, ref)
		// What the consumer stores must decode to itself.
		back, err := Decode(rec.JSON())
		if err != nil || !equalRecords(back, rec) {
			t.Fatalf("round trip of %+v: got %+v, %v", rec, back, err)
		}
	})
}

// valueReason reports whether r is about a value rather than the shape.
func valueReason(r Reason) bool {
	for i := range table {
		for _, v := range table[i].Violations() {
			if r == table[i].Reason(v) {
				return true
			}
		}
	}
	return r == ReasonKeyNotString || r == ReasonKeyTooLong || r == ReasonKeyInvalid
}

// referenceMembers is an independent, slower reading of body with
// encoding/json's token API: ok when body is one UTF-8 JSON object whose
// members are the table's and the key, each at most once, each of its
// field's JSON type or null, with every required field present.
func referenceMembers(body []byte) (map[string]any, bool) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	out := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if _, dup := out[key]; dup {
			return nil, false
		}
		out[key] = v
	}
	for key, v := range out {
		k := slot(key)
		if k < 0 {
			return nil, false
		}
		if v == nil {
			continue
		}
		ok := false
		switch kindOf(k) {
		case String, Timestamp:
			_, ok = v.(string)
		case Integer, Decimal:
			_, ok = v.(json.Number)
		case Boolean:
			_, ok = v.(bool)
		}
		if !ok {
			return nil, false
		}
	}
	for i := range table {
		if table[i].Required && out[table[i].Member] == nil {
			return nil, false
		}
	}
	return out, true
}

// checkAccepted holds an accepted record to the table's rules and to what
// encoding/json read.
func checkAccepted(t *testing.T, rec Record, ref map[string]any) {
	t.Helper()
	if want, _ := ref[KeyMember].(string); rec.IdempotencyKey != want {
		t.Fatalf("key %q, encoding/json sees %q", rec.IdempotencyKey, want)
	}
	for i, f := range Fields() {
		v := rec.Values[i]
		raw := ref[f.Member]
		if f.Required && !v.Valid {
			t.Fatalf("%s: required, but no value", f.Member)
		}
		if !v.Valid {
			if s, isString := raw.(string); raw != nil && !(isString && f.Kind == String && strings.TrimSpace(s) == "") {
				t.Fatalf("%s: no value, but encoding/json sees %v", f.Member, raw)
			}
			continue
		}
		switch f.Kind {
		case String:
			s := v.Str
			if s != strings.TrimSpace(raw.(string)) || s == "" || !utf8.ValidString(s) {
				t.Fatalf("%s: %q, encoding/json sees %q", f.Member, s, raw)
			}
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("%s: control character accepted: %q", f.Member, s)
			}
			if f.MaxChars > 0 && utf8.RuneCountInString(s) > f.MaxChars || f.MaxBytes > 0 && len(s) > f.MaxBytes {
				t.Fatalf("%s: %q is too long", f.Member, s)
			}
			if f.Check == &EmailAddress {
				addr, err := mail.ParseAddress(s)
				if err != nil || addr.Name != "" || addr.Address != s {
					t.Fatalf("%s: %q is not a bare RFC 5322 address: %v %+v", f.Member, s, err, addr)
				}
			} else if f.Check != nil && f.Check.Valid(s) != "" {
				t.Fatalf("%s: %q fails its check", f.Member, s)
			}
		case Integer:
			n, err := strconv.ParseInt(string(raw.(json.Number)), 10, 64)
			if err != nil || n != v.Int || (f.Min != 0 || f.Max != 0) && (n < f.Min || n > f.Max) {
				t.Fatalf("%s: %d, encoding/json sees %v (%v)", f.Member, v.Int, raw, err)
			}
		case Decimal:
			want, _ := strconv.ParseFloat(string(raw.(json.Number)), 64)
			got, err := strconv.ParseFloat(v.Str, 64)
			if err != nil || got != want {
				t.Fatalf("%s: %q, encoding/json sees %v", f.Member, v.Str, raw)
			}
		case Timestamp:
			want, err := time.Parse(time.RFC3339Nano, raw.(string))
			if err != nil || v.Int != want.UnixMilli() {
				t.Fatalf("%s: %v, encoding/json sees %v (%v)", f.Member, v.Time(), raw, err)
			}
		case Boolean:
			if (v.Int != 0) != raw.(bool) {
				t.Fatalf("%s: %d, encoding/json sees %v", f.Member, v.Int, raw)
			}
		}
	}
}
