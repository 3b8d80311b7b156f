package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templateFiles embed.FS

// Templates are the email templates. They live here, not with the page
// templates, because email clients need inline styles that the site's
// Content Security Policy forbids on pages.
func Templates() fs.FS {
	sub, _ := fs.Sub(templateFiles, "templates") // embedded: cannot fail
	return sub
}

// Data is what an email template receives.
type Data struct {
	AppName string // set by the composer
	BaseURL string // set by the composer
	Name    string // the recipient's display name; empty greets no one by name
	Link    string // the action the email offers, if any
	Email   string // the address the email is about, when not the recipient's
	Expires string // how long Link works, in words
	// Lines are facts the email lists, one a line (credit notices).
	Lines []string
}

// Composer renders the email templates: for each name, <name>.txt defines
// "subject" and "body" in plain text, <name>.html defines "body" in HTML,
// and both are wrapped in the shared layout.txt and layout.html.
type Composer struct {
	appName, baseURL string
	text             map[string]*texttemplate.Template
	html             map[string]*htmltemplate.Template
}

// NewComposer parses every email template.
func NewComposer(appName, baseURL string) (*Composer, error) {
	fsys := Templates()
	c := &Composer{appName: appName, baseURL: strings.TrimSuffix(baseURL, "/"),
		text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	names, err := fs.Glob(fsys, "*.txt")
	if err != nil {
		return nil, fmt.Errorf("list email templates: %w", err)
	}
	for _, file := range names {
		name := strings.TrimSuffix(file, ".txt")
		if name == "layout" {
			continue
		}
		tt, err := texttemplate.New("").Option("missingkey=error").ParseFS(fsys, "layout.txt", file)
		if err != nil {
			return nil, fmt.Errorf("parse email template %s: %w", file, err)
		}
		ht, err := htmltemplate.New("").Option("missingkey=error").ParseFS(fsys, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse email template %s.html: %w", name, err)
		}
		c.text[name], c.html[name] = tt, ht
	}
	if len(c.text) == 0 {
		return nil, fmt.Errorf("no email templates found")
	}
	return c, nil
}

// Compose renders the named email to the address to.
func (c *Composer) Compose(name, to string, d Data) (Message, error) {
	tt, ok := c.text[name]
	if !ok {
		return Message{}, fmt.Errorf("compose email: no template %q", name)
	}
	d.AppName, d.BaseURL = c.appName, c.baseURL
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("compose email %s: %w", name, err)
	}
	if err := tt.ExecuteTemplate(&text, "layout", d); err != nil {
		return Message{}, fmt.Errorf("compose email %s: %w", name, err)
	}
	if err := c.html[name].ExecuteTemplate(&html, "layout", d); err != nil {
		return Message{}, fmt.Errorf("compose email %s: %w", name, err)
	}
	// A subject is one line whatever the template or data hold.
	oneLine := strings.Join(strings.Fields(subject.String()), " ")
	return Message{To: to, Subject: oneLine, Text: text.String(), HTML: html.String()}, nil
}

// Names lists the email templates.
func (c *Composer) Names() []string {
	var names []string
	for n := range c.text {
		names = append(names, n)
	}
	return names
}
