package record

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JSON is r as a body that decodes to r: an object with every valid field
// (an optional field without a value is left out) and the key, if any.
func (r Record) JSON() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range table {
		if i >= len(r.Values) || !r.Values[i].Valid {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSONString(&b, table[i].Member)
		b.WriteByte(':')
		v := r.Values[i]
		switch table[i].Kind {
		case Integer:
			b.WriteString(strconv.FormatInt(v.Int, 10))
		case Boolean:
			b.WriteString(strconv.FormatBool(v.Int != 0))
		case Decimal:
			b.WriteString(v.Str)
		case Timestamp:
			writeJSONString(&b, v.Time().Format("2006-01-02T15:04:05.000Z07:00"))
		default:
			writeJSONString(&b, v.Str)
		}
	}
	if r.IdempotencyKey != "" {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSONString(&b, KeyMember)
		b.WriteByte(':')
		writeJSONString(&b, r.IdempotencyKey)
	}
	b.WriteByte('}')
	return b.String()
}

func writeJSONString(b *strings.Builder, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// sampleEpoch is the first sample timestamp.
var sampleEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Sample is the i-th sample record (i ≥ 0): every field set to a valid
// value derived from its kind, limits and check, and tag in every String
// that has no Check (so that a run's records can be told from another's).
// Samples of different i differ in every String and Integer field.
func Sample(i int, tag string) Record {
	values := make([]Value, len(table))
	for k := range table {
		values[k] = table[k].sample(i, tag)
	}
	return Record{Values: values}
}

// SampleBody is the body of n sample records from the i-th on: one object
// when n is 1, else a JSON array of n objects. key, when not nil, gives
// each record's idempotency key.
func SampleBody(i, n int, tag string, key func(int) string) string {
	one := func(j int) string {
		r := Sample(j, tag)
		if key != nil {
			r.IdempotencyKey = key(j)
		}
		return r.JSON()
	}
	if n == 1 {
		return one(i)
	}
	parts := make([]string, n)
	for j := range n {
		parts[j] = one(i + j)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (f *Field) sample(i int, tag string) Value {
	switch f.Kind {
	case Integer:
		if f.Min == 0 && f.Max == 0 {
			return Value{Int: int64(i), Valid: true}
		}
		return Value{Int: f.Min + int64(i)%(f.Max-f.Min+1), Valid: true}
	case Decimal:
		whole := int64(1)
		for range f.Digits - f.Scale {
			whole *= 10
		}
		s := strconv.FormatInt(int64(i)%whole, 10)
		if f.Scale > 0 {
			s += ".5"
		}
		return Value{Str: s, Valid: true}
	case Timestamp:
		return Value{Int: sampleEpoch.Add(time.Duration(i) * time.Second).UnixMilli(), Valid: true}
	case Boolean:
		return Value{Int: int64(i % 2), Valid: true}
	}
	format := f.Sample
	if format == "" && f.Check != nil {
		format = f.Check.Sample
	} else if format == "" {
		format = f.Member + " %d"
	}
	s := fmt.Sprintf(format, i)
	if f.Check == nil && tag != "" {
		s = tag + " " + s
	}
	if f.MaxChars > 0 && len([]rune(s)) > f.MaxChars {
		s = string([]rune(s)[:f.MaxChars])
	}
	if f.MaxBytes > 0 && len(s) > f.MaxBytes {
		s = s[:f.MaxBytes]
	}
	return Value{Str: strings.TrimSpace(s), Valid: true}
}
