package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/htmx"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The pages of signing up, verifying, signing in and out, and resetting a
// password. Each answer is the same whether or not the address has an
// account; the service equalises the time.

func signupPage(email, name string, problems accounts.Problems) authPage {
	return authPage{
		Heading: "Create your account",
		Lead:    "One email address and a password. We send you a link to confirm the address.",
		Form: form.Form{Action: "/signup", Submit: "Create account", Fields: []form.Field{
			withValidate(emailField(email, problems["email"])),
			withValidate(nameField(name, problems["name"])),
			newPasswordField("password", "Password", problems["password"]),
		}},
		Links: []link{
			{"/login", "Already have an account? Log in"},
		},
	}
}

func withValidate(f form.Field) form.Field {
	f.Validate = "/accounts/validate"
	return f
}

func handleSignupForm(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) != nil {
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return
		}
		p.Page(w, r, http.StatusOK, "accounts/form", views.Page{Title: "Sign up", Data: signupPage("", "", nil)})
	})
}

func handleSignup(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		email, name, password := r.PostForm.Get("email"), r.PostForm.Get("name"), r.PostForm.Get("password")
		err := a.Users.SignUp(r.Context(), email, name, password, clientIP(r, a.trustProxy))
		var problems accounts.Problems
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &limit):
			rateLimited(w, r, p, "Sign up", signupPage(email, name, nil), limit)
		case errors.As(err, &problems):
			p.Page(w, r, http.StatusUnprocessableEntity, "accounts/form", views.Page{Title: "Sign up", Data: signupPage(email, name, problems)})
		case err != nil:
			p.Fail(w, r, err)
		default:
			http.Redirect(w, r, "/signup/done", http.StatusSeeOther)
		}
	})
}

func handleSignupDone(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "accounts/message", views.Page{Title: "Check your inbox", Data: messagePage{
			Kind:    "info",
			Heading: "Check your inbox",
			Lines: []string{
				"We sent a link to the address you entered. Open it to confirm the address and finish creating your account.",
				"The link works for 24 hours. Nothing arrived after a few minutes? Look in your spam folder, or ask for a new link.",
			},
			Links: []link{
				{"/verify/resend", "Send a new link"},
				{"/login", "Log in"},
			},
		}})
	})
}

// handleValidateField checks one field of an account form as the user
// leaves it, for htmx, and answers with the line under the field. It never
// says whether an address has an account.
func handleValidateField(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		name := htmx.TriggerName(r)
		value := r.PostForm.Get(name)
		// Only the field's problem and help are sent back.
		var f form.Field
		switch name {
		case "email":
			f = emailField(value, accounts.CheckEmail(value))
		case "name":
			f = nameField(value, accounts.CheckName(value))
		case "password", "new_password":
			f = newPasswordField(name, "", accounts.CheckPassword(accounts.NormalizePassword(value), r.PostForm.Get("email")))
		default:
			p.Error(w, r, http.StatusBadRequest)
			return
		}
		p.Partial(w, r, http.StatusOK, "field_feedback", f)
	})
}

func verifyMessage(token string) messagePage {
	return messagePage{
		Kind:    "info",
		Heading: "Confirm your email address",
		Lines:   []string{"One click and your address is confirmed. Then log in with the password you chose."},
		Form:    &form.Form{Action: "/verify", Submit: "Confirm my address", Hidden: map[string]string{"token": token}},
	}
}

func invalidLink(resend string) messagePage {
	return messagePage{
		Kind:    "warning",
		Heading: "This link does not work",
		Lines:   []string{"It was already used, has expired, or was replaced by a newer one. Ask for a new link: only the latest works."},
		Links: []link{
			{resend, "Send a new link"},
			{"/login", "Log in"},
		},
	}
}

// handleVerifyLink shows the verification link's page. Opening the link
// changes nothing: mail scanners fetch links, so confirming takes a POST.
func handleVerifyLink(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if err := a.Users.CheckVerifyToken(r.Context(), token); err != nil {
			if !errors.Is(err, accounts.ErrInvalidToken) {
				p.Fail(w, r, err)
				return
			}
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/verify/resend")})
			return
		}
		p.Page(w, r, http.StatusOK, "accounts/message", views.Page{Title: "Confirm your address", Data: verifyMessage(token)})
	})
}

func handleVerify(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		_, err := a.Users.Verify(r.Context(), r.PostForm.Get("token"))
		switch {
		case errors.Is(err, accounts.ErrInvalidToken):
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/verify/resend")})
		case err != nil:
			p.Fail(w, r, err)
		default:
			p.Flash(w, views.Flash{Kind: "success", Message: "Your email address is confirmed. Log in to start."})
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
	})
}

func resendPage(email string) authPage {
	return authPage{
		Heading: "Send a new confirmation link",
		Lead:    "Enter the address you signed up with. If it has an account waiting for confirmation, we send it a new link.",
		Form:    form.Form{Action: "/verify/resend", Submit: "Send link", Fields: []form.Field{emailField(email, "")}},
		Links: []link{
			{"/login", "Log in"},
			{"/signup", "Create an account"},
		},
	}
}

func handleResendForm(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "accounts/form", views.Page{Title: "New confirmation link", Data: resendPage("")})
	})
}

func handleResend(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		email := r.PostForm.Get("email")
		err := a.Users.ResendVerification(r.Context(), email, clientIP(r, a.trustProxy))
		var problems accounts.Problems
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &problems):
			ap := resendPage(email)
			ap.Form.Fields[0].Problem = problems["email"]
			p.Page(w, r, http.StatusUnprocessableEntity, "accounts/form", views.Page{Title: "New confirmation link", Data: ap})
		case errors.As(err, &limit):
			rateLimited(w, r, p, "New confirmation link", resendPage(email), limit)
		case err != nil:
			p.Fail(w, r, err)
		default:
			http.Redirect(w, r, "/signup/done", http.StatusSeeOther)
		}
	})
}

func loginPage(email, next, problem string) authPage {
	ap := authPage{
		Heading: "Log in",
		Lead:    "Welcome back.",
		Form: form.Form{Action: "/login", Submit: "Log in", Error: problem, Fields: []form.Field{
			emailField(email, ""),
			currentPasswordField("password", "Password", ""),
		}},
		Links: []link{
			{"/password/reset", "Forgot your password?"},
			{"/signup", "No account yet? Sign up"},
			{"/verify/resend", "Resend the confirmation link"},
		},
	}
	if next != "" {
		ap.Form.Hidden = map[string]string{"next": next}
	}
	return ap
}

func handleLoginForm(p *response.Pages) http.Handler {
	page := func(next string) views.Page { return views.Page{Title: "Log in", Data: loginPage("", next, "")} }
	// The form most visitors get: nothing to carry to the next page.
	plain := p.Fixed("/login", "accounts/form", page(""))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := r.URL.Query().Get("next")
		switch {
		case currentUser(r) != nil:
			http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
		case next == "":
			plain.Serve(w, r, http.StatusOK)
		default:
			p.Page(w, r, http.StatusOK, "accounts/form", page(next))
		}
	})
}

const loginFailed = "The email address or password is not correct."

// handleLogin signs a user in. The accounts decide what a failure counts
// against and when to refuse even the right password; this page only
// words the outcome.
func handleLogin(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		email, password, next := r.PostForm.Get("email"), r.PostForm.Get("password"), r.PostForm.Get("next")
		var token string
		_, err := a.Users.Login(r.Context(), email, password, clientIP(r, a.trustProxy), a.signIn(r, &token))
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &limit):
			rateLimited(w, r, p, "Log in", loginPage(email, next, ""), limit)
		case errors.Is(err, accounts.ErrInvalidCredentials):
			p.Page(w, r, http.StatusUnauthorized, "accounts/form", views.Page{Title: "Log in", Data: loginPage(email, next, loginFailed)})
		case errors.Is(err, accounts.ErrInactive):
			p.Page(w, r, http.StatusForbidden, "accounts/form", views.Page{Title: "Log in",
				Data: loginPage(email, next, "This account is deactivated. Contact us if you think this is a mistake.")})
		case errors.Is(err, accounts.ErrNotVerified):
			p.Page(w, r, http.StatusForbidden, "accounts/message", views.Page{Title: "Confirm your address", Data: messagePage{
				Kind:    "warning",
				Heading: "Confirm your email address first",
				Lines:   []string{"Your account is waiting for its address to be confirmed. We have sent you a link (at most one every three minutes); open it, then log in."},
				Links: []link{
					{"/verify/resend", "Send a new link"},
				},
			}})
		case err != nil:
			p.Fail(w, r, err)
		default:
			a.setCookie(w, token)
			http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
		}
	})
}

func handleLogout(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pr := principalFrom(r.Context()); pr != nil {
			if err := a.Sessions.End(r.Context(), pr.session.ID); err != nil {
				p.Fail(w, r, err)
				return
			}
			a.logger.InfoContext(r.Context(), "logout", "user_id", pr.user.ID)
		}
		a.clearCookie(w)
		p.Flash(w, views.Flash{Kind: "info", Message: "You are logged out."})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

func resetPage(email string) authPage {
	return authPage{
		Heading: "Reset your password",
		Lead:    "Enter your account's email address and we send you a link to choose a new password.",
		Form:    form.Form{Action: "/password/reset", Submit: "Send reset link", Fields: []form.Field{emailField(email, "")}},
		Links: []link{
			{"/login", "Back to log in"},
		},
	}
}

func handleResetForm(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "accounts/form", views.Page{Title: "Reset password", Data: resetPage("")})
	})
}

func handleReset(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		email := r.PostForm.Get("email")
		err := a.Users.RequestReset(r.Context(), email, clientIP(r, a.trustProxy))
		var problems accounts.Problems
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &problems):
			ap := resetPage(email)
			ap.Form.Fields[0].Problem = problems["email"]
			p.Page(w, r, http.StatusUnprocessableEntity, "accounts/form", views.Page{Title: "Reset password", Data: ap})
			return
		case errors.As(err, &limit):
			rateLimited(w, r, p, "Reset password", resetPage(email), limit)
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		p.Page(w, r, http.StatusOK, "accounts/message", views.Page{Title: "Check your inbox", Data: messagePage{
			Kind:    "info",
			Heading: "Check your inbox",
			Lines: []string{
				"If an account uses that address, we have sent it a link to choose a new password. The link works for one hour.",
				"Nothing arrived? Look in your spam folder, check the address, or ask again: only the latest link works.",
			},
			Links: []link{
				{"/login", "Back to log in"},
			},
		}})
	})
}

// resetConfirmPage offers to keep the API keys, unticked: a reset is what
// someone does who lost the password, or lost control of the account, and
// keys made by whoever had it must not outlive it. A user who only forgot
// the password ticks the box, and their programs keep running. Revoking
// unless asked also makes a form sent without the field (an old page, a
// script) the safe case.
func resetConfirmPage(token, problem string, keepKeys bool) authPage {
	return authPage{
		Heading: "Choose a new password",
		Lead:    "Every session of your account is signed out once the password is changed, and its API keys are revoked unless you keep them.",
		Form: form.Form{Action: "/password/reset/confirm", Submit: "Set new password", Hidden: map[string]string{"token": token},
			Fields: []form.Field{newPasswordField("password", "New password", problem)},
			Checks: []form.Check{{Name: "keep_keys", Label: "Keep my API keys working", Checked: keepKeys,
				Help: "Leave this unticked if someone else may have used your account: programs using its keys are cut off."}}},
	}
}

func handleResetConfirmForm(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if err := a.Users.CheckResetToken(r.Context(), token); err != nil {
			if !errors.Is(err, accounts.ErrInvalidToken) {
				p.Fail(w, r, err)
				return
			}
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/password/reset")})
			return
		}
		p.Page(w, r, http.StatusOK, "accounts/form", views.Page{Title: "New password", Data: resetConfirmPage(token, "", false)})
	})
}

func handleResetConfirm(p *response.Pages, a *auth, c *Credits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		token := r.PostForm.Get("token")
		keepKeys := r.PostForm.Get("keep_keys") != ""
		var revoked int64
		u, err := a.Users.ResetPassword(r.Context(), token, r.PostForm.Get("password"), func(ctx context.Context, tx *database.Tx, u accounts.User) error {
			if keepKeys {
				return nil
			}
			var err error
			revoked, err = c.Keys.RevokeAll(ctx, tx, u.ID)
			return err
		})
		var problems accounts.Problems
		switch {
		case errors.As(err, &problems):
			p.Page(w, r, http.StatusUnprocessableEntity, "accounts/form", views.Page{Title: "New password", Data: resetConfirmPage(token, problems["password"], keepKeys)})
			return
		case errors.Is(err, accounts.ErrInvalidToken):
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/password/reset")})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if err := a.Sessions.EndAll(r.Context(), u.ID); err != nil {
			p.Fail(w, r, err)
			return
		}
		a.clearCookie(w)
		message := "Your password is changed and every session is signed out. Log in with the new password."
		switch {
		case revoked == 1:
			message = "Your password is changed, every session is signed out and your API key is revoked. Log in with the new password."
		case revoked > 1:
			message = fmt.Sprintf("Your password is changed, every session is signed out and your %d API keys are revoked. Log in with the new password.", revoked)
		}
		p.Flash(w, views.Flash{Kind: "success", Message: message})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

func handleEmailConfirmLink(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if err := a.Users.CheckEmailChangeToken(r.Context(), token); err != nil {
			if !errors.Is(err, accounts.ErrInvalidToken) {
				p.Fail(w, r, err)
				return
			}
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/settings")})
			return
		}
		p.Page(w, r, http.StatusOK, "accounts/message", views.Page{Title: "Confirm your new address", Data: messagePage{
			Kind:    "info",
			Heading: "Confirm your new email address",
			Lines:   []string{"Once confirmed, this address is the one you log in with; the old one stops working."},
			Form:    &form.Form{Action: "/email/confirm", Submit: "Confirm my new address", Hidden: map[string]string{"token": token}},
		}})
	})
}

func handleEmailConfirm(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		u, err := a.Users.ConfirmEmailChange(r.Context(), r.PostForm.Get("token"))
		switch {
		case errors.Is(err, accounts.ErrInvalidToken):
			p.Page(w, r, http.StatusBadRequest, "accounts/message", views.Page{Title: "Link not valid", Data: invalidLink("/settings")})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		// The new address ends the account's sessions (User.State), except
		// this one when it is the account's own: the owner stays signed in
		// where the change was confirmed.
		target := "/login"
		if pr := principalFrom(r.Context()); pr != nil && pr.user.ID == u.ID {
			if !a.renewed(w, r, p, pr, u, false) {
				return
			}
			target = "/settings"
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "Your new email address is confirmed."})
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

func reauthPage(next, problem string) authPage {
	return authPage{
		Heading: "Confirm it is you",
		Lead:    "Enter your password again to continue. We ask before changes to your email, password or account.",
		Form: form.Form{Action: "/reauthenticate", Submit: "Continue", Error: problem, Hidden: map[string]string{"next": next},
			Fields: []form.Field{currentPasswordField("password", "Password", "")}},
	}
}

func handleReauthForm(p *response.Pages) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Page(w, r, http.StatusOK, "accounts/form", views.Page{Title: "Confirm it is you", Data: reauthPage(r.URL.Query().Get("next"), "")})
	})
}

// handleReauth checks the password of the signed-in user and renews the
// session's token and authentication time.
func handleReauth(p *response.Pages, a *auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		pr := principalFrom(r.Context())
		next := r.PostForm.Get("next")
		err := a.Users.Reauthenticate(r.Context(), pr.user, r.PostForm.Get("password"))
		var limit *accounts.LimitedError
		switch {
		case errors.As(err, &limit):
			rateLimited(w, r, p, "Confirm it is you", reauthPage(next, ""), limit)
			return
		case errors.Is(err, accounts.ErrInvalidCredentials):
			p.Page(w, r, http.StatusUnauthorized, "accounts/form", views.Page{Title: "Confirm it is you", Data: reauthPage(next, "That is not your password.")})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		if !a.renewed(w, r, p, pr, pr.user, true) {
			return
		}
		target := safeNext(next)
		if target == "/" {
			target = "/settings"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}
