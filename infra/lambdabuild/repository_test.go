package lambdabuild

import (
	"context"
	"testing"
)

// The repository's own Lambdas build reproducibly: two builds of each into
// different directories give identical archives.
func TestBuildRepositoryLambdas(t *testing.T) {
	for _, pkg := range []string{"./consumer/cmd/consumer", "./migrations/cmd/migrator"} {
		t.Run(pkg, func(t *testing.T) {
			var hashes []string
			for range 2 {
				a, err := Build(context.Background(), Options{Package: pkg, OutDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, a.SourceCodeHash)
			}
			if hashes[0] != hashes[1] {
				t.Fatalf("two builds of %s differ: %s vs %s", pkg, hashes[0], hashes[1])
			}
			t.Logf("%s sourceCodeHash %s", pkg, hashes[0])
		})
	}
}
