package appcontract

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// repoRoot is quickscale's repository root, seen from this package.
const repoRoot = "../.."

// skeletonFile reads a file of the skeleton, by its slash-separated path
// in it, and the path to name when it breaks the contract.
func skeletonFile(t *testing.T, rel string) (text, name string) {
	t.Helper()
	return repoFile(t, "templates/skeleton/"+rel)
}

func repoFile(t *testing.T, rel string) (text, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(rel)))
	require.NoError(t, err, "the contract test reads %s", rel)
	return string(data), rel
}

// submatch returns the first group of pattern in text, failing the test
// naming file when it is absent.
func submatch(t *testing.T, text, file, pattern, what string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	require.NotNil(t, m, "%s: found no %s (pattern %s); update appcontract or the skeleton so they agree", file, what, pattern)
	return m[1]
}

func TestHTTPPortIsTheSkeletons(t *testing.T) {
	port := strconv.Itoa(HTTPPort)

	text, file := skeletonFile(t, "internal/config/config.go")
	assert.Equal(t, ":"+port, submatch(t, text, file, `get\("HTTP_ADDR", "([^"]*)"\)`, "HTTP_ADDR default"),
		"%s: HTTP_ADDR's default is not appcontract.HTTPPort", file)

	text, file = skeletonFile(t, "Dockerfile.tmpl")
	assert.Equal(t, ":"+port, submatch(t, text, file, `(?m)^ENV HTTP_ADDR=(\S+)$`, "ENV HTTP_ADDR"),
		"%s: the image's HTTP_ADDR is not appcontract.HTTPPort", file)
	assert.Equal(t, port, submatch(t, text, file, `(?m)^EXPOSE (\S+)$`, "EXPOSE"),
		"%s: the image exposes another port than appcontract.HTTPPort", file)

	text, file = skeletonFile(t, "cmd/skeleton/healthcheck.go")
	assert.Equal(t, ":"+port, submatch(t, text, file, `addr = "([^"]*)"`, "HTTP_ADDR default of healthcheck"),
		"%s: healthcheck's HTTP_ADDR default is not appcontract.HTTPPort", file)

	text, file = skeletonFile(t, "compose.yaml.tmpl")
	published := regexp.MustCompile(`"127\.0\.0\.1:\$\{APP_PORT:-(\d+)\}:(\d+)"`).FindStringSubmatch(text)
	require.NotNil(t, published, "%s: the app's published port is not 127.0.0.1:${APP_PORT:-N}:N", file)
	assert.Equal(t, []string{port, port}, published[1:],
		"%s: compose must publish container port appcontract.HTTPPort, on that host port unless APP_PORT is set", file)
}

// The checks on whole files use assert.True: a failure names the file
// instead of printing all of it.
func TestReadinessPathIsTheSkeletons(t *testing.T) {
	text, file := skeletonFile(t, "internal/web/routes.go")
	assert.True(t, strings.Contains(text, `"GET `+ReadinessPath+`"`), "%s: no route for appcontract.ReadinessPath %s", file, ReadinessPath)

	text, file = skeletonFile(t, "cmd/skeleton/healthcheck.go")
	assert.True(t, strings.Contains(text, `"`+ReadinessPath+`"`), "%s: the healthcheck subcommand does not ask appcontract.ReadinessPath %s", file, ReadinessPath)
}

func TestImageBinaryIsTheSkeletons(t *testing.T) {
	text, file := skeletonFile(t, "Dockerfile.tmpl")
	var instructions []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			instructions = append(instructions, line)
		}
	}
	require.NotEmpty(t, instructions, "%s has no instructions", file)
	assert.Equal(t, "COPY build/app "+ImageBinary, instructions[len(instructions)-1],
		"%s: the last instruction must copy the binary to appcontract.ImageBinary (quickscale build's fast path needs it last)", file)
	assert.Contains(t, instructions, `ENTRYPOINT ["`+ImageBinary+`"]`, "%s: the entrypoint is not appcontract.ImageBinary", file)
	healthcheck := regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["` + regexp.QuoteMeta(ImageBinary) + `", "healthcheck"\]$`)
	assert.True(t, healthcheck.MatchString(text), "%s: the health check does not run appcontract.ImageBinary healthcheck", file)
}

func TestGoToolchainIsTheSkeletons(t *testing.T) {
	version := strings.TrimPrefix(GoToolchain, "go")
	for _, rel := range []string{"templates/skeleton/go.mod", "go.mod"} {
		text, file := repoFile(t, rel)
		mod, err := modfile.ParseLax(file, []byte(text), nil)
		require.NoError(t, err)
		require.NotNil(t, mod.Go, "%s has no go line", file)
		assert.Equal(t, version, mod.Go.Version, "%s: the go line is not appcontract.GoToolchain", file)
	}
	for _, rel := range []string{"templates/skeleton/Makefile.tmpl", "Makefile"} {
		text, file := repoFile(t, rel)
		assert.Equal(t, GoToolchain, submatch(t, text, file, `(?m)^export GOTOOLCHAIN := (\S+)$`, "GOTOOLCHAIN"),
			"%s: GOTOOLCHAIN is not appcontract.GoToolchain", file)
	}
}

func TestVendoredFilesAreTheSkeletons(t *testing.T) {
	dir := "templates/skeleton/" + VendorDir
	des, err := os.ReadDir(filepath.Join(repoRoot, filepath.FromSlash(dir)))
	require.NoError(t, err, "%s is missing; run `make assets`", dir)
	var present []string
	for _, de := range des {
		present = append(present, de.Name())
	}
	want := VendoredFiles()
	slices.Sort(want)
	assert.Equal(t, want, present, "%s does not hold exactly appcontract.VendoredFiles", dir)

	// make assets writes the files; its list must be the same one.
	text, file := repoFile(t, "Makefile")
	list := submatch(t, text, file, `(?m)^ASSETS\s*:= \$\(addprefix \$\(ASSET_DIR\)/,([^)]*)\)$`, "ASSETS list")
	assert.ElementsMatch(t, VendoredFiles(), strings.Fields(list), "%s: ASSETS is not appcontract.VendoredFiles", file)
	assert.Equal(t, "ASSET_DIR := $(SKELETON)/"+VendorDir,
		submatch(t, text, file, `(?m)^(ASSET_DIR\s*:= .*)$`, "ASSET_DIR"), "%s: ASSET_DIR is not appcontract.VendorDir", file)

	// The skeleton's own test holds the app to serving each of them.
	text, file = skeletonFile(t, "internal/web/static/static_test.go")
	for _, name := range ServedVendoredFiles() {
		assert.True(t, strings.Contains(text, `"vendor/`+name+`"`), "%s does not check that %s is served", file, name)
	}
}

func TestServedVendoredFilesLeaveOutTheLicences(t *testing.T) {
	assert.Equal(t, []string{"htmx.min.js", "alpine-csp.min.js", "bulma.min.css"}, ServedVendoredFiles())
}
