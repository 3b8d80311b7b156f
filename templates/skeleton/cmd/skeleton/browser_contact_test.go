//go:build browser

package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
)

// TestBrowserContactLimit, row 50: a visitor over the contact form's limit who
// sends it through htmx sees why it was refused in the form, where htmx
// would leave a 429 unshown and the button would seem to do nothing.
func TestBrowserContactLimit(t *testing.T) {
	app := startBrowserApp(t, 60*time.Second)
	msg := url.Values{contact.FieldName: {"Ada"}, contact.FieldEmail: {"ada@example.com"}, contact.FieldMessage: {"Hello there, a question about pricing."}}
	for range 5 { // the limit per client address, used up from the browser's address
		postForm(t, app.base+"/contact", msg)
	}
	app.step(t, "fill the contact form",
		chromedp.Navigate(app.base+"/contact"),
		chromedp.WaitVisible("#contact-form"),
		chromedp.SendKeys("#contact-name", "Ada"),
		chromedp.SendKeys("#contact-email", "ada@example.com"),
		chromedp.SendKeys("#contact-message", "Hello again, one more question."),
		chromedp.Click(`#contact-form button[type="submit"]`),
	)
	wait, cancel := context.WithTimeout(app.browser, 10*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(wait, chromedp.WaitVisible(`#contact-form .notification.is-danger`)), "the refused message shows nothing in the form")
	require.Contains(t, app.text(t, "#contact-form .notification.is-danger"), "Too many attempts", "the refusal does not say why")
	require.Equal(t, "Hello again, one more question.", app.value(t, "#contact-message"), "the refusal lost what the visitor typed")
}
