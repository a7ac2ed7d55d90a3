package record

import "testing"

// BenchmarkDecode compares Decode on a typical body with the general path
// alone (json.Valid and the member scan), which Decode took for every body
// before the plainObject fast path.
func BenchmarkDecode(b *testing.B) {
	const body = `{"name":"山田 太郎 12-345","email":"taro.12.345@example.jp"}`
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// DecodeInto is what the consumer calls, into one allocation per batch.
	b.Run("DecodeInto", func(b *testing.B) {
		values := make([]Value, len(table))
		for b.Loop() {
			if _, err := DecodeInto(body, values); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode-with-key", func(b *testing.B) {
		const keyed = `{"name":"山田 太郎 12-345","email":"taro.12.345@example.jp","idempotency_key":"0192d3c4-7e5f-7a1b-9c2d-3e4f5a6b7c8d"}`
		for b.Loop() {
			if _, err := Decode(keyed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general-path", func(b *testing.B) {
		for b.Loop() {
			if _, err := anyObject(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast-path", func(b *testing.B) {
		for b.Loop() {
			if _, ok := plainObject(body); !ok {
				b.Fatal("fast path refused a typical body")
			}
		}
	})
}
