//go:build browser

package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
)

// TestBrowserReloadsOnEdit: with SOURCE_DIR (make dev), the open page
// reloads itself with a template edit; an edit that does not parse shows
// its error at the top of the page, and mending it reloads the page again.
// The time from the save to the new text on screen is logged (the goal is
// 300 ms; timings are never asserted).
func TestBrowserReloadsOnEdit(t *testing.T) {
	dir := t.TempDir()
	for i, src := range []string{"../../internal/views/templates", "../../internal/web/static"} {
		require.NoError(t, os.CopyFS(filepath.Join(dir, config.SourceDirs[i]), os.DirFS(src)))
	}
	app := startBrowserAppWith(t, 60*time.Second, map[string]string{"SOURCE_DIR": dir})
	home := filepath.Join(dir, "internal/views/templates/pages/home.html")
	save := func(change func(string) string) {
		t.Helper()
		body, err := os.ReadFile(home)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(home, []byte(change(string(body))), 0o644))
		later := time.Now().Add(time.Second)
		require.NoError(t, os.Chtimes(home, later, later))
	}
	waitFor := func(what string, action chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(app.browser, 10*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(ctx, action), what)
	}
	// showing waits for the hero title to hold text, across the page's
	// reload (which ends any script running in it, so it is asked again).
	showing := func(what, text string) {
		t.Helper()
		expr := `document.querySelector(".hero-title")?.textContent.includes(` + strconv.Quote(text) + `) === true`
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if ok, err := chromedp.Run(app.browser, chromedp.Evaluate[bool](expr)); err == nil && ok {
				return
			}
		}
		t.Fatalf("%s: the page does not show %q", what, text)
	}
	app.step(t, "open the home page", chromedp.Navigate(app.base+"/"), chromedp.WaitVisible(".hero-title"))
	require.Contains(t, app.text(t, ".hero-title"), "Launch your product")

	saved := time.Now()
	save(func(s string) string { return strings.Replace(s, "Launch your product", "Ship your product", 1) })
	showing("the page reloads with the edit", "Ship your product")
	t.Logf("a template edit was on screen %v after the save", time.Since(saved).Round(time.Millisecond))

	save(func(s string) string { return s + "{{if}}" })
	waitFor("the error shows", chromedp.WaitVisible("#dev-reload-problem"))
	require.Contains(t, app.text(t, "#dev-reload-problem"), "home.html")
	require.Contains(t, app.text(t, ".hero-title"), "Ship your product", "the page keeps the version before")

	save(func(s string) string {
		return strings.Replace(strings.TrimSuffix(s, "{{if}}"), "Ship your product", "Grow your product", 1)
	})
	showing("the mended edit reloads the page", "Grow your product")
	waitFor("the error is gone", chromedp.WaitNotPresent("#dev-reload-problem"))
}
