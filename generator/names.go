package generator

// reservedNames maps names that pass the syntax rules but would break or
// confuse the generated project to the reason shown to the user. The name is
// the binary (cmd/<name>), and the last element of the default module path,
// which Go tools take as the package's name.
var reservedNames = func() map[string]string {
	m := map[string]string{
		"main":     "Go reserves the package name main for programs, and a program cannot be imported",
		"vendor":   "the go tool treats directories named vendor specially and skips them in ./... patterns, so cmd/vendor would never be built or tested",
		"testdata": "the go tool ignores directories named testdata, so cmd/testdata would never be built or tested",
		"internal": "the go tool restricts imports of directories named internal, which makes cmd/internal and the module's own packages confusing to reference",
		"test":     "a binary named test shadows the shell's test command once installed",
		"go":       "go is a Go keyword, and a binary named go shadows the Go tool once installed",
	}
	for _, k := range goKeywords {
		if _, ok := m[k]; !ok {
			m[k] = k + " is a Go keyword, and no Go code can refer to a package of that name"
		}
	}
	for _, p := range goPredeclared {
		m[p] = p + " is a predeclared Go identifier, and a package of that name hides it in every file that imports the package"
	}
	for _, p := range stdPackages {
		if _, ok := m[p]; !ok {
			m[p] = p + " is the name of a Go standard-library package, and a package of the same name collides with it in files that import both"
		}
	}
	return m
}()

var goKeywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type",
	"var",
}

var goPredeclared = []string{
	"any", "bool", "byte", "comparable", "complex64", "complex128", "error",
	"float32", "float64", "int", "int8", "int16", "int32", "int64", "rune",
	"string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
	"true", "false", "iota", "nil",
	"append", "cap", "clear", "close", "complex", "copy", "delete", "imag",
	"len", "make", "max", "min", "new", "panic", "print", "println", "real",
	"recover",
}

// stdPackages holds the names of standard-library packages a Go web service
// such as the generated one commonly imports. The list is deliberately short:
// it covers the names that would actually collide in the generated code,
// without forbidding ordinary words like "mail" or "image".
var stdPackages = []string{
	"atomic", "base64", "bufio", "bytes", "cmp", "context", "crypto", "embed",
	"errors", "filepath", "flag", "fmt", "fs", "hex", "hmac", "html", "http",
	"httptest", "io", "json", "log", "maps", "math", "mime", "net", "os",
	"path", "rand", "reflect", "regexp", "runtime", "sha256", "signal",
	"slices", "slog", "sort", "sql", "strconv", "strings", "subtle", "sync",
	"syscall", "template", "testing", "time", "unicode", "url", "utf8",
}
