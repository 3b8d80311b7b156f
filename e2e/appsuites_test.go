package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGeneratedBrowserAndMailSuites runs the generated project's suites that
// need outside programs: the headless Chromium walks (build tag browser) and
// the SMTP backend against a real Mailpit. REQUIRE_BROWSER and
// REQUIRE_MAILPIT turn a missing Chromium or Mailpit into a failure, so
// neither suite can pass by skipping.
//
// The Go code of a project is the same for both presets (the preset only
// chooses .env and compose.yaml), so one preset covers it.
func TestGeneratedBrowserAndMailSuites(t *testing.T) {
	mailpit := toolPath(t, "mailpit")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/install-deps (apt-get install chromium)")
	}
	dir := initProject(t, "sqlite")

	t.Run("browser", func(t *testing.T) {
		out := runCmd(t, dir, []string{"REQUIRE_BROWSER=1", "CHROMIUM_BIN=" + chromium},
			"go", "test", "-v", "-tags", "browser", "-count=1", "-run", "^TestBrowser", "./cmd/...")
		requirePassed(t, out, "TestBrowserSignUpToLogout", "TestBrowserCredits")
	})
	t.Run("smtp", func(t *testing.T) {
		out := runCmd(t, dir, []string{"REQUIRE_MAILPIT=1", "MAILPIT_BIN=" + mailpit},
			"go", "test", "-v", "-count=1", "-run", "^TestSMTP", "./internal/mail")
		requirePassed(t, out, "TestSMTPDeliveryThroughAnOutage")
	})
}

// requirePassed fails unless go test -v reported each named test as passed:
// a renamed test would otherwise leave -run matching nothing, and the run
// would pass having tested nothing.
func requirePassed(t *testing.T, out string, tests ...string) {
	t.Helper()
	for _, name := range tests {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not run and pass:\n%s", name, out)
		}
	}
}
