package settings

import "fmt"

// Error is one rejected configuration value.
type Error struct {
	Key     string // full key, e.g. "sluice:batchSize"
	Value   string // the value as configured ("" when unset)
	Allowed string // what the key accepts, in words
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s = %q: %s", e.Key, e.Value, e.Allowed)
}

// Problems lists every *Error in err (as returned by Load, LoadConfig or
// LoadFile), in the order they were found.
func Problems(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
