// Package record decodes and validates one submission body, the JSON object
// {"name": ..., "email": ...} that a client POSTs to /submit and SQS carries
// to the consumer.
//
// The rules live here and nowhere else; the consumer, the local pipeline
// and the README table all refer to this package. A body either decodes to
// a Record that satisfies every rule, or Decode returns an *Error whose
// Reason is one of the machine-readable values listed by Reasons, which the
// consumer stores in quarantine.reason.
package record

import (
	"bytes"
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
// *Error (use errors.As, or ReasonOf).
func Decode(body []byte) (Record, error) {
	// encoding/json would silently turn invalid bytes into U+FFFD, so the
	// check must come before it.
	if !utf8.Valid(body) {
		return reject(ReasonInvalidUTF8, "body is not valid UTF-8")
	}
	if !json.Valid(body) {
		return Record{}, invalid(body)
	}
	value := bytes.Trim(body, jsonSpace)
	if value[0] != '{' {
		return reject(ReasonNotObject, "body is a JSON %s, not an object", jsonKind(value[0]))
	}
	rawName, rawEmail, err := members(value)
	if err != nil {
		return Record{}, err
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

// jsonSpace is the white space JSON allows between tokens.
const jsonSpace = " \t\r\n"

// invalid explains why body, which json.Valid refused, is not one JSON
// value: either it is not JSON at all, or a JSON value is followed by
// more data.
func invalid(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
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

// members returns the raw values of "name" and "email" (nil when absent)
// from object, which json.Valid has accepted. It scans the members itself
// because json.Unmarshal into a struct or map would match names
// case-insensitively or let a later duplicate win silently, and
// json.Decoder's token API costs more than the rest of Decode together.
func members(object []byte) (name, email []byte, err error) {
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
		key := memberName(object[i:keyEnd])
		i = skipSpace(object, keyEnd) + 1 // past the colon
		i = skipSpace(object, i)
		valueEnd := valueEnd(object, i)
		value := object[i:valueEnd]
		i = valueEnd

		var slot *[]byte
		switch { // string(key) == "…" compares without allocating
		case string(key) == "name":
			slot = &name
		case string(key) == "email":
			slot = &email
		default:
			return nil, nil, &Error{Reason: ReasonUnknownField, Detail: fmt.Sprintf("unknown member %q (allowed: name, email)", truncate(string(key), 64))}
		}
		if *slot != nil {
			return nil, nil, &Error{Reason: ReasonDuplicateField, Detail: fmt.Sprintf("member %q occurs more than once", key)}
		}
		*slot = value
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && strings.IndexByte(jsonSpace, b[i]) >= 0 {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++ // skip the escaped character
		case '"':
			return j + 1
		}
	}
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
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
		for j < len(b) && strings.IndexByte(",}] \t\r\n", b[j]) < 0 {
			j++
		}
		return j
	}
}

// memberName returns the name a well-formed JSON string literal stands
// for, without copying when it has no escapes.
func memberName(literal []byte) []byte {
	if bytes.IndexByte(literal, '\\') < 0 {
		return literal[1 : len(literal)-1]
	}
	return []byte(unquote(literal))
}

// unquote returns the value of a well-formed JSON string literal.
func unquote(literal []byte) string {
	if bytes.IndexByte(literal, '\\') < 0 {
		return string(literal[1 : len(literal)-1])
	}
	var s string
	_ = json.Unmarshal(literal, &s) // cannot fail: json.Valid accepted it
	return s
}

// stringField returns the trimmed string value of a member.
func stringField(key string, raw []byte, required, notString Reason) (string, error) {
	if raw == nil || string(raw) == "null" {
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
