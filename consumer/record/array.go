package record

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxRecords is the most records one body may carry as a JSON array. With
// the seed's record a typical element is about 60 bytes, so 1000 of them
// stay far below the API's and the queue's size limits, which bound the
// body itself; the count bounds the work of one message.
const MaxRecords = 1000

// Reasons of an array body as a whole; each element is then decoded, and
// quarantined, on its own.
const (
	ReasonEmptyArray     Reason = "empty_array"      // the body is [], which carries no record
	ReasonTooManyRecords Reason = "too_many_records" // an array of more than MaxRecords elements
)

// Split tells a body that is one record from a JSON array of records. For
// a body whose first non-space byte is not '[' it returns array false at
// once (Decode then reads the body as one record). For an array it returns
// its elements as they appear in body (substrings, each one JSON value,
// not yet decoded), or an *Error when the body as a whole is not a usable
// array: invalid UTF-8 or JSON, trailing data, no element, or more than
// MaxRecords.
func Split(body string) (elements []string, array bool, err error) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '[' {
		return nil, false, nil
	}
	if !utf8.ValidString(body) {
		return nil, true, &Error{Reason: ReasonInvalidUTF8, Detail: "body is not valid UTF-8"}
	}
	if !json.Valid([]byte(body)) {
		return nil, true, invalid(body)
	}
	value := strings.TrimRight(body[i:], jsonSpace)
	for j := 1; ; {
		j = skipSpace(value, j)
		switch value[j] {
		case ']':
			if len(elements) == 0 {
				return nil, true, &Error{Reason: ReasonEmptyArray, Detail: "the array has no record"}
			}
			return elements, true, nil
		case ',':
			j = skipSpace(value, j+1)
		}
		end := valueEnd(value, j)
		if len(elements) == MaxRecords {
			return nil, true, &Error{Reason: ReasonTooManyRecords, Detail: fmt.Sprintf("the array has more than %d records", MaxRecords)}
		}
		elements = append(elements, value[j:end])
		j = end
	}
}

// DecodeElement is DecodeInto for an element that Split returned (valid
// UTF-8 already).
func DecodeElement(element string, values []Value) (key string, err error) {
	return decodeValid(element, values)
}
