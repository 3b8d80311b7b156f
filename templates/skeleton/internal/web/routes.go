package web

import (
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
)

// access says who may call a route. Every route declares one, so the whole
// attack surface reads from the table below.
type access string

const (
	public    access = "public" // anyone
	signedIn  access = "user"   // a signed-in user; others are sent to log in
	adminOnly access = "admin"  // an admin; other users get 403
	apiClient access = "apikey" // a program with an API key; others get a JSON 401
	// Stripe, proven by the Stripe-Signature header over the raw body,
	// which the handler verifies before reading anything; others get 400.
	// Such a route is exempt from cross-origin protection, as the
	// signature, not a browser's cookies, is what authenticates it.
	stripeSigned access = "stripe-signature"
	// Whoever holds a share link, proven by its token in the path; any
	// other request to it gets 403. The logs show such a path as its
	// pattern: the token is a secret.
	shareLink access = "share-link"
)

// guard wraps h in the check its access class requires.
func (s *server) guard(a access, h http.Handler) http.Handler {
	switch a {
	case public:
		return h
	case signedIn:
		return requireUser(h)
	case adminOnly:
		return requireAdmin(s.pages, h)
	case apiClient:
		return s.api.RequireKey(h)
	case stripeSigned, shareLink:
		return h
	}
	panic("web: route with unknown access class " + string(a))
}

type route struct {
	pattern string
	access  access
	// handler is nil for a route whose feature is off: it is not served.
	handler http.Handler
}

// routes lists every route the application serves.
func (s *server) routes() []route {
	p, a, c := s.pages, s.auth, &s.Credits
	canBuy := s.Billing != nil
	return []route{
		{"GET /{$}", public, handleHome(p)},
		{"GET /about", public, handleAbout(p)},
		{"GET /pricing", public, handlePricing(p, s.Billing, s.DevCheckout != nil, false)},
		{"GET /contact", public, handleContactForm(p)},
		{"POST /contact", public, handleContactSubmit(s.Logger, p, s.Contacts, s.Limiter, s.Config.TrustProxyHeaders)},
		{"POST /contact/validate", public, handleContactValidate(p)},

		{"GET /signup", public, handleSignupForm(p)},
		{"POST /signup", public, handleSignup(p, a)},
		{"GET /signup/done", public, handleSignupDone(p)},
		{"POST /accounts/validate", public, handleValidateField(p)},
		{"GET /verify", public, handleVerifyLink(p, a)},
		{"POST /verify", public, handleVerify(p, a)},
		{"GET /verify/resend", public, handleResendForm(p)},
		{"POST /verify/resend", public, handleResend(p, a)},
		{"GET /login", public, handleLoginForm(p)},
		{"POST /login", public, handleLogin(p, a)},
		{"POST /logout", public, handleLogout(p, a)},
		{"GET /password/reset", public, handleResetForm(p)},
		{"POST /password/reset", public, handleReset(p, a)},
		{"GET /password/reset/confirm", public, handleResetConfirmForm(p, a)},
		{"POST /password/reset/confirm", public, handleResetConfirm(p, a, c)},
		{"GET /email/confirm", public, handleEmailConfirmLink(p, a)},
		{"POST /email/confirm", public, handleEmailConfirm(p, a)},

		{"GET /dashboard", signedIn, handleDashboard(p, a, c, canBuy, s.Files)},
		{"GET /reauthenticate", signedIn, handleReauthForm(p)},
		{"POST /reauthenticate", signedIn, handleReauth(p, a)},
		{"GET /settings", signedIn, handleSettings(p, a)},
		{"POST /settings/profile", signedIn, handleProfile(p, a)},
		{"POST /settings/email", signedIn, handleEmailChange(p, a)},
		{"POST /settings/password", signedIn, handlePasswordChange(p, a)},
		{"POST /settings/sessions", signedIn, handleEndSessions(p, a)},
		{"POST /settings/delete", signedIn, handleDeleteAccount(p, a)},
		{"GET /settings/api-keys", signedIn, handleAPIKeys(p, c)},
		{"POST /settings/api-keys", signedIn, handleAPIKeyCreate(p, a, c)},
		{"POST /settings/api-keys/{id}/revoke", signedIn, handleAPIKeyRevoke(p, c)},

		{"GET /credits", signedIn, handleCredits(p, c, s.Clock, canBuy)},
		{"POST /credits/services/{name}/runs", signedIn, handleCreditsRun(p, c, canBuy)},
		{"GET /credits/history", signedIn, handleCreditsHistory(p, c)},
		{"GET /credits/history.csv", signedIn, handleCreditsCSV(s.Logger, p, c)},
		{"POST /credits/notices", signedIn, handleCreditNotices(p, c)},

		// Buying credits: the buy page is served with payments off too,
		// to say so; the rest only when they are on.
		{"GET /credits/buy", signedIn, handlePricing(p, s.Billing, s.DevCheckout != nil, true)},
		{"POST /credits/buy/{id}", signedIn, s.paying(s.buy)},
		{"GET /credits/purchases/success", signedIn, s.paying(s.success)},
		{"GET /credits/purchases/cancel", signedIn, handleCheckoutCancelled(p)},
		{"GET /credits/purchases", signedIn, s.paying(s.purchases)},
		{"GET /credits/purchases/{id}", signedIn, s.paying(s.receipt)},
		{"POST /credits/portal", signedIn, s.paying(s.portal)},
		// Development only, with STRIPE_FAKE=true: the fake checkout's
		// pay page. Absent in production (configuration refuses the fake).
		{"GET /dev/checkout/{id}", signedIn, s.devCheckout()},
		{"POST /dev/checkout/{id}/pay", signedIn, s.devCheckoutPay()},
		// Development with SOURCE_DIR only: open pages wait here for a
		// change of the templates or static files.
		{"GET /dev/reload", public, s.devReload()},
		{"GET /files", signedIn, handleFiles(p, s.Files)},
		{"POST /files", signedIn, handleFileUpload(p, s.Files)},
		{"GET /files/{id}", signedIn, handleFile(p, s.Files, s.Clock)},
		{"GET /files/{id}/download", signedIn, handleFileDownload(p, s.Files)},
		{"GET /files/{id}/thumbnail", signedIn, handleFileImage(p, s.Files, files.Thumbnail)},
		{"GET /files/{id}/preview", signedIn, handleFileImage(p, s.Files, preview)},
		{"POST /files/{id}/shares", signedIn, handleShareCreate(p, s.Files, s.Clock, s.Config.BaseURL)},
		{"POST /files/{id}/shares/{share}/revoke", signedIn, handleShareRevoke(p, s.Files)},
		// A share link: whoever holds it may download the one file.
		{"GET /s/{token}", shareLink, handleSharedFile(p, s.Files)},
		{"POST /files/{id}/rename", signedIn, handleFileEdit(p, s.Files, renameFile)},
		{"POST /files/{id}/move", signedIn, handleFileEdit(p, s.Files, moveFile)},
		{"POST /files/{id}/delete", signedIn, handleFileDelete(p, s.Files)},
		{"POST /files/{id}/restore", signedIn, handleFileRestore(p, s.Files)},

		{"GET /admin", adminOnly, handleAdminDashboard(p, a)},
		{"GET /admin/users", adminOnly, handleAdminUsers(p, a)},
		{"GET /admin/users/{id}", adminOnly, handleAdminUser(p, a)},
		{"POST /admin/users/{id}/active", adminOnly, handleAdminSetActive(p, a)},
		{"POST /admin/users/{id}/role", adminOnly, handleAdminSetRole(p, a)},
		{"POST /admin/users/{id}/delete", adminOnly, handleAdminDelete(p, a)},
		{"GET /admin/messages", adminOnly, handleAdminMessages(p, a)},
		{"GET /admin/outbox", adminOnly, handleAdminOutbox(p, a)},
		{"GET /admin/credits", adminOnly, handleAdminCredits(p, c, s.Clock)},
		{"GET /admin/users/{id}/credits", adminOnly, handleAdminUserCredits(p, a, c)},
		{"POST /admin/users/{id}/credits", adminOnly, handleAdminAdjustCredits(p, a, c)},
		// Payments: with payments off the list says what to configure,
		// and the rest is not served.
		{"GET /admin/payments", adminOnly, handleAdminPayments(p, s.Billing, s.Config.StripeTestMode)},
		{"GET /admin/payments/{id}", adminOnly, s.billingAdmin(handleAdminPayment(p, c))},
		{"POST /admin/payments/{id}/refund", adminOnly, s.billingAdmin(handleAdminRefund(p, a, c))},
		{"GET /admin/packages", adminOnly, s.billingAdmin(handleAdminPackages(p))},
		{"POST /admin/packages", adminOnly, s.billingAdmin(handleAdminPackageCreate(p, a))},
		{"GET /admin/packages/{id}", adminOnly, s.billingAdmin(handleAdminPackage(p))},
		{"POST /admin/packages/{id}", adminOnly, s.billingAdmin(handleAdminPackageUpdate(p, a))},
		{"GET /admin/users/{id}/files", adminOnly, handleAdminUserFiles(p, a, s.Files)},
		{"POST /admin/users/{id}/files/{file}/delete", adminOnly, handleAdminFileDelete(p, s.Files)},

		// Served only when payments are on (STRIPE_ENABLED=true). Exempt
		// from cross-origin protection only because the signature over
		// the body authenticates every delivery.
		{"POST /stripe/webhook", stripeSigned, s.stripeWebhook()},

		{"GET /api/v1/openapi.json", public, api.OpenAPI()},
		{"GET /api/v1/balance", apiClient, s.api.Balance()},
		{"GET /api/v1/services", apiClient, s.api.Services()},
		{"POST /api/v1/services/{name}/runs", apiClient, s.api.Run()},
		{"GET /api/v1/runs/{id}", apiClient, s.api.RunByID()},
		{"GET /api/v1/journal", apiClient, s.api.Journal()},
		{"GET /api/v1/files", apiClient, s.api.ListFiles()},
		{"POST /api/v1/files", apiClient, s.api.UploadFile()},
		{"GET /api/v1/files/{id}/content", apiClient, s.api.FileContent()},
		{"DELETE /api/v1/files/{id}", apiClient, s.api.DeleteFile()},
		{"POST /api/v1/uploads", apiClient, s.api.BeginUpload()},
		{"POST /api/v1/uploads/{id}/complete", apiClient, s.api.CompleteUpload()},
		// Unknown API paths answer in JSON, as the API does.
		{"/api/", public, api.NotFound()},

		{"GET /static/{path...}", public, s.Assets.Handler(handleNotFound(p))},

		{"GET /livez", public, health.HandleLivez()},
		{"GET /readyz", public, s.Health.HandleReadyz()},

		// Everything else, whatever the method: the styled 404 page.
		{"/", public, handleNotFound(p)},
	}
}
