package record

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// The reasons of the seed's fields, as the table derives them.
const (
	ReasonNameRequired     Reason = "name_required"
	ReasonNameNotString    Reason = "name_not_string"
	ReasonNameControlChar  Reason = "name_control_char"
	ReasonNameTooLong      Reason = "name_too_long"
	ReasonEmailRequired    Reason = "email_required"
	ReasonEmailNotString   Reason = "email_not_string"
	ReasonEmailTooLong     Reason = "email_too_long"
	ReasonEmailInvalid     Reason = "email_invalid"
	ReasonEmailControlChar Reason = "email_control_char"
)

// seed is the record with the seed's name and email (every other field
// absent) and key.
func seed(name, email, key string) Record {
	r := Record{Values: make([]Value, len(table)), IdempotencyKey: key}
	for i, f := range Fields() {
		switch f.Member {
		case "name":
			r.Values[i] = Value{Str: name, Valid: true}
		case "email":
			r.Values[i] = Value{Str: email, Valid: true}
		}
	}
	return r
}

func equalRecords(a, b Record) bool { return reflect.DeepEqual(a, b) }

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Record
	}{
		{"plain", `{"name":"Alice","email":"alice@example.com"}`, seed("Alice", "alice@example.com", "")},
		{"member order does not matter", `{"email":"bob@example.org","name":"Bob"}`, seed("Bob", "bob@example.org", "")},
		{"japanese name", `{"name":"山田 太郎","email":"taro@example.jp"}`, seed("山田 太郎", "taro@example.jp", "")},
		{"escaped japanese name", `{"name":"\u5c71\u7530","email":"y@example.jp"}`, seed("山田", "y@example.jp", "")},
		{"emoji outside the BMP", `{"name":"🍣 Sushi","email":"s@example.com"}`, seed("🍣 Sushi", "s@example.com", "")},
		{"surrounding white space trimmed, ideographic space too", "  {\"name\":\"\u3000花子 \",\"email\":\" hanako@example.jp\\t\"}\n", seed("花子", "hanako@example.jp", "")},
		{"quotes and backslashes in a name", `{"name":"O'Brien \"Bob\" \\","email":"ob@example.com"}`, seed(`O'Brien "Bob" \`, "ob@example.com", "")},
		{"zero width joiner is not a control character", "{\"name\":\"👩\u200d💻\",\"email\":\"dev@example.com\"}", seed("👩\u200d💻", "dev@example.com", "")},
		{"255 characters", `{"name":"` + strings.Repeat("あ", 255) + `","email":"a@example.com"}`, seed(strings.Repeat("あ", 255), "a@example.com", "")},
		{"254-byte email", `{"name":"n","email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" + `"}`, seed("n", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 185)+".com", "")},
		{"plus addressing", `{"name":"n","email":"n+tag@example.com"}`, seed("n", "n+tag@example.com", "")},
		{"internationalised local part (RFC 6532)", `{"name":"n","email":"用户@example.com"}`, seed("n", "用户@example.com", "")},
		{"idempotency key", `{"name":"n","email":"n@example.com","idempotency_key":"7f0c2b9e-1d2a-4c8e-9b1f-3a6d5e4c2b10"}`, seed("n", "n@example.com", "7f0c2b9e-1d2a-4c8e-9b1f-3a6d5e4c2b10")},
		{"idempotency key first", `{"idempotency_key":"k1","email":"n@example.com","name":"n"}`, seed("n", "n@example.com", "k1")},
		{"null idempotency key is no key", `{"name":"n","email":"n@example.com","idempotency_key":null}`, seed("n", "n@example.com", "")},
		{"64-byte key of every allowed character", `{"name":"n","email":"n@example.com","idempotency_key":"` + keyOfEveryChar + `"}`, seed("n", "n@example.com", keyOfEveryChar)},
		{"escaped key", `{"name":"n","email":"n@example.com","idempotency_key":"a\/b\u002d"}`, seed("n", "n@example.com", "a/b-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.body)
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.body, err)
			}
			if !equalRecords(got, tt.want) {
				t.Fatalf("Decode(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

// keyOfEveryChar is a 64-byte idempotency key with every kind of allowed
// character.
var keyOfEveryChar = "0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrst.:~+/="

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Reason
	}{
		{"invalid utf-8 in a value", "{\"name\":\"\xff\",\"email\":\"a@example.com\"}", ReasonInvalidUTF8},
		{"empty body", ``, ReasonInvalidJSON},
		{"white space only", " \n", ReasonInvalidJSON},
		{"truncated", `{"name":"a","email":"a@example.com"`, ReasonInvalidJSON},
		{"single quotes", `{'name':'a'}`, ReasonInvalidJSON},
		{"trailing comma", `{"name":"a","email":"a@example.com",}`, ReasonInvalidJSON},
		{"second object", `{"name":"a","email":"a@example.com"}{}`, ReasonTrailingData},
		{"trailing garbage", `{"name":"a","email":"a@example.com"} x`, ReasonTrailingData},
		{"array", `[{"name":"a","email":"a@example.com"}]`, ReasonNotObject},
		{"string", `"a@example.com"`, ReasonNotObject},
		{"null", `null`, ReasonNotObject},
		{"duplicate name", `{"name":"a","name":"b","email":"a@example.com"}`, ReasonDuplicateField},
		{"duplicate via escape", `{"name":"a","n\u0061me":"b","email":"a@example.com"}`, ReasonDuplicateField},
		{"unknown member", `{"name":"a","email":"a@example.com","admin":true}`, ReasonUnknownField},
		{"member names are case-sensitive", `{"Name":"a","email":"a@example.com"}`, ReasonUnknownField},
		{"name missing", `{"email":"a@example.com"}`, ReasonNameRequired},
		{"name null", `{"name":null,"email":"a@example.com"}`, ReasonNameRequired},
		{"name empty", `{"name":"","email":"a@example.com"}`, ReasonNameRequired},
		{"name blank", "{\"name\":\" \\t\u3000\",\"email\":\"a@example.com\"}", ReasonNameRequired},
		{"name number", `{"name":42,"email":"a@example.com"}`, ReasonNameNotString},
		{"name object", `{"name":{"first":"a"},"email":"a@example.com"}`, ReasonNameNotString},
		{"name 256 characters", `{"name":"` + strings.Repeat("あ", 256) + `","email":"a@example.com"}`, ReasonNameTooLong},
		{"name with newline inside", `{"name":"a\nb","email":"a@example.com"}`, ReasonNameControlChar},
		{"name with NUL", `{"name":"a\u0000b","email":"a@example.com"}`, ReasonNameControlChar},
		{"control character wins over length", `{"name":"` + strings.Repeat("あ", 300) + `\u0001","email":"a@example.com"}`, ReasonNameControlChar},
		{"name with C1 control", "{\"name\":\"a\u0085b\",\"email\":\"a@example.com\"}", ReasonNameControlChar},
		{"email missing", `{"name":"a"}`, ReasonEmailRequired},
		{"email blank", `{"name":"a","email":"  "}`, ReasonEmailRequired},
		{"email array", `{"name":"a","email":["a@example.com"]}`, ReasonEmailNotString},
		{"email 255 bytes", `{"name":"n","email":"` + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" + `"}`, ReasonEmailTooLong},
		{"email with control character", `{"name":"a","email":"a\u0007@example.com"}`, ReasonEmailControlChar},
		{"email without at", `{"name":"a","email":"example.com"}`, ReasonEmailInvalid},
		{"email with display name", `{"name":"a","email":"Alice <alice@example.com>"}`, ReasonEmailInvalid},
		{"email in angle brackets", `{"name":"a","email":"<alice@example.com>"}`, ReasonEmailInvalid},
		{"two emails", `{"name":"a","email":"a@example.com, b@example.com"}`, ReasonEmailInvalid},
		{"email with comment", `{"name":"a","email":"a@example.com (work)"}`, ReasonEmailInvalid},
		{"name is checked before email", `{"name":"","email":"nope"}`, ReasonNameRequired},
		{"key number", `{"name":"a","email":"a@example.com","idempotency_key":42}`, ReasonKeyNotString},
		{"key object", `{"name":"a","email":"a@example.com","idempotency_key":{"k":"v"}}`, ReasonKeyNotString},
		{"key empty", `{"name":"a","email":"a@example.com","idempotency_key":""}`, ReasonKeyInvalid},
		{"key 65 bytes", `{"name":"a","email":"a@example.com","idempotency_key":"` + strings.Repeat("k", 65) + `"}`, ReasonKeyTooLong},
		{"key with space", `{"name":"a","email":"a@example.com","idempotency_key":"a b"}`, ReasonKeyInvalid},
		{"key not trimmed", `{"name":"a","email":"a@example.com","idempotency_key":" ab"}`, ReasonKeyInvalid},
		{"key with non-ASCII", `{"name":"a","email":"a@example.com","idempotency_key":"キー"}`, ReasonKeyInvalid},
		{"key with escaped quote", `{"name":"a","email":"a@example.com","idempotency_key":"a\"b"}`, ReasonKeyInvalid},
		{"duplicate key", `{"name":"a","email":"a@example.com","idempotency_key":"a","idempotency_key":"b"}`, ReasonDuplicateField},
		{"key member is case-sensitive", `{"name":"a","email":"a@example.com","Idempotency_Key":"a"}`, ReasonUnknownField},
		{"email is checked before the key", `{"name":"a","email":"nope","idempotency_key":""}`, ReasonEmailInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.body)
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want rejection %s", tt.body, got, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Decode(%q) error %T %v, want *Error", tt.body, err, err)
			}
			if re.Reason != tt.want {
				t.Fatalf("Decode(%q) reason %s (%s), want %s", tt.body, re.Reason, re.Detail, tt.want)
			}
			if re.Detail == "" {
				t.Errorf("Decode(%q): empty detail", tt.body)
			}
			if ReasonOf(err) != tt.want {
				t.Errorf("ReasonOf = %q, want %q", ReasonOf(err), tt.want)
			}
		})
	}
}

// TestPlainObjectTakesTheCommonShapes pins which bodies the fast path
// answers for: every shape a well-behaved client sends must take it (or
// Decode silently slows down), and nothing it cannot judge exactly may.
func TestPlainObjectTakesTheCommonShapes(t *testing.T) {
	tests := []struct {
		body   string
		wantOK bool
		want   members
	}{
		{`{"name":"Alice","email":"alice@example.com"}`, true, members{``, `"Alice"`, `"alice@example.com"`}},
		{" \t{ \"email\" : \"a@b\" ,\r\n \"name\":\"山田\" }\n", true, members{``, `"山田"`, `"a@b"`}},
		{`{"name":"O'Brien \"Bob\" \\ \/ \b\f\n\r\t \u5c71\uD83C\udf63","email":"x@y"}`, true, members{``, `"O'Brien \"Bob\" \\ \/ \b\f\n\r\t \u5c71\uD83C\udf63"`, `"x@y"`}},
		{`{"name":null,"email":"x@y"}`, true, members{``, `null`, `"x@y"`}},
		{`{"email":"x@y"}`, true, members{``, ``, `"x@y"`}},
		{`{"name":"a","email":"b","idempotency_key":"k-1"}`, true, members{`"k-1"`, `"a"`, `"b"`}},
		{`{"idempotency_key":null,"name":"a","email":"b"}`, true, members{`null`, `"a"`, `"b"`}},
		{`{}`, true, members{}},
		{`{"name":"a","email":"b","name":"c"}`, false, members{}},  // duplicate
		{`{"n\u0061me":"a","email":"b"}`, false, members{}},        // escaped member name
		{`{"name":"a","email":"b","admin":"x"}`, false, members{}}, // unknown member
		{`{"name":42,"email":"b"}`, false, members{}},              // not a string
		{`{"name":"a","email":"b","idempotency_key":7}`, false, members{}},
		{`{"name":nullx,"email":"b"}`, false, members{}},          // not null
		{`{"name":"a","email":"b",}`, false, members{}},           // trailing comma
		{`{"name":"a","email":"b"} {}`, false, members{}},         // trailing data
		{`{"name":"a","email":"b"`, false, members{}},             // truncated
		{`{"name":"a\x","email":"b"}`, false, members{}},          // bad escape
		{`{"name":"a\u12g4","email":"b"}`, false, members{}},      // bad \u escape
		{`{"name":"a\u12`, false, members{}},                      // truncated \u escape
		{"{\"name\":\"a\tb\",\"email\":\"b\"}", false, members{}}, // raw control character
		{`["name","email"]`, false, members{}},                    // not an object
		{``, false, members{}},
	}
	for _, tt := range tests {
		got, ok := plainObject(tt.body)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("plainObject(%q) = %+v, %v; want %+v, %v", tt.body, got, ok, tt.want, tt.wantOK)
		}
		if !ok {
			continue
		}
		general, err := anyObject(tt.body)
		if err != nil || general != got {
			t.Errorf("anyObject(%q) = %+v, %v; plainObject disagrees", tt.body, general, err)
		}
	}
}

// TestIdempotencyKeyCharacters checks the key alphabet byte by byte
// against the documented set.
func TestIdempotencyKeyCharacters(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(IdempotencyKeyPunctuation, byte(c)) >= 0
		err := ValidIdempotencyKey(string([]byte{byte(c)}))
		if (err == nil) != want {
			t.Errorf("key %q: error %v, want accepted %v", []byte{byte(c)}, err, want)
		}
	}
	if err := ValidIdempotencyKey(strings.Repeat("a", MaxIdempotencyKeyBytes)); err != nil {
		t.Errorf("a %d-byte key: %v", MaxIdempotencyKeyBytes, err)
	}
	if len(keyOfEveryChar) != MaxIdempotencyKeyBytes {
		t.Errorf("keyOfEveryChar has %d bytes, want %d", len(keyOfEveryChar), MaxIdempotencyKeyBytes)
	}
}

// TestReasonsFitTheColumn keeps every reason storable in quarantine.reason
// (VARCHAR(64) CHARACTER SET ascii).
func TestReasonsFitTheColumn(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if r == "" || len(r) > 64 || strings.IndexFunc(string(r), func(c rune) bool { return c > unicode.MaxASCII }) >= 0 {
			t.Errorf("reason %q does not fit VARCHAR(64) ascii", r)
		}
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
	}
}

// TestSeedReasonsAreDerived pins the seed's reasons, which the table now
// derives, to the list and order they had when they were constants.
func TestSeedReasonsAreDerived(t *testing.T) {
	var got []Reason
	for _, r := range Reasons() {
		if strings.HasPrefix(string(r), "name_") || strings.HasPrefix(string(r), "email_") {
			got = append(got, r)
		}
	}
	want := []Reason{ReasonNameRequired, ReasonNameNotString, ReasonNameControlChar, ReasonNameTooLong,
		ReasonEmailRequired, ReasonEmailNotString, ReasonEmailTooLong, ReasonEmailControlChar, ReasonEmailInvalid}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("seed reasons %v, want %v", got, want)
	}
}
