// Package record decodes and validates one submission body, the JSON object
// {"name": ..., "email": ...} (with an optional "idempotency_key") that a
// client POSTs to /submit and SQS carries to the consumer.
//
// The rules live here and nowhere else; the consumer, the local pipeline
// and the table in docs/consumer.md all refer to this package. A body
// either decodes to a Record that satisfies every rule, or Decode returns an
// *Error whose Reason is one of the machine-readable values listed by
// Reasons, which the consumer stores in quarantine.reason.
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the accepted values. MaxNameChars matches users.name
// VARCHAR(255), which counts characters; MaxEmailBytes is the longest
// address an SMTP path can carry (RFC 5321 §4.5.3.1.3 less the angle
// brackets), which also fits users.email VARCHAR(255).
const (
	MaxNameChars  = 255
	MaxEmailBytes = 254
)

// MaxIdempotencyKeyBytes bounds the client's idempotency key: a UUID (36),
// a ULID (26) or a hex SHA-256 digest (64) fits. Its characters are the
// ASCII letters and digits and IdempotencyKeyPunctuation, so a key is one
// byte per character, needs no quoting in logs, and fits the consumer's
// ascii dedupe column with room for its prefix.
const MaxIdempotencyKeyBytes = 64

// IdempotencyKeyPunctuation lists the characters other than ASCII letters
// and digits that an idempotency key may contain.
const IdempotencyKeyPunctuation = "-_.:~+/="

// KeyPrefix starts the dedupe key (users.submission_id) of a record that
// carries an idempotency key; the rest is the key as the client sent it.
// It is declared here, with the key's rules, so that the consumer and the
// migrator's read-only lookup use one definition.
const KeyPrefix = "key:"

// Record is a validated submission. Name is trimmed of surrounding
// Unicode white space; Email is the bare addr-spec. IdempotencyKey is the
// client's key for the submission, exactly as sent, or "" when the body
// has none: two bodies with the same key are the same submission.
type Record struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// Reason says, machine-readably, why a body was rejected. It is stored in
// quarantine.reason (VARCHAR(64) ascii).
type Reason string

// The reasons Decode can give, in the order Decode checks them.
const (
	ReasonInvalidUTF8      Reason = "invalid_utf8"      // the body is not valid UTF-8
	ReasonInvalidJSON      Reason = "invalid_json"      // the body is empty or not well-formed JSON
	ReasonTrailingData     Reason = "trailing_data"     // something other than white space follows the first JSON value
	ReasonNotObject        Reason = "not_object"        // the JSON value is not an object
	ReasonDuplicateField   Reason = "duplicate_field"   // a member name occurs twice
	ReasonUnknownField     Reason = "unknown_field"     // a member other than "name", "email" and "idempotency_key" (names match exactly, case-sensitively)
	ReasonNameRequired     Reason = "name_required"     // "name" is absent, null, or empty after trimming
	ReasonNameNotString    Reason = "name_not_string"   // "name" is a number, boolean, array or object
	ReasonNameControlChar  Reason = "name_control_char" // "name" contains a control character (Unicode category Cc)
	ReasonNameTooLong      Reason = "name_too_long"     // more than MaxNameChars characters after trimming
	ReasonEmailRequired    Reason = "email_required"    // "email" is absent, null, or empty after trimming
	ReasonEmailNotString   Reason = "email_not_string"  // "email" is a number, boolean, array or object
	ReasonEmailTooLong     Reason = "email_too_long"    // more than MaxEmailBytes bytes after trimming
	ReasonEmailInvalid     Reason = "email_invalid"     // not one RFC 5322 addr-spec, or it has a display name, angle brackets or comments
	ReasonEmailControlChar Reason = "email_control_char"
	// "idempotency_key" is optional: absent or null means no key.
	ReasonKeyNotString Reason = "idempotency_key_not_string" // a number, boolean, array or object
	ReasonKeyTooLong   Reason = "idempotency_key_too_long"   // more than MaxIdempotencyKeyBytes bytes
	ReasonKeyInvalid   Reason = "idempotency_key_invalid"    // empty, or a character other than A-Z, a-z, 0-9 and IdempotencyKeyPunctuation
)

var reasons = []Reason{
	ReasonInvalidUTF8, ReasonInvalidJSON, ReasonTrailingData, ReasonNotObject,
	ReasonDuplicateField, ReasonUnknownField,
	ReasonNameRequired, ReasonNameNotString, ReasonNameControlChar, ReasonNameTooLong,
	ReasonEmailRequired, ReasonEmailNotString, ReasonEmailTooLong, ReasonEmailInvalid, ReasonEmailControlChar,
	ReasonKeyNotString, ReasonKeyTooLong, ReasonKeyInvalid,
}

// Reasons lists every Reason Decode can return.
func Reasons() []Reason { return append([]Reason(nil), reasons...) }

// Error is a rejection. Detail is for the person reading the quarantine
// table. It never quotes a name or email value, but it may quote a member
// name the client sent, so logs should carry the Reason only.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("record: %s: %s", e.Reason, e.Detail) }

func reject(r Reason, format string, args ...any) (Record, error) {
	return Record{}, &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Decode parses body and applies every rule. On failure the error is an
// *Error (use errors.As, or ReasonOf). Name and Email of the Record are
// substrings of body when their JSON strings have no escapes: Decode
// copies nothing on the common path.
func Decode(body string) (Record, error) {
	// encoding/json would silently turn invalid bytes into U+FFFD, so the
	// check must come before it.
	if !utf8.ValidString(body) {
		return reject(ReasonInvalidUTF8, "body is not valid UTF-8")
	}
	raw, ok := plainObject(body)
	if !ok {
		var err error
		if raw, err = anyObject(body); err != nil {
			return Record{}, err
		}
	}
	name, err := stringField("name", raw.name, ReasonNameRequired, ReasonNameNotString)
	if err != nil {
		return Record{}, err
	}
	if err := checkName(name); err != nil {
		return Record{}, err
	}
	email, err := stringField("email", raw.email, ReasonEmailRequired, ReasonEmailNotString)
	if err != nil {
		return Record{}, err
	}
	if err := checkEmail(email); err != nil {
		return Record{}, err
	}
	key, err := idempotencyKey(raw.key)
	if err != nil {
		return Record{}, err
	}
	return Record{Name: name, Email: email, IdempotencyKey: key}, nil
}

// members are the raw JSON values of the members Decode reads, "" for an
// absent one.
type members struct{ name, email, key string }

// slot is where the raw value of member key goes, or nil for a member
// Decode does not allow. Names match exactly.
func (m *members) slot(key string) *string {
	switch key {
	case "name":
		return &m.name
	case "email":
		return &m.email
	case "idempotency_key":
		return &m.key
	}
	return nil
}

// ValidIdempotencyKey reports why key cannot be an idempotency key, or
// nil when it can.
func ValidIdempotencyKey(key string) error {
	if key == "" {
		return &Error{Reason: ReasonKeyInvalid, Detail: `"idempotency_key" is empty (leave it out for no key)`}
	}
	if len(key) > MaxIdempotencyKeyBytes {
		return &Error{Reason: ReasonKeyTooLong, Detail: fmt.Sprintf(`"idempotency_key" has %d bytes, at most %d allowed`, len(key), MaxIdempotencyKeyBytes)}
	}
	for i := 0; i < len(key); i++ {
		if !keyChar[key[i]] {
			return &Error{Reason: ReasonKeyInvalid, Detail: fmt.Sprintf(`"idempotency_key" has a character other than A-Z, a-z, 0-9 and %s at byte %d`, IdempotencyKeyPunctuation, i)}
		}
	}
	return nil
}

// keyChar[c] is true for the bytes an idempotency key may contain.
var keyChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = true, true
	}
	for i := 0; i < len(IdempotencyKeyPunctuation); i++ {
		t[IdempotencyKeyPunctuation[i]] = true
	}
	return t
}()

// idempotencyKey returns the key from its raw JSON value: "" when absent or
// null. The value is taken exactly as sent, without trimming: a key is
// compared byte for byte, and white space is not a key character anyway.
func idempotencyKey(raw string) (string, error) {
	if raw == "" || raw == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		return "", &Error{Reason: ReasonKeyNotString, Detail: fmt.Sprintf(`"idempotency_key" must be a JSON string, not a %s`, jsonKind(raw[0]))}
	}
	key := unquote(raw)
	if err := ValidIdempotencyKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// plainObject is the fast path of Decode for the body every well-behaved
// client sends: one JSON object whose members are "name", "email" and
// "idempotency_key", at most once each, with string or null values and
// unescaped member names. It checks that grammar strictly in one pass and
// returns the raw values ("" when absent). For anything else, including every malformed body, it
// returns ok false and Decode takes anyObject, which gives the precise
// reason; FuzzDecode checks that both agree wherever plainObject answers.
// json.Valid alone costs more than the rest of Decode together.
func plainObject(body string) (m members, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return members{}, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return members{}, skipSpace(body, i+1) == len(body)
	}
	for {
		keyEnd, ok := scanString(body, i)
		if !ok {
			return members{}, false
		}
		key := body[i+1 : keyEnd-1]
		i = skipSpace(body, keyEnd)
		if i == len(body) || body[i] != ':' {
			return members{}, false
		}
		i = skipSpace(body, i+1)
		valueEnd, ok := scanString(body, i)
		if !ok {
			if !strings.HasPrefix(body[i:], "null") {
				return members{}, false
			}
			valueEnd = i + len("null")
		}
		slot := m.slot(key)
		if slot == nil { // unknown, or escaped: anyObject tells which
			return members{}, false
		}
		if *slot != "" {
			return members{}, false // a duplicate
		}
		*slot = body[i:valueEnd]
		i = skipSpace(body, valueEnd)
		if i == len(body) {
			return members{}, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			if skipSpace(body, i+1) != len(body) {
				return members{}, false // trailing data
			}
			return m, true
		default:
			return members{}, false
		}
	}
}

// scanString returns the index just past the JSON string that starts at
// body[i], and whether there is a well-formed one there (RFC 8259 §7: no
// unescaped control characters, only the defined escapes). body is valid
// UTF-8, so bytes from 0x80 need no check.
func scanString(body string, i int) (end int, ok bool) {
	if i >= len(body) || body[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(body); {
		switch c := body[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if j+1 == len(body) {
				return 0, false
			}
			switch body[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(body) || !isHex4(body[j+2:j+6]) {
					return 0, false
				}
				j += 6
			default:
				return 0, false
			}
		default:
			j++
		}
	}
	return 0, false
}

func isHex4(s string) bool {
	for i := range 4 {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// anyObject returns the raw values of the members of any body, or the
// error that says why body is not an object Decode can read.
func anyObject(body string) (members, error) {
	if !json.Valid([]byte(body)) {
		return members{}, invalid(body)
	}
	value := strings.Trim(body, jsonSpace)
	if value[0] != '{' {
		return members{}, &Error{Reason: ReasonNotObject, Detail: fmt.Sprintf("body is a JSON %s, not an object", jsonKind(value[0]))}
	}
	return scanMembers(value)
}

// jsonSpace is the white space JSON allows between tokens.
const jsonSpace = " \t\r\n"

// invalid explains why body, which json.Valid refused, is not one JSON
// value: either it is not JSON at all, or a JSON value is followed by
// more data.
func invalid(body string) error {
	dec := json.NewDecoder(strings.NewReader(body))
	var value json.RawMessage
	if err := dec.Decode(&value); err != nil {
		return &Error{Reason: ReasonInvalidJSON, Detail: jsonErrorDetail(err)}
	}
	return &Error{Reason: ReasonTrailingData, Detail: fmt.Sprintf("data after the JSON value at byte %d", dec.InputOffset())}
}

// ReasonOf returns the Reason of a Decode error, or "" if err is not one.
func ReasonOf(err error) Reason {
	var re *Error
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// scanMembers returns the raw values of the members Decode reads ("" when
// absent) from object, which json.Valid has accepted. It scans the members
// itself because json.Unmarshal into a struct or map would match names
// case-insensitively or let a later duplicate win silently, and
// json.Decoder's token API costs more than the rest of Decode together.
func scanMembers(object string) (m members, err error) {
	i := 1 // past the opening brace
	for {
		i = skipSpace(object, i)
		switch object[i] {
		case '}':
			return m, nil
		case ',':
			i = skipSpace(object, i+1)
		}
		keyEnd := stringEnd(object, i)
		key := unquote(object[i:keyEnd])
		i = skipSpace(object, keyEnd) + 1 // past the colon
		i = skipSpace(object, i)
		valueEnd := valueEnd(object, i)
		value := object[i:valueEnd]
		i = valueEnd

		slot := m.slot(key)
		if slot == nil {
			return members{}, &Error{Reason: ReasonUnknownField, Detail: fmt.Sprintf("unknown member %q (allowed: name, email, idempotency_key)", truncate(key, 64))}
		}
		if *slot != "" {
			return members{}, &Error{Reason: ReasonDuplicateField, Detail: fmt.Sprintf("member %q occurs more than once", key)}
		}
		*slot = value
	}
}

func skipSpace(s string, i int) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n': // jsonSpace
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the well-formed string that starts
// at s[i].
func stringEnd(s string, i int) int {
	for j := i + 1; ; j++ {
		switch s[j] {
		case '\\':
			j++ // skip the escaped character
		case '"':
			return j + 1
		}
	}
}

// valueEnd returns the index just past the well-formed value that starts
// at s[i].
func valueEnd(s string, i int) int {
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch s[j] {
			case '"':
				j = stringEnd(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	default: // a number, true, false or null
		j := i
		for j < len(s) && strings.IndexByte(",}] \t\r\n", s[j]) < 0 {
			j++
		}
		return j
	}
}

// unquote returns the value of a well-formed JSON string literal: a
// substring of literal when it has no escapes.
func unquote(literal string) string {
	if strings.IndexByte(literal, '\\') < 0 {
		return literal[1 : len(literal)-1]
	}
	var s string
	_ = json.Unmarshal([]byte(literal), &s) // cannot fail: the literal is well-formed
	return s
}

// stringField returns the trimmed string value of a member from its raw
// JSON value ("" when absent).
func stringField(key, raw string, required, notString Reason) (string, error) {
	if raw == "" || raw == "null" {
		return "", &Error{Reason: required, Detail: fmt.Sprintf("%q is required", key)}
	}
	if raw[0] != '"' {
		return "", &Error{Reason: notString, Detail: fmt.Sprintf("%q must be a JSON string, not a %s", key, jsonKind(raw[0]))}
	}
	s := strings.TrimSpace(unquote(raw))
	if s == "" {
		return "", &Error{Reason: required, Detail: fmt.Sprintf("%q is empty", key)}
	}
	return s, nil
}

func checkName(name string) error {
	// One pass for both rules; a control character is reported first.
	n := 0
	for i, r := range name {
		if unicode.IsControl(r) {
			return &Error{Reason: ReasonNameControlChar, Detail: fmt.Sprintf("name has a control character at byte %d", i)}
		}
		n++
	}
	if n > MaxNameChars {
		return &Error{Reason: ReasonNameTooLong, Detail: fmt.Sprintf("name has %d characters, at most %d allowed", n, MaxNameChars)}
	}
	return nil
}

func checkEmail(email string) error {
	if len(email) > MaxEmailBytes {
		return &Error{Reason: ReasonEmailTooLong, Detail: fmt.Sprintf("email has %d bytes, at most %d allowed", len(email), MaxEmailBytes)}
	}
	if isDotAtomAddress(email) {
		return nil // the common case, without net/mail's allocations
	}
	if i := strings.IndexFunc(email, unicode.IsControl); i >= 0 {
		return &Error{Reason: ReasonEmailControlChar, Detail: fmt.Sprintf("email has a control character at byte %d", i)}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil {
		// net/mail errors name the problem, not the value.
		return &Error{Reason: ReasonEmailInvalid, Detail: "not an RFC 5322 address: " + err.Error()}
	}
	// Requiring the parse to give back the input unchanged rules out
	// display names, angle brackets, comments and quoting that would be
	// stored differently from what the client sent.
	if addr.Name != "" || addr.Address != email {
		return &Error{Reason: ReasonEmailInvalid, Detail: "must be a bare address (local@domain) without display name, angle brackets or comments"}
	}
	return nil
}

// isDotAtomAddress reports whether s is ASCII dot-atom "@" dot-atom
// (RFC 5322 §3.2.3, §3.4.1): a strict subset of what net/mail accepts and
// gives back unchanged, so checkEmail can accept it without parsing.
func isDotAtomAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && isDotAtom(local) && isDotAtom(domain)
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func jsonKind(first byte) string {
	switch first {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// jsonErrorDetail describes a decoding error without quoting the input
// (a SyntaxError message names only the offending character).
func jsonErrorDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	return err.Error()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
