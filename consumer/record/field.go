package record

import (
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is the type of a field: what JSON value it takes and what it is
// stored as.
type Kind uint8

// The kinds a submission needs. A String that is not Required is the
// "optional string" of the record's docs.
const (
	// String is a JSON string, trimmed of surrounding Unicode white space
	// (U+3000 included); control characters (Unicode category Cc) are
	// refused. Stored as VARCHAR utf8mb4, byte for byte.
	String Kind = iota + 1
	// Integer is a JSON number without fraction or exponent that fits in
	// int64 and in [Min, Max]. Stored as BIGINT.
	Integer
	// Decimal is a JSON number without exponent, with at most
	// Digits-Scale digits before the point and Scale after it. Stored as
	// DECIMAL(Digits, Scale), exactly (never rounded).
	Decimal
	// Timestamp is a JSON string in RFC 3339 with a time zone offset,
	// stored as DATETIME(3) in UTC, to the millisecond (finer digits are
	// dropped), from year 1000 to 9999 (DATETIME's range).
	Timestamp
	// Boolean is JSON true or false. Stored as BOOLEAN (TINYINT(1)).
	Boolean
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Integer:
		return "integer"
	case Decimal:
		return "decimal"
	case Timestamp:
		return "timestamp"
	case Boolean:
		return "boolean"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Field is one entry of the record's table (fields.go): a JSON member, the
// users column it is stored in, and its rules. A rule that is broken
// quarantines the record with the reason Member + "_" + the violation
// (Field.Reason).
type Field struct {
	Member string // the JSON member, matched exactly and case-sensitively
	Column string // the users column
	Kind   Kind
	// Required: absent, null or (a String) empty after trimming is
	// Member_required. Otherwise such a value is stored as NULL, so an
	// optional field's column must be nullable.
	Required bool

	// String limits; zero means none. MaxChars counts characters (code
	// points, what VARCHAR(n) counts), MaxBytes bytes. Both are checked
	// after trimming. A String needs at least one of them.
	MaxChars, MaxBytes int
	// Check is a named rule a String must also satisfy (EmailAddress,
	// E164, or one made with Pattern), or nil.
	Check *Check

	// Min and Max bound an Integer (both zero: any int64).
	Min, Max int64
	// Digits and Scale are a Decimal's DECIMAL(Digits, Scale).
	Digits, Scale int

	// Sample is a fmt format with one %d verb for a String's sample
	// values (Samples); default Member + " %d", or the Check's own.
	Sample string
}

// Violation names a way a value breaks its field's rules; Field.Reason
// turns it into the quarantine reason.
type Violation string

// The violations, in the order they are checked.
const (
	Required    Violation = "required"     // absent, null or blank, and Required
	NotString   Violation = "not_string"   // String or Timestamp given another JSON type
	NotInteger  Violation = "not_integer"  // Integer given another JSON type, a fraction or an exponent
	NotNumber   Violation = "not_number"   // Decimal given another JSON type
	NotBoolean  Violation = "not_boolean"  // Boolean given another JSON type
	TooLong     Violation = "too_long"     // more than MaxBytes bytes, or more than MaxChars characters
	ControlChar Violation = "control_char" // a control character inside a String
	OutOfRange  Violation = "out_of_range" // outside [Min, Max], too many integer digits, or a year outside 1000–9999
	Invalid     Violation = "invalid"      // the Check fails, not RFC 3339, or a Decimal with an exponent or too many decimals
)

// Reason is the quarantine reason for v.
func (f *Field) Reason(v Violation) Reason { return Reason(f.Member + "_" + string(v)) }

// Violations lists the violations f can give, in the order they are
// checked; the reasons the record can give follow from it.
func (f *Field) Violations() []Violation {
	var out []Violation
	if f.Required {
		out = append(out, Required)
	}
	switch f.Kind {
	case String:
		out = append(out, NotString)
		if f.MaxBytes > 0 {
			out = append(out, TooLong)
		}
		out = append(out, ControlChar)
		if f.MaxChars > 0 && f.MaxBytes == 0 {
			out = append(out, TooLong)
		}
		if f.Check != nil {
			out = append(out, Invalid)
		}
	case Integer:
		out = append(out, NotInteger, OutOfRange)
	case Decimal:
		out = append(out, NotNumber, OutOfRange, Invalid)
	case Timestamp:
		out = append(out, NotString, Invalid, OutOfRange)
	case Boolean:
		out = append(out, NotBoolean)
	}
	return out
}

// Rule describes f's rules in one line, for the docs table.
func (f *Field) Rule() string {
	var parts []string
	switch f.Kind {
	case String:
		if f.MaxChars > 0 {
			parts = append(parts, fmt.Sprintf("at most %d characters", f.MaxChars))
		}
		if f.MaxBytes > 0 {
			parts = append(parts, fmt.Sprintf("at most %d bytes", f.MaxBytes))
		}
		parts = append(parts, "trimmed, no control characters")
		if f.Check != nil {
			parts = append(parts, f.Check.Name+": "+f.Check.Doc)
		}
	case Integer:
		if f.Min != 0 || f.Max != 0 {
			parts = append(parts, fmt.Sprintf("from %d to %d", f.Min, f.Max))
		}
	case Decimal:
		parts = append(parts, fmt.Sprintf("at most %d digits before the point and %d after", f.Digits-f.Scale, f.Scale))
	case Timestamp:
		parts = append(parts, "RFC 3339 with an offset, stored in UTC to the millisecond")
	}
	return strings.Join(parts, "; ")
}

// ColumnType is an SQL type that holds every value f accepts, for its
// migration.
func (f *Field) ColumnType() string {
	null := " NULL"
	if f.Required {
		null = " NOT NULL"
	}
	switch f.Kind {
	case String:
		n := f.MaxChars
		if n == 0 {
			n = f.MaxBytes // a character is at least a byte
		}
		return fmt.Sprintf("VARCHAR(%d)", n) + null
	case Integer:
		return "BIGINT" + null
	case Decimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", f.Digits, f.Scale) + null
	case Timestamp:
		return "DATETIME(3)" + null
	case Boolean:
		return "BOOLEAN" + null
	}
	return ""
}

// Value is the decoded value of one field. Valid is false for an optional
// field that was absent, null or blank: it is stored as NULL.
type Value struct {
	// Str is a String's trimmed text, or a Decimal in its canonical form
	// (no leading zeros, no trailing zeros after the point, no "-0").
	Str string
	// Int is an Integer, a Boolean (1 or 0), or a Timestamp in Unix
	// milliseconds.
	Int   int64
	Valid bool
}

// Time is a Timestamp's value, in UTC.
func (v Value) Time() time.Time { return time.UnixMilli(v.Int).UTC() }

// Arg is v as a database/sql argument for f's column.
func (f *Field) Arg(v Value) any {
	if !v.Valid {
		return nil
	}
	switch f.Kind {
	case Integer:
		return v.Int
	case Boolean:
		return v.Int != 0
	case Timestamp:
		return v.Time()
	}
	return v.Str
}

// LiteralLen bounds the bytes v adds to a statement that the driver
// interpolates: quoted and escaped text, digits, or a DATETIME literal.
func (f *Field) LiteralLen(v Value) int {
	if !v.Valid {
		return len("NULL")
	}
	switch f.Kind {
	case Integer:
		return 20 // len("-9223372036854775808")
	case Boolean:
		return 1
	case Timestamp:
		return TimeLiteralLen
	}
	return StringLiteralLen(v.Str)
}

// TimeLiteralLen is the longest the driver writes a DATETIME value:
// '2006-01-02 15:04:05.999999'.
const TimeLiteralLen = 28

// StringLiteralLen is the length of s as the driver interpolates it: in
// quotes, with a backslash before each of NUL, \n, \r, \, ', " and ^Z.
func StringLiteralLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		n += int(escaped[s[i]])
	}
	return n
}

// escaped[c] is 1 for the bytes StringLiteralLen counts twice. A table
// because this runs over every byte of every row.
var escaped = [256]uint8{0: 1, '\n': 1, '\r': 1, '\\': 1, '\'': 1, '"': 1, 0x1a: 1}

// Equal reports whether a and b are the same stored value of f.
func (f *Field) Equal(a, b Value) bool {
	if a.Valid != b.Valid {
		return false
	}
	return !a.Valid || a.Str == b.Str && a.Int == b.Int
}

// Scanner returns a destination for rows.Scan of f's column and a
// function that gives the scanned Value.
func (f *Field) Scanner() (dest any, value func() (Value, error)) {
	switch f.Kind {
	case Integer, Boolean:
		var n nullInt
		return &n, func() (Value, error) { return Value{Int: n.n, Valid: n.valid}, nil }
	case Timestamp:
		var t nullTime
		return &t, func() (Value, error) {
			return Value{Int: t.t.UnixMilli(), Valid: t.valid}, nil
		}
	case Decimal:
		var s nullString
		return &s, func() (Value, error) {
			if !s.valid {
				return Value{}, nil
			}
			c, ok := canonicalDecimal(s.s)
			if !ok {
				return Value{}, fmt.Errorf("record: column %s holds %q, not a decimal", f.Column, s.s)
			}
			return Value{Str: c, Valid: true}, nil
		}
	}
	var s nullString
	return &s, func() (Value, error) { return Value{Str: s.s, Valid: s.valid}, nil }
}

// The scan destinations, small so that record need not import
// database/sql for its Null types.
type (
	nullString struct {
		s     string
		valid bool
	}
	nullInt struct {
		n     int64
		valid bool
	}
	nullTime struct {
		t     time.Time
		valid bool
	}
)

func (d *nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = nullString{}
	case string:
		*d = nullString{v, true}
	case []byte:
		*d = nullString{string(v), true}
	default:
		return fmt.Errorf("record: cannot scan %T into a string", src)
	}
	return nil
}

func (d *nullInt) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = nullInt{}
	case int64:
		*d = nullInt{v, true}
	case bool:
		*d = nullInt{0, true}
		if v {
			d.n = 1
		}
	case []byte:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("record: cannot scan %q into an integer", v)
		}
		*d = nullInt{n, true}
	default:
		return fmt.Errorf("record: cannot scan %T into an integer", src)
	}
	return nil
}

func (d *nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = nullTime{}
	case time.Time:
		*d = nullTime{v.UTC(), true}
	default:
		return fmt.Errorf("record: cannot scan %T into a time (the connection needs parseTime)", src)
	}
	return nil
}

// decode turns the raw JSON value of f's member ("" when absent) into its
// Value, or the error that quarantines the record.
func (f *Field) decode(raw string) (Value, error) {
	if raw == "" || raw == "null" {
		if f.Required {
			return Value{}, &Error{Reason: f.Reason(Required), Detail: fmt.Sprintf("%q is required", f.Member)}
		}
		return Value{}, nil
	}
	switch f.Kind {
	case String:
		return f.decodeString(raw)
	case Integer:
		return f.decodeInteger(raw)
	case Decimal:
		return f.decodeDecimal(raw)
	case Timestamp:
		return f.decodeTimestamp(raw)
	case Boolean:
		switch raw {
		case "true":
			return Value{Int: 1, Valid: true}, nil
		case "false":
			return Value{Valid: true}, nil
		}
		return Value{}, f.notKind(NotBoolean, raw)
	}
	return Value{}, fmt.Errorf("record: field %q has no kind", f.Member)
}

func (f *Field) notKind(v Violation, raw string) error {
	return &Error{Reason: f.Reason(v), Detail: fmt.Sprintf("%q must be a JSON %s, not a %s", f.Member, jsonName[v], jsonKind(raw[0]))}
}

var jsonName = map[Violation]string{NotString: "string", NotInteger: "integer", NotNumber: "number", NotBoolean: "boolean"}

func (f *Field) decodeString(raw string) (Value, error) {
	if raw[0] != '"' {
		return Value{}, f.notKind(NotString, raw)
	}
	s := strings.TrimSpace(unquote(raw))
	if s == "" {
		if f.Required {
			return Value{}, &Error{Reason: f.Reason(Required), Detail: fmt.Sprintf("%q is empty", f.Member)}
		}
		return Value{}, nil
	}
	if f.MaxBytes > 0 && len(s) > f.MaxBytes {
		return Value{}, &Error{Reason: f.Reason(TooLong), Detail: fmt.Sprintf("%s has %d bytes, at most %d allowed", f.Member, len(s), f.MaxBytes)}
	}
	// One pass for control characters and the character count; a
	// control character is reported first.
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return Value{}, f.controlChar(i)
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsControl(r) {
				return Value{}, f.controlChar(i)
			}
			i += size
		}
		n++
	}
	if f.MaxChars > 0 && n > f.MaxChars {
		return Value{}, &Error{Reason: f.Reason(TooLong), Detail: fmt.Sprintf("%s has %d characters, at most %d allowed", f.Member, n, f.MaxChars)}
	}
	if f.Check != nil {
		if detail := f.Check.Valid(s); detail != "" {
			return Value{}, &Error{Reason: f.Reason(Invalid), Detail: detail}
		}
	}
	return Value{Str: s, Valid: true}, nil
}

func (f *Field) controlChar(i int) error {
	return &Error{Reason: f.Reason(ControlChar), Detail: fmt.Sprintf("%s has a control character at byte %d", f.Member, i)}
}

func (f *Field) decodeInteger(raw string) (Value, error) {
	if !isNumber(raw) {
		return Value{}, f.notKind(NotInteger, raw)
	}
	if strings.ContainsAny(raw, ".eE") {
		return Value{}, &Error{Reason: f.Reason(NotInteger), Detail: fmt.Sprintf("%q must be an integer, without fraction or exponent", f.Member)}
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || (f.Min != 0 || f.Max != 0) && (n < f.Min || n > f.Max) {
		lo, hi := f.Min, f.Max
		if lo == 0 && hi == 0 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		return Value{}, &Error{Reason: f.Reason(OutOfRange), Detail: fmt.Sprintf("%q must be from %d to %d", f.Member, lo, hi)}
	}
	return Value{Int: n, Valid: true}, nil
}

func (f *Field) decodeDecimal(raw string) (Value, error) {
	if !isNumber(raw) {
		return Value{}, f.notKind(NotNumber, raw)
	}
	if strings.ContainsAny(raw, "eE") {
		return Value{}, &Error{Reason: f.Reason(Invalid), Detail: fmt.Sprintf("%q must be written without an exponent", f.Member)}
	}
	c, _ := canonicalDecimal(raw)
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(c, "-"), ".")
	if intPart == "0" {
		intPart = ""
	}
	if len(intPart) > f.Digits-f.Scale {
		return Value{}, &Error{Reason: f.Reason(OutOfRange), Detail: fmt.Sprintf("%q has %d digits before the point, at most %d allowed", f.Member, len(intPart), f.Digits-f.Scale)}
	}
	if len(frac) > f.Scale {
		return Value{}, &Error{Reason: f.Reason(Invalid), Detail: fmt.Sprintf("%q has %d digits after the point, at most %d allowed (it would be rounded)", f.Member, len(frac), f.Scale)}
	}
	return Value{Str: c, Valid: true}, nil
}

// canonicalDecimal writes a plain decimal number (-?digits(.digits)?)
// without leading zeros, trailing zeros after the point, or a minus sign
// on zero, so that "1.50" as sent and "1.500" as read back are equal.
func canonicalDecimal(s string) (string, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || hasPoint && frac == "" {
		return "", false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, true
}

// isNumber reports whether raw, a well-formed JSON value, is a number.
func isNumber(raw string) bool { return raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9' }

func (f *Field) decodeTimestamp(raw string) (Value, error) {
	if raw[0] != '"' {
		return Value{}, f.notKind(NotString, raw)
	}
	t, err := time.Parse(time.RFC3339Nano, unquote(raw))
	if err != nil {
		return Value{}, &Error{Reason: f.Reason(Invalid), Detail: fmt.Sprintf("%q is not an RFC 3339 timestamp with an offset", f.Member)}
	}
	t = t.UTC()
	if t.Year() < 1000 || t.Year() > 9999 {
		return Value{}, &Error{Reason: f.Reason(OutOfRange), Detail: fmt.Sprintf("%q must be from year 1000 to 9999 in UTC", f.Member)}
	}
	return Value{Int: t.UnixMilli(), Valid: true}, nil
}

// Check is a named rule for a String field. Valid returns "" for a good
// value, else a detail for quarantine.detail that never quotes the value.
type Check struct {
	Name   string // e.g. "e-mail address"
	Doc    string // the rule, one line of plain text
	Valid  func(s string) (detail string)
	Sample string // a fmt format with one %d verb for a valid sample value
}

// EmailAddress is exactly one RFC 5322 addr-spec as net/mail reads it,
// and the parse must give back the input unchanged.
var EmailAddress = Check{
	Name: "e-mail address",
	Doc: "one RFC 5322 addr-spec as Go's net/mail.ParseAddress reads it, which the parse gives back unchanged " +
		"(no display name, angle brackets, comments or lists; RFC 6532 local parts accepted)",
	Valid:  validEmail,
	Sample: "sample.%d@example.com",
}

func validEmail(email string) string {
	if isDotAtomAddress(email) {
		return "" // the common case, without net/mail's allocations
	}
	addr, err := mail.ParseAddress(email)
	if err != nil {
		// net/mail errors name the problem, not the value.
		return "not an RFC 5322 address: " + err.Error()
	}
	// Requiring the parse to give back the input unchanged rules out
	// display names, angle brackets, comments and quoting that would be
	// stored differently from what the client sent.
	if addr.Name != "" || addr.Address != email {
		return "must be a bare address (local@domain) without display name, angle brackets or comments"
	}
	return ""
}

// E164 is an international phone number as ITU-T E.164 writes it: "+",
// then a country code that does not start with 0, at most 15 digits in
// all, nothing else (no spaces, dashes or parentheses).
var E164 = Check{
	Name:   "E.164 phone number",
	Doc:    "+ and 2 to 15 digits, the first not 0, nothing else (no spaces, dashes or parentheses)",
	Valid:  validE164,
	Sample: "+8190%08d",
}

func validE164(s string) string {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return "not an E.164 number: want + and 2 to 15 digits, the first not 0"
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Sprintf("not an E.164 number: a character other than a digit at byte %d", i)
		}
	}
	return ""
}

// Pattern is a Check that the whole value matches expr (RE2 syntax);
// name and doc describe it, and sample is a fmt format with one %d verb
// for valid sample values. It panics on a bad expression, at start.
func Pattern(name, expr, doc, sample string) *Check {
	re := regexp.MustCompile(`\A(?:` + expr + `)\z`)
	return &Check{Name: name, Doc: doc, Sample: sample, Valid: func(s string) string {
		if !re.MatchString(s) {
			return "does not match the " + name + " pattern"
		}
		return ""
	}}
}
