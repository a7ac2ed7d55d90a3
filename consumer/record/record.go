// Package record decodes and validates one submission body, the JSON object
// {"name": ..., "email": ...} that a client POSTs to /submit and SQS carries
// to the consumer.
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

// Record is a validated submission. Name is trimmed of surrounding
// Unicode white space; Email is the bare addr-spec.
type Record struct {
	Name  string `json:"name"`
	Email string `json:"email"`
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
	ReasonUnknownField     Reason = "unknown_field"     // a member other than "name" and "email" (names match exactly, case-sensitively)
	ReasonNameRequired     Reason = "name_required"     // "name" is absent, null, or empty after trimming
	ReasonNameNotString    Reason = "name_not_string"   // "name" is a number, boolean, array or object
	ReasonNameControlChar  Reason = "name_control_char" // "name" contains a control character (Unicode category Cc)
	ReasonNameTooLong      Reason = "name_too_long"     // more than MaxNameChars characters after trimming
	ReasonEmailRequired    Reason = "email_required"    // "email" is absent, null, or empty after trimming
	ReasonEmailNotString   Reason = "email_not_string"  // "email" is a number, boolean, array or object
	ReasonEmailTooLong     Reason = "email_too_long"    // more than MaxEmailBytes bytes after trimming
	ReasonEmailInvalid     Reason = "email_invalid"     // not one RFC 5322 addr-spec, or it has a display name, angle brackets or comments
	ReasonEmailControlChar Reason = "email_control_char"
)

var reasons = []Reason{
	ReasonInvalidUTF8, ReasonInvalidJSON, ReasonTrailingData, ReasonNotObject,
	ReasonDuplicateField, ReasonUnknownField,
	ReasonNameRequired, ReasonNameNotString, ReasonNameControlChar, ReasonNameTooLong,
	ReasonEmailRequired, ReasonEmailNotString, ReasonEmailTooLong, ReasonEmailInvalid, ReasonEmailControlChar,
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
	rawName, rawEmail, ok := plainObject(body)
	if !ok {
		var err error
		if rawName, rawEmail, err = anyObject(body); err != nil {
			return Record{}, err
		}
	}
	name, err := stringField("name", rawName, ReasonNameRequired, ReasonNameNotString)
	if err != nil {
		return Record{}, err
	}
	if err := checkName(name); err != nil {
		return Record{}, err
	}
	email, err := stringField("email", rawEmail, ReasonEmailRequired, ReasonEmailNotString)
	if err != nil {
		return Record{}, err
	}
	if err := checkEmail(email); err != nil {
		return Record{}, err
	}
	return Record{Name: name, Email: email}, nil
}

// plainObject is the fast path of Decode for the body every well-behaved
// client sends: one JSON object whose members are "name" and "email", at
// most once each, with string or null values and unescaped member names.
// It checks that grammar strictly in one pass and returns the raw values
// ("" when absent). For anything else, including every malformed body, it
// returns ok false and Decode takes anyObject, which gives the precise
// reason; FuzzDecode checks that both agree wherever plainObject answers.
// json.Valid alone costs more than the rest of Decode together.
func plainObject(body string) (name, email string, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return "", "", false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return "", "", skipSpace(body, i+1) == len(body)
	}
	for {
		keyEnd, ok := scanString(body, i)
		if !ok {
			return "", "", false
		}
		key := body[i+1 : keyEnd-1]
		i = skipSpace(body, keyEnd)
		if i == len(body) || body[i] != ':' {
			return "", "", false
		}
		i = skipSpace(body, i+1)
		valueEnd, ok := scanString(body, i)
		if !ok {
			if !strings.HasPrefix(body[i:], "null") {
				return "", "", false
			}
			valueEnd = i + len("null")
		}
		slot := memberSlot(key, &name, &email)
		if slot == nil { // unknown, or escaped: anyObject tells which
			return "", "", false
		}
		if *slot != "" {
			return "", "", false // a duplicate
		}
		*slot = body[i:valueEnd]
		i = skipSpace(body, valueEnd)
		if i == len(body) {
			return "", "", false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			if skipSpace(body, i+1) != len(body) {
				return "", "", false // trailing data
			}
			return name, email, true
		default:
			return "", "", false
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

// anyObject returns the raw values of "name" and "email" of any body, or
// the error that says why body is not an object Decode can read.
func anyObject(body string) (name, email string, err error) {
	if !json.Valid([]byte(body)) {
		return "", "", invalid(body)
	}
	value := strings.Trim(body, jsonSpace)
	if value[0] != '{' {
		return "", "", &Error{Reason: ReasonNotObject, Detail: fmt.Sprintf("body is a JSON %s, not an object", jsonKind(value[0]))}
	}
	return members(value)
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

// members returns the raw values of "name" and "email" ("" when absent)
// from object, which json.Valid has accepted. It scans the members itself
// because json.Unmarshal into a struct or map would match names
// case-insensitively or let a later duplicate win silently, and
// json.Decoder's token API costs more than the rest of Decode together.
func members(object string) (name, email string, err error) {
	i := 1 // past the opening brace
	for {
		i = skipSpace(object, i)
		switch object[i] {
		case '}':
			return name, email, nil
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

		slot := memberSlot(key, &name, &email)
		if slot == nil {
			return "", "", &Error{Reason: ReasonUnknownField, Detail: fmt.Sprintf("unknown member %q (allowed: name, email)", truncate(key, 64))}
		}
		if *slot != "" {
			return "", "", &Error{Reason: ReasonDuplicateField, Detail: fmt.Sprintf("member %q occurs more than once", key)}
		}
		*slot = value
	}
}

// memberSlot is where the raw value of member key goes: name, email, or
// nil for a member Decode does not allow. Names match exactly.
func memberSlot(key string, name, email *string) *string {
	switch key {
	case "name":
		return name
	case "email":
		return email
	}
	return nil
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
