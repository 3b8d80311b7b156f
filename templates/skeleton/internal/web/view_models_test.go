package web

import (
	"database/sql"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// viewModels gives every page and every fragment a handler renders a value
// of the type its handler passes, filled so that the template's branches
// run. A template field that the type lacks fails the render, so renaming
// a field on either side breaks this test rather than a page in production.
func viewModels() (pages map[string]any, partials map[string]any) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	when := sql.NullTime{Time: at, Valid: true}
	user := accounts.User{ID: "u1", Email: "ada@example.com", Name: "Ada", Role: accounts.RoleAdmin, Active: true,
		EmailVerifiedAt: when, PasswordChangedAt: at, LastLoginAt: when, CreatedAt: at}
	unverified := accounts.User{ID: "u2", Email: "bob@example.com", Name: "Bob", Role: accounts.RoleUser, CreatedAt: at}
	f := form.Form{Action: "/x", Submit: "Go", Error: "wrong", Notice: "note", Hidden: map[string]string{"next": "/y"},
		Fields: []form.Field{emailField("a@example.com", "bad"), newPasswordField("password", "Password", "short"),
			{Name: "message", Label: "Message", Multiline: true, Value: "hi", Help: "help", MaxLength: 10}},
		Checks: []form.Check{{Name: "keep_keys", Label: "Keep", Help: "help", Checked: true}, {Name: "other", Label: "Other"}}}
	links := []link{{"/a", "A"}}
	entries := []audit.Entry{{ID: "a1", At: at, ActorID: "u1", TargetID: "u2", Action: "user.promoted", Detail: "role=admin"}}
	journal := []credits.Entry{{ID: "j1", Kind: credits.Kinds[0], Amount: -2, BalanceAfter: 3, Service: "word-count", Reference: "r", Reason: "why", CreatedAt: at}}
	service := services.Service{Name: "word-count", Description: "Counts words", Cost: 1, Enabled: true}
	cards := []serviceCard{{Service: service, Key: "K"}, {Service: services.Service{Name: "off", Description: "Off"}, Key: "L"}}
	run := services.Run{ID: "r1", Service: "word-count", Status: services.StatusFailed, Cost: 1, Input: map[string]string{"text": "a b"},
		Output: services.Output{"words": 2}, Error: "broke", CreatedAt: at, FinishedAt: at, Balance: 4}
	messages := []contact.Message{{ID: 1, Name: "Ada", Email: "ada@example.com", Body: "Hello", CreatedAt: at}}
	contactProblems := contact.Problems{"name": "required"}
	contactFields := newContactForm(messages[0], contactProblems)
	payment := billing.Payment{Purchase: billing.Purchase{ID: "p1", UserID: "u1", PackageID: "k1", Status: billing.StatusPaid, Credits: 100,
		Amount: 900, Currency: "eur", CheckoutSessionID: "cs_1", PaymentIntentID: "pi_1", AmountRefunded: 300, CreatedAt: at, PaidAt: at},
		Email: "ada@example.com", PackageName: "Starter"}
	pkg := billing.Package{ID: "k1", Name: "Starter", Credits: 100, UnitAmount: 900, Currency: "eur", SortOrder: 1, Active: true,
		StripePriceID: "price_1", StripeProductID: "prod_1"}
	chart := newUsageChart([]credits.DayUsage{{Day: at, Consumed: 3}, {Day: at.AddDate(0, 0, 1)}})
	keys := []apikeys.Key{{ID: "k1", UserID: "u1", Name: "ci", Prefix: "sk_abc", CreatedAt: at, LastUsedAt: at},
		{ID: "k2", UserID: "u1", Name: "old", Prefix: "sk_def", CreatedAt: at, RevokedAt: at}}

	purchase := billing.Purchase{ID: "p1", UserID: "u1", PackageID: "k1", Status: billing.StatusPending, Credits: 250, Amount: 900,
		Currency: "eur", CheckoutSessionID: "cs_1", CreatedAt: at}
	paid := purchase
	paid.Status, paid.PaidAt, paid.PaymentIntentID = billing.StatusPaid, at, "pi_1"

	pages = map[string]any{
		"home":             nil,
		"about":            nil,
		"contact":          contactFields,
		"error":            response.ErrorPage{Status: 404, Heading: "Gone", Message: "It went", RequestID: "req"},
		"accounts/form":    authPage{Heading: "Log in", Lead: "Welcome", Form: f, Links: links},
		"accounts/message": messagePage{Kind: "info", Heading: "Done", Lines: []string{"line"}, Links: links, Form: &f},
		"dashboard/index":  dashboardPage{User: user, Sessions: 2, Credits: creditsCard{Balance: 5, Services: cards, CanBuy: true}, Storage: storageCard{Used: 1, Quota: 2, UsedText: "1 B", QuotaText: "2 B"}},
		"settings/index": settingsPage{User: user, Profile: f, Email: f, Password: f, Delete: f, Fresh: true,
			Sessions: []sessionRow{{Session: sessions.Session{ID: "s1", UserID: "u1", CreatedAt: at, LastSeenAt: at, UserAgent: "Firefox", IP: "192.0.2.1"}, Current: true},
				{Session: sessions.Session{ID: "s2", UserID: "u1", CreatedAt: at, LastSeenAt: at}}}},
		"admin/index": adminDashboard{Counts: accounts.Counts{Total: 2, Active: 1, Unverified: 1, Inactive: 1, Admins: 1},
			Audit: entries, Messages: messages, DevMode: true},
		"admin/users": adminUsers{List: accounts.UserList{Users: []accounts.User{user, unverified}, Total: 60, Page: 2, PerPage: 25},
			Search: "ada", RoleFilter: "admin", State: "active", Prev: "/admin/users?page=1", Next: "/admin/users?page=3"},
		"admin/user":     adminUser{User: unverified, Audit: entries, Self: false, DeleteProblem: "type the address"},
		"admin/messages": adminMessages{Messages: messages},
		"admin/outbox": adminOutbox{Emails: []mail.Queued{
			{ID: 1, Message: mail.Message{To: "ada@example.com", Subject: "Hi", Text: "Body"}, CreatedAt: at, Attempts: 1, NextAttemptAt: at, SentAt: when},
			{ID: 2, Message: mail.Message{To: "bob@example.com", Subject: "Oh"}, CreatedAt: at, Attempts: 3, FailedAt: when, LastError: "refused"}}},
		"credits/index": creditsPage{Balance: 1, Debt: 2, Services: cards, Chart: chart,
			Totals:   []credits.ServiceTotal{{Service: "word-count", Runs: 3, Consumed: 3}},
			Estimate: estimate{Service: "word-count", Runs: 10, Cost: 10, Covered: false, DailyUse: 1, DaysLeft: 1, Requested: true, Problem: "too many"},
			Settings: credits.Settings{LowBalanceThreshold: 5, WeeklySummary: true}, Low: true, Problem: "problem", CanBuy: true},
		"credits/history": historyPage{Filter: credits.Filter{UserID: "u1", Kind: credits.Kinds[0], Service: "word-count"},
			Query: url.Values{"kind": {string(credits.Kinds[0])}}, Entries: journal, Total: 60, Pages: 3, Prev: "/credits/history?page=1",
			Next: "/credits/history?page=3", CSV: "/credits/history.csv?", Kinds: credits.Kinds, Services: []services.Service{service},
			Sorts: credits.Sorts, Problem: "from: bad date", From: "2030-01-01", To: "2030-01-31"},
		"files/index": filesPage{Files: []fileRow{{File: files.File{ID: "f1", Name: "a.png", ContentType: "image/png", Size: 10, CreatedAt: at}, SizeText: "10 B", IsImage: true, HasThumbnail: true}},
			Folders: []string{"Holiday"}, View: "grid", ViewToggle: "/files?view=list", Page: 1, Pages: 2, Total: 30, Used: 10, Quota: 100,
			UsedText: "10 B", QuotaText: "100 B", MaxText: "50 B", Problem: "too big", Deleted: &files.File{ID: "f2", Name: "b.txt"}, Uploaded: &files.File{ID: "f3", Name: "c.txt"},
			NextQuery: "/files?page=2", SortLinks: map[string]string{"name": "/files?sort=name"}},
		"admin/files": adminFilesPage{User: user, Total: 1, Used: "10 B", Files: []fileRow{{File: files.File{ID: "f1", UserID: "u1", Name: "a.png", ContentType: "image/png", Size: 10, Width: 4, Height: 3, SHA256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CreatedAt: at}}}},
		"files/file": filePage{File: fileRow{File: files.File{ID: "f1", Name: "a.png", ContentType: "image/png", Size: 10, Width: 4, Height: 3, CreatedAt: at}, IsImage: true},
			Shares:  []shareRow{{Share: files.Share{ID: "s1", CreatedAt: at, ExpiresAt: at}, Active: true}, {Share: files.Share{ID: "s2", RevokedAt: at}}},
			NewLink: "https://example.com/s/x", Problem: "choose days", MaxDays: 30},
		"credits/keys": keysPage{Keys: keys, Created: &keys[0], Token: "sk_secret", Problem: "give it a name"},
		"credits/admin": adminCreditsPage{Totals: credits.Totals{Owed: 3}, Top: []credits.Consumer{{UserID: "u1", Email: "ada@example.com", Consumed: 9}},
			Services: []credits.ServiceTotal{{Service: "word-count", Runs: 3, Consumed: 3}}, Problems: []credits.Problem{{UserID: "u1", What: "negative"}},
			Checked: true, SinceDays: usageDays},
		"credits/admin_user": adminUserCreditsPage{User: user, Balance: 3, Debt: 4, Entries: journal, Total: 1, Amount: "5", Reason: "gift", Problem: "no"},
		"admin/payments": adminPayments{TestMode: true, List: billing.PaymentList{Payments: []billing.Payment{payment}, Total: 60, Page: 2, PerPage: 25},
			Search: "ada", Status: "paid", Statuses: billing.Statuses, Prev: "/admin/payments?page=1", Next: "/admin/payments?page=3"},
		"admin/packages": adminPackages{Packages: []billing.Package{pkg, {ID: "k2", Name: "Off", Credits: 1, UnitAmount: 800, Currency: "jpy"},
			{ID: "k3", Name: "Unsynced", Credits: 1, UnitAmount: 100, Currency: "usd", Active: true}}, New: packageForm{Problems: []string{"bad"}}},
		"admin/package":   adminPackage{Package: pkg, Form: formOf(pkg)},
		"admin/payment":   adminPayment{Payment: payment, Balance: 0, Debt: 7, Amount: "1.00", Reason: "asked", Problem: "too much"},
		"billing/pricing": pricingPage{Enabled: true, Buy: true, Fake: true, Offers: []packageOffer{{Package: pkg, Price: "9.00 EUR", Key: "K"}}},
		"billing/success": successPage{Purchase: purchase, Price: "9.00 EUR", Outcome: billing.NotPaid, Balance: 5, Unconfirmed: true},
		"billing/cancel":  nil,
		"billing/purchases": purchasesPage{Portal: true, Purchases: []purchaseRow{rowOf(purchase),
			rowOf(billing.Purchase{ID: "p2", Status: billing.StatusFailed, Amount: 500, Currency: "jpy", CreatedAt: at})}},
		"billing/receipt": rowOf(paid),
		"billing/dev_checkout": devCheckoutPage{Price: "9.00 EUR", Session: devcheckout.Session{
			CheckoutSession: billing.CheckoutSession{ID: "cs_fake_1"}, SuccessURL: "/s", CancelURL: "/c", Package: pkg}},
	}
	partials = map[string]any{
		"contact_form":    contactFields,
		"contact_success": messages[0],
		"field_feedback":  contactFields.Fields[0],
		"credits_run_result": runResult{Service: "word-count", Run: run, Problem: "switched off", Balance: 4, NextKey: "N",
			Insufficient: &credits.InsufficientError{Balance: 0, Required: 1}, CanBuy: true},
	}
	return pages, partials
}

func TestEveryPageRendersItsViewModel(t *testing.T) {
	assets, err := static.New()
	require.NoError(t, err)
	renderer, err := views.New(testAppName, assets, clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	require.NoError(t, err)
	pages, partials := viewModels()

	names := renderer.Pages()
	slices.Sort(names)
	var covered []string
	for name := range pages {
		covered = append(covered, name)
	}
	slices.Sort(covered)
	require.Equal(t, names, covered, "every page template needs its view model here, and every view model its page")

	account := &views.Account{Name: "Ada", Email: "ada@example.com", Admin: true}
	for name, data := range pages {
		for _, variant := range []struct {
			label string
			page  views.Page
		}{
			{"filled", views.Page{Title: "T", Description: "D", Path: "/", Flash: &views.Flash{Kind: "info", Message: "M"}, Account: account, Data: data}},
			{"visitor", views.Page{Title: "T", Path: "/", Data: data}},
		} {
			rec := httptest.NewRecorder()
			assert.NoError(t, renderer.Page(rec, 200, name, variant.page), "page %s, %s", name, variant.label)
		}
	}
	for name, data := range partials {
		assert.NoError(t, renderer.Partial(httptest.NewRecorder(), 200, name, data), "partial %s", name)
	}
}
