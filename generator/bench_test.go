package generator

import (
	"fmt"
	"path/filepath"
	"testing"
)

func BenchmarkRender(b *testing.B) {
	for b.Loop() {
		if _, err := Render(goldenOptions("postgres")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderAndWrite(b *testing.B) {
	parent := b.TempDir()
	i := 0
	for b.Loop() {
		files, err := Render(goldenOptions("postgres"))
		if err != nil {
			b.Fatal(err)
		}
		i++
		if err := Write(b.Context(), files, filepath.Join(parent, fmt.Sprint("app-", i))); err != nil {
			b.Fatal(err)
		}
	}
}
