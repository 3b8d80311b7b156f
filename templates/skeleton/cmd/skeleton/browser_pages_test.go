//go:build browser

package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
)

// The roles a page is seen as. A page open to the public is walked as all
// three, a signed-in page as user and admin, an admin page as admin.
const (
	visitor = "visitor"
	user    = "user"
	admin   = "admin"
)

// rolesFor maps an access class of the route table (the identifier in
// internal/web/routes.go) to the roles that see the page.
var rolesFor = map[string][]string{
	"public":    {visitor, user, admin},
	"signedIn":  {user, admin},
	"adminOnly": {admin},
	"shareLink": {visitor, user, admin},
}

// pageVisit is one state of a page: name (for the subtest and the
// screenshot files) and the path to open, in which {user}, {package},
// {verify} and {reset} stand for the demo user's id, a demo credit
// package's id and live verification and reset tokens.
type pageVisit struct {
	name string
	path string
}

// pageVisits says how to open each GET route of the route table. A route
// that renders HTML and is missing here fails
// TestBrowserPages/every_route_is_walked, so a new page cannot escape the
// walk.
var pageVisits = map[string][]pageVisit{
	"GET /{$}":                      {{"home", "/"}},
	"GET /about":                    {{"about", "/about"}},
	"GET /contact":                  {{"contact", "/contact"}},
	"GET /signup":                   {{"signup", "/signup"}},
	"GET /signup/done":              {{"signup-done", "/signup/done"}},
	"GET /verify":                   {{"verify", "/verify?token={verify}"}, {"verify-invalid", "/verify?token=not-a-token"}},
	"GET /verify/resend":            {{"verify-resend", "/verify/resend"}},
	"GET /login":                    {{"login", "/login"}},
	"GET /password/reset":           {{"reset", "/password/reset"}},
	"GET /password/reset/confirm":   {{"reset-confirm", "/password/reset/confirm?token={reset}"}, {"reset-invalid", "/password/reset/confirm?token=not-a-token"}},
	"GET /email/confirm":            {{"email-confirm-invalid", "/email/confirm?token=not-a-token"}},
	"GET /dashboard":                {{"dashboard", "/dashboard"}},
	"GET /reauthenticate":           {{"reauthenticate", "/reauthenticate"}},
	"GET /settings":                 {{"settings", "/settings"}},
	"GET /settings/api-keys":        {{"api-keys", "/settings/api-keys"}},
	"GET /credits":                  {{"credits", "/credits"}},
	"GET /credits/history":          {{"credits-history", "/credits/history"}},
	"GET /admin":                    {{"admin", "/admin"}},
	"GET /admin/users":              {{"admin-users", "/admin/users"}},
	"GET /admin/users/{id}":         {{"admin-user", "/admin/users/{user}"}},
	"GET /admin/messages":           {{"admin-messages", "/admin/messages"}},
	"GET /admin/outbox":             {{"admin-outbox", "/admin/outbox"}},
	"GET /admin/credits":            {{"admin-credits", "/admin/credits"}},
	"GET /admin/users/{id}/credits": {{"admin-user-credits", "/admin/users/{user}/credits"}},
	// The walk runs with STRIPE_FAKE=true; TestBrowserBilling walks these
	// pages with a purchase made.
	"GET /pricing":                   {{"pricing", "/pricing"}},
	"GET /credits/buy":               {{"buy", "/credits/buy"}},
	"GET /credits/purchases":         {{"purchases", "/credits/purchases"}},
	"GET /credits/purchases/cancel":  {{"checkout-cancelled", "/credits/purchases/cancel"}},
	"GET /credits/purchases/success": {{"checkout-success-unknown", "/credits/purchases/success?session_id=cs_fake_unknown"}},
	"GET /credits/purchases/{id}":    {{"receipt-unknown", "/credits/purchases/unknown"}},
	"GET /dev/checkout/{id}":         {{"dev-checkout-unknown", "/dev/checkout/cs_fake_unknown"}},
	// Payments are on through the fake (STRIPE_FAKE): the list is empty
	// until a purchase is made, which TestBrowserBilling makes.
	"GET /admin/payments":         {{"admin-payments", "/admin/payments"}},
	"GET /admin/payments/{id}":    {{"admin-payment-unknown", "/admin/payments/unknown"}},
	"GET /admin/packages":         {{"admin-packages", "/admin/packages"}},
	"GET /admin/packages/{id}":    {{"admin-package", "/admin/packages/{package}"}},
	"GET /files":                  {{"files", "/files"}, {"files-grid", "/files?view=grid"}},
	"GET /admin/users/{id}/files": {{"admin-user-files", "/admin/users/{user}/files"}},
	// A file of one's own is walked by TestBrowserFiles; here the page
	// that answers for another's, or none.
	"GET /files/{id}": {{"file-missing", "/files/NOSUCHFILEAAAAAAAAAAAAAA"}},
	"GET /s/{token}":  {{"share-invalid", "/s/not-a-token"}},
	// The catch-all route: the styled 404 page.
	"/": {{"not-found", "/no-such-page"}},
}

// visitorsOnly are the visits whose page sends a signed-in user on to the
// dashboard, which is walked on its own.
var visitorsOnly = map[string]bool{"login": true, "signup": true}

// notPages are the GET routes that answer with something other than an
// HTML page; every route under /api/ answers in JSON.
var notPages = map[string]string{
	"GET /credits/history.csv":  "a CSV download",
	"GET /files/{id}/download":  "a file's contents",
	"GET /files/{id}/thumbnail": "an image",
	"GET /files/{id}/preview":   "an image",
	"GET /static/{path...}":     "static files",
	"GET /livez":                "a plain-text probe",
	"GET /dev/reload":           "an event stream, served with SOURCE_DIR only",
	"GET /readyz":               "a plain-text probe",
}

// deniedVisits are pages a role reaches without the right to see them.
var deniedVisits = map[string][]pageVisit{
	user: {{"forbidden", "/admin"}},
}

// pageState is a state a page reaches only through the browser: act runs
// once the page has loaded. A state with widths is checked at those only.
type pageState struct {
	role, name, path string
	widths           []int64
	act              []chromedp.Action[chromedp.Void]
}

// pageStates are the problems a form shows, a result htmx swaps in, a flash
// message and the menu of a small screen, opened.
var pageStates = []pageState{
	{role: visitor, name: "signup-problems", path: "/signup", act: []chromedp.Action[chromedp.Void]{
		chromedp.Click(`form[action="/signup"] button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(`#field-email[aria-invalid="true"]`)),
	}},
	{role: visitor, name: "login-failed", path: "/login", act: []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys("#field-email", "nobody@example.com"),
		chromedp.SendKeys("#field-password", "not the password at all"),
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(".account-form .notification.is-danger")),
	}},
	{role: visitor, name: "contact-problems", path: "/contact", act: []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys("#contact-email", "not-an-address"+kb.Tab),
		chromedp.WaitVisible(chromedp.CSS("#contact-email-feedback .is-danger")),
	}},
	{role: user, name: "dashboard-run-result", path: "/dashboard", act: []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys("#text-slugify", "Hello, small world"),
		chromedp.Click(`form[action="/credits/services/slugify/runs"] button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS("#run-result-slugify .run-output")),
	}},
	{role: user, name: "settings-saved", path: "/settings", act: []chromedp.Action[chromedp.Void]{
		chromedp.Click(`form[action="/settings/profile"] button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(".flash-container")),
	}},
	{role: visitor, name: "menu-open", path: "/", widths: []int64{375}, act: openMenu},
	{role: user, name: "menu-open", path: "/", widths: []int64{375}, act: openMenu},
	{role: admin, name: "menu-open", path: "/", widths: []int64{375}, act: openMenu},
}

// openMenu unfolds the navigation behind the burger of a small screen.
var openMenu = []chromedp.Action[chromedp.Void]{
	chromedp.Click(chromedp.CSS(".navbar-burger")),
	chromedp.WaitVisible(chromedp.CSS("#main-menu")),
}

// viewportWidths are a desktop (the window's own) and a small phone.
var viewportWidths = []int64{windowWidth, 375}

// TestBrowserPages opens every page of the app as visitor, user and admin,
// and the states of pageStates, at 1280 and 375 px, and checks each with
// axe-core (no serious or critical violation) and for layout faults: text
// drawn over other text, a table wider than its card, anything sticking
// out of the page. Each is screenshotted into SCREENSHOT_DIR (default: a
// temporary directory) to be looked at.
func TestBrowserPages(t *testing.T) {
	all := getRoutes(t)
	routes := map[string]string{} // the pages: pattern → access class
	for pattern, class := range all {
		if _, skip := notPages[pattern]; !skip && !strings.HasPrefix(strings.TrimPrefix(pattern, "GET "), "/api/") {
			routes[pattern] = class
		}
	}
	t.Run("every route is walked", func(t *testing.T) {
		for pattern := range notPages {
			assert.Contains(t, all, pattern, "notPages names %q, which is not in the route table", pattern)
		}
		for pattern, class := range routes {
			assert.Contains(t, rolesFor, class, "route %q has access class %q, which this test does not know", pattern, class)
			assert.Contains(t, pageVisits, pattern, "route %q renders a page: add it to pageVisits (or to notPages if it does not render HTML)", pattern)
		}
		for pattern := range pageVisits {
			assert.Contains(t, all, pattern, "pageVisits names %q, which is not in the route table", pattern)
		}
	})

	axe, axeMissing := axeCore(t)
	shots := os.Getenv("SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	t.Logf("screenshots in %s", shots)

	const longAddress = "grace.brewster.murray.hopper.of.the.navy@example.com"
	// About a minute here; the race detector slows logins (argon2) a lot.
	app := startBrowserAppWith(t, 10*time.Minute, map[string]string{"STRIPE_FAKE": "true"},
		"seed-demo",
		"credits grant --email "+demoUserEmail+" --amount 25 --expires 720h --reason welcome",
		"credits adjust --email "+demoUserEmail+" --amount -3 --reason correction",
		"apikey create --email "+demoUserEmail+" --name laptop",
	)
	// Rows for the admin lists, and live tokens, through the forms a
	// program posts (no browser headers, so cross-origin protection lets
	// them through).
	postForm(t, app.base+"/signup", url.Values{"email": {longAddress}, "name": {"Grace Brewster Murray Hopper"}, "password": {"a long enough passphrase"}})
	postForm(t, app.base+"/password/reset", url.Values{"email": {demoUserEmail}})
	postForm(t, app.base+"/contact", url.Values{contact.FieldName: {"Ada"}, contact.FieldEmail: {"ada@example.com"}, contact.FieldMessage: {"Hello there, a question about pricing."}})
	tokenOf := func(link string) string {
		u, err := url.Parse(link)
		require.NoError(t, err)
		return u.Query().Get("token")
	}
	placeholders := strings.NewReplacer(
		"{user}", app.userID(t, demoUserEmail),
		"{package}", app.demoPackageID(t),
		"{verify}", tokenOf(mailedLink(t, app.mailDir, app.base, "/verify")),
		"{reset}", tokenOf(mailedLink(t, app.mailDir, app.base, "/password/reset/confirm")),
	)

	for _, role := range []string{visitor, user, admin} {
		switch role {
		case user:
			app.logIn(t, demoUserEmail, demoPassword)
		case admin:
			app.logOut(t)
			app.logIn(t, demoAdminEmail, demoPassword)
		}
		var states []pageState
		for _, v := range deniedVisits[role] {
			states = append(states, pageState{role: role, name: v.name, path: v.path})
		}
		for pattern, access := range routes {
			if !slices.Contains(rolesFor[access], role) {
				continue
			}
			for _, v := range pageVisits[pattern] {
				if role == visitor || !visitorsOnly[v.name] {
					states = append(states, pageState{role: role, name: v.name, path: v.path})
				}
			}
		}
		slices.SortFunc(states, func(a, b pageState) int { return strings.Compare(a.name, b.name) })
		for _, s := range pageStates {
			if s.role == role {
				states = append(states, s)
			}
		}
		for _, s := range states {
			t.Run(role+"/"+s.name, func(t *testing.T) {
				// Back to the window's own size, where the navigation the
				// next steps use is not folded behind the burger.
				t.Cleanup(func() {
					assert.NoError(t, chromedp.Do(app.browser, chromedp.EmulateViewport(windowWidth, windowHeight)))
				})
				path := placeholders.Replace(s.path)
				widths := s.widths
				if widths == nil {
					widths = viewportWidths
				}
				for _, width := range widths {
					where := fmt.Sprintf("%s (%s) as %s at %d px", path, s.name, role, width)
					// Loaded at each width, so that a state reached by
					// clicking is reached at that width.
					app.step(t, "open "+where, chromedp.EmulateViewport(width, windowHeight),
						chromedp.Navigate(app.base+path), chromedp.WaitVisible(chromedp.CSS("main")))
					loc, err := chromedp.Run(app.browser, chromedp.Location())
					require.NoError(t, err)
					require.Equal(t, app.base+path, loc, "opening %s was redirected", where)
					app.step(t, "reach "+where, s.act...)
					if axe != "" {
						app.step(t, "load axe-core", chromedp.Evaluate[chromedp.Void](axe))
						checkAccessibility(t, app, where)
					}
					checkLayout(t, app, where)
					screenshot(t, app, filepath.Join(shots, fmt.Sprintf("%s-%s-%d.png", role, s.name, width)))
				}
			})
		}
	}
	if axeMissing != "" {
		t.Skip(axeMissing)
	}
}

// axeCore reads axe-core's browser bundle from AXE_CORE_JS. Without it the
// layout checks still run, and the test ends skipped with the way to get
// axe-core; REQUIRE_BROWSER=1 makes that a failure.
func axeCore(t *testing.T) (source, missing string) {
	t.Helper()
	const how = "the accessibility scan needs axe-core: set AXE_CORE_JS to its axe.min.js " +
		"(npm install --prefix ~/.cache/axe-core axe-core@4.14.1 puts it in ~/.cache/axe-core/node_modules/axe-core/axe.min.js; " +
		"in a quickscale checkout `make assets` puts it in frontend/node_modules/axe-core/axe.min.js); see SECURITY.md"
	path := os.Getenv("AXE_CORE_JS")
	if path == "" {
		if os.Getenv("REQUIRE_BROWSER") == "1" {
			require.FailNow(t, "REQUIRE_BROWSER=1: "+how)
		}
		t.Log("skipping the scan: " + how)
		return "", how
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err, "AXE_CORE_JS: %s", how)
	return string(b), ""
}

// axeViolation is the part of an axe-core result a failure message needs.
type axeViolation struct {
	ID      string     `json:"id"`
	Impact  string     `json:"impact"`
	Help    string     `json:"help"`
	HelpURL string     `json:"helpUrl"`
	Targets [][]string `json:"targets"`
}

// axeRun runs every default rule on the whole page. The script is
// evaluated through the DevTools protocol, which the page's Content
// Security Policy does not govern.
const axeRun = `axe.run(document).then(r => ({
	checked: [...r.passes, ...r.violations, ...r.incomplete].reduce((n, rule) => n + rule.nodes.length, 0),
	violations: r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
		targets: v.nodes.map(n => n.target.map(String)),
	})),
}))`

func checkAccessibility(t *testing.T, app *browserApp, where string) {
	t.Helper()
	result, err := chromedp.Run(app.browser, chromedp.Evaluate[struct {
		Checked    int            `json:"checked"`
		Violations []axeViolation `json:"violations"`
	}](axeRun, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "axe-core on %s", where)
	require.Positive(t, result.Checked, "axe-core checked no element of %s: the scan did not run", where)
	for _, v := range result.Violations {
		msg := fmt.Sprintf("%s: axe-core %s (%s): %s; %s; elements: %v", where, v.ID, v.Impact, v.Help, v.HelpURL, v.Targets)
		if v.Impact == "serious" || v.Impact == "critical" {
			assert.Fail(t, msg)
		} else {
			t.Log(msg)
		}
	}
}

// layoutProblems finds, in the page as drawn: pairs of text boxes (the
// client rects of non-blank text nodes, cut to their scrolling or clipping
// ancestors, invisible ones left out) that cover each other; tables (or
// the scrolling .table-container around one) wider than the card, box,
// column or container holding them; and elements reaching past the right
// edge of the page where their parent does not (the origin of a sideways
// scroll), text boxes reaching past it, or a page wider than the window.
const layoutProblems = `(() => {
	const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + [...el.classList].map(c => '.' + c).join('');
	const quote = s => '"' + s.trim().replace(/\s+/g, ' ').slice(0, 40) + '"';
	const clip = (rect, el) => {
		let r = {left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom};
		for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
			const s = getComputedStyle(a);
			if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
			const b = a.getBoundingClientRect();
			r = {left: Math.max(r.left, b.left), top: Math.max(r.top, b.top), right: Math.min(r.right, b.right), bottom: Math.min(r.bottom, b.bottom)};
			if (r.right - r.left < 1 || r.bottom - r.top < 1) return null;
		}
		return r;
	};
	const shown = el => el.checkVisibility({opacityProperty: true, visibilityProperty: true});

	const boxes = [];
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let node; (node = walker.nextNode());) {
		const el = node.parentElement;
		if (!node.data.trim() || !shown(el)) continue;
		const range = document.createRange();
		range.selectNodeContents(node);
		for (const rect of range.getClientRects()) {
			const r = rect.width >= 1 && rect.height >= 1 && clip(rect, el);
			if (r) boxes.push({node, el, r});
		}
	}
	boxes.sort((a, b) => a.r.top - b.r.top);
	const overlaps = [];
	for (let i = 0; i < boxes.length && overlaps.length < 10; i++) {
		const a = boxes[i];
		for (let j = i + 1; j < boxes.length && boxes[j].r.top < a.r.bottom; j++) {
			const b = boxes[j];
			if (a.node === b.node) continue;
			const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
			const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
			const lower = Math.min(a.r.bottom - a.r.top, b.r.bottom - b.r.top);
			// Line boxes of tight headings touch by a pixel or two.
			if (w > 2 && h > Math.max(2, lower / 4)) {
				overlaps.push(describe(a.el) + ' ' + quote(a.node.data) + ' covers ' + describe(b.el) + ' ' + quote(b.node.data));
			}
		}
	}

	const tables = [];
	for (const table of document.querySelectorAll('table')) {
		if (!shown(table)) continue;
		const container = table.closest('.table-container');
		const scrolls = container && ['auto', 'scroll'].includes(getComputedStyle(container).overflowX);
		const outer = scrolls ? container : table;
		const holder = outer.parentElement.closest('.card, .box, .column, .container');
		const bound = holder ? holder.getBoundingClientRect() : {left: 0, right: document.documentElement.clientWidth};
		const r = outer.getBoundingClientRect();
		if (r.left < bound.left - 1 || r.right > bound.right + 1) {
			tables.push(describe(outer) + ' spans ' + Math.round(r.left) + '–' + Math.round(r.right) + ' px, ' +
				(holder ? describe(holder) : 'the page') + ' ' + Math.round(bound.left) + '–' + Math.round(bound.right) + ' px');
		}
	}

	const page = document.documentElement.clientWidth;
	const sticking = [];
	for (const el of document.body.querySelectorAll('*')) {
		if (sticking.length >= 10 || !shown(el)) continue;
		const r = el.getBoundingClientRect();
		const inside = clip(r, el.parentElement);
		if (!inside || inside.right <= page + 1) continue;
		const parent = el.parentElement.getBoundingClientRect();
		if (parent.right <= page + 1) sticking.push(describe(el) + ' reaches ' + Math.round(r.right) + ' px');
	}
	for (const b of boxes) {
		if (sticking.length < 10 && b.r.right > page + 1) sticking.push(describe(b.el) + ' ' + quote(b.node.data) + ' reaches ' + Math.round(b.r.right) + ' px');
	}
	// What escapes a scrolling container without showing (an absolutely
	// positioned child) still widens the page.
	const wide = document.documentElement.scrollWidth;
	if (wide > page + 1) sticking.push('the page is ' + wide + ' px wide');
	return {overlaps, tables, sticking, page};
})()`

func checkLayout(t *testing.T, app *browserApp, where string) {
	t.Helper()
	found, err := chromedp.Run(app.browser, chromedp.Evaluate[struct {
		Overlaps []string `json:"overlaps"`
		Tables   []string `json:"tables"`
		Sticking []string `json:"sticking"`
		Page     int      `json:"page"`
	}](layoutProblems))
	require.NoError(t, err, "layout check of %s", where)
	assert.Empty(t, found.Overlaps, "%s: text over other text", where)
	assert.Empty(t, found.Tables, "%s: a table wider than its card", where)
	assert.Empty(t, found.Sticking, "%s: elements past the right edge of the %d px page", where, found.Page)
}

// screenshot writes a PNG of the whole page, below the fold included.
func screenshot(t *testing.T, app *browserApp, path string) {
	t.Helper()
	png, err := chromedp.Run(app.browser, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", path)
	require.NoError(t, os.WriteFile(path, png, 0o644))
}

func postForm(t *testing.T, target string, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(target, form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 400, "POST %s", target)
}

// getRoutes reads the route table from internal/web's source: each
// element {"METHOD /pattern", accessClass, handler} whose method is GET
// or absent (any method). It maps each pattern to its access class.
func getRoutes(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join("..", "..", "internal", "web")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	routes := map[string]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || len(lit.Elts) != 3 {
				return true
			}
			first, ok := lit.Elts[0].(*ast.BasicLit)
			class, isIdent := lit.Elts[1].(*ast.Ident)
			if !ok || first.Kind != token.STRING || !isIdent {
				return true
			}
			pattern, err := strconv.Unquote(first.Value)
			if err != nil {
				return true
			}
			method, path, hasMethod := strings.Cut(pattern, " ")
			if !hasMethod {
				method, path = "", pattern
			}
			if !strings.HasPrefix(path, "/") || (method != "" && method != http.MethodGet) {
				return true
			}
			routes[pattern] = class.Name
			return true
		})
	}
	require.NotEmpty(t, routes, "found no route table in %s: has it moved?", dir)
	return routes
}
