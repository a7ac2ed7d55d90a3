package record

import "testing"

func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"name":"山田 太郎 12-345","email":"taro.12.345@example.jp"}`)
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
