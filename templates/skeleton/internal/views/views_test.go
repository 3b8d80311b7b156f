package views

import (
	"fmt"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
)

// html/template JavaScript-escapes only attributes named on*. htmx and
// Alpine evaluate hx-on*, x-*, @*, :* and hx-vals as code, and there a
// value from a template action would be code an attacker chose. Data
// reaches those scripts through data-* attributes instead.
func TestNoActionsInScriptAttributes(t *testing.T) {
	err := fs.WalkDir(Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(Files(), name)
		if err != nil {
			return err
		}
		assert.Empty(t, scriptAttributeActions(t, name, string(src)))
		return nil
	})
	require.NoError(t, err)
}

// The check above must catch what it is meant to catch.
func TestScriptAttributeCheckCatchesActions(t *testing.T) {
	bad := map[string]string{
		"alpine data":   tpl(`<div x-data="[[.X]]"></div>`),
		"alpine event":  tpl(`<button @click="go([[.ID]])">Go</button>`),
		"alpine bind":   tpl(`<p :class='[[.C]]'></p>`),
		"htmx on":       tpl(`<form hx-on:submit="[[.JS]]"></form>`),
		"htmx vals":     tpl(`<div hx-vals='{"a": "[[.A]]"}'></div>`),
		"data htmx":     tpl(`<div data-hx-vals='[[.A]]'></div>`),
		"inside if":     tpl(`[[if .On]]<div x-init="[[.X]]"></div>[[end]]`),
		"unquoted":      tpl(`<div x-text=[[.X]]></div>`),
		"inline onload": tpl(`<img onload="[[.X]]">`),
	}
	for name, src := range bad {
		problems := scriptAttributeActions(t, name, src)
		assert.NotEmpty(t, problems, "%s: %s was not reported", name, src)
	}
	good := tpl(`<div x-data="navbar" data-id="[[.ID]]" class="a [[.C]]"[[if .P]] aria-invalid="true"[[end]]><a href="/x?[[.Q]]">[[.T]]</a></div>`)
	problems := scriptAttributeActions(t, "good", good)
	assert.Empty(t, problems, "safe template reported: %v", problems)
}

// scriptAttributeActions parses src as a template and returns a problem
// for every action inside the value of an attribute that htmx or Alpine
// evaluate as code, or an inline event handler.
func scriptAttributeActions(t *testing.T, name, src string) []string {
	t.Helper()
	tree := parse.New(name)
	tree.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	_, err := tree.Parse(src, "", "", trees)
	require.NoError(t, err, "parse %s: %v", name, err)
	var problems []string
	for tmplName, tr := range trees {
		if tr.Root == nil {
			continue
		}
		var s htmlState
		walk(tr.Root, &s, func(n parse.Node) {
			if s.inValue() && isScriptAttribute(s.attr) {
				problems = append(problems, fmt.Sprintf("%s (template %q): action %s inside the %s attribute", name, tmplName, n, s.attr))
			}
		})
	}
	return problems
}

// tpl writes template source with [[ ]] standing for the delimiters, so
// that this file passes unchanged through the generator that made it.
func tpl(s string) string {
	return strings.NewReplacer("[[", "{"+"{", "]]", "}"+"}").Replace(s)
}

func isScriptAttribute(attr string) bool {
	attr = strings.TrimPrefix(strings.ToLower(attr), "data-")
	return strings.HasPrefix(attr, "hx-on") || attr == "hx-vals" || attr == "hx-headers" ||
		strings.HasPrefix(attr, "x-") || strings.HasPrefix(attr, "@") || strings.HasPrefix(attr, ":") ||
		strings.HasPrefix(attr, "on")
}

// walk feeds the template's text through s and calls check at every node
// that produces dynamic output. Branches of if/range/with start from the
// state before them; html/template requires them to end in the same one.
func walk(n parse.Node, s *htmlState, check func(parse.Node)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, s, check)
		}
	case *parse.TextNode:
		s.feed(string(n.Text))
	case *parse.ActionNode, *parse.TemplateNode:
		check(n)
	case *parse.IfNode:
		walkBranch(n.Pipe, n.List, n.ElseList, s, check)
	case *parse.RangeNode:
		walkBranch(n.Pipe, n.List, n.ElseList, s, check)
	case *parse.WithNode:
		walkBranch(n.Pipe, n.List, n.ElseList, s, check)
	}
}

func walkBranch(pipe *parse.PipeNode, list, elseList *parse.ListNode, s *htmlState, check func(parse.Node)) {
	check(pipe)
	before := *s
	walk(list, s, check)
	if elseList != nil {
		alt := before
		walk(elseList, &alt, check)
	}
}

// htmlState is just enough of an HTML tokenizer to know which attribute,
// if any, the next byte of output lands in.
type htmlState struct {
	state int
	attr  string
	quote byte
}

const (
	inText = iota
	inTagName
	beforeAttr
	inAttrName
	afterAttrName
	beforeValue
	inQuotedValue
	inUnquotedValue
	inComment
)

func (s *htmlState) inValue() bool {
	return s.state == beforeValue || s.state == inQuotedValue || s.state == inUnquotedValue
}

func (s *htmlState) feed(text string) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		space := c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'
		switch s.state {
		case inText:
			if strings.HasPrefix(text[i:], "<!--") {
				s.state, i = inComment, i+3
			} else if c == '<' && i+1 < len(text) && (isLetter(text[i+1]) || text[i+1] == '/') {
				s.state = inTagName
			}
		case inComment:
			if strings.HasPrefix(text[i:], "-->") {
				s.state, i = inText, i+2
			}
		case inTagName:
			if space {
				s.state = beforeAttr
			} else if c == '>' {
				s.state = inText
			}
		case beforeAttr, afterAttrName:
			switch {
			case space || c == '/':
			case c == '>':
				s.state = inText
			case c == '=' && s.state == afterAttrName:
				s.state = beforeValue
			default:
				s.state, s.attr = inAttrName, string(c)
			}
		case inAttrName:
			switch {
			case c == '=':
				s.state = beforeValue
			case space:
				s.state = afterAttrName
			case c == '>':
				s.state = inText
			default:
				s.attr += string(c)
			}
		case beforeValue:
			switch {
			case space:
			case c == '"' || c == '\'':
				s.state, s.quote = inQuotedValue, c
			case c == '>':
				s.state = inText
			default:
				s.state = inUnquotedValue
			}
		case inQuotedValue:
			if c == s.quote {
				s.state = beforeAttr
			}
		case inUnquotedValue:
			if space {
				s.state = beforeAttr
			} else if c == '>' {
				s.state = inText
			}
		}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// The Content Security Policy forbids inline scripts, styles and event
// handlers; a template that had one would silently break in the browser.
func TestNoInlineScriptsOrStyles(t *testing.T) {
	scriptTag := regexp.MustCompile(`<script\b[^>]*>`)
	forbidden := map[string]*regexp.Regexp{
		"<style> element":     regexp.MustCompile(`<style\b`),
		"style attribute":     regexp.MustCompile(`\sstyle\s*=`),
		"inline handler":      regexp.MustCompile(`\son[a-z]+\s*=`),
		"javascript: URL":     regexp.MustCompile(`(?i)javascript:`),
		"third-party address": regexp.MustCompile(`(?:src|href|action)="(?:https?:)?//`),
	}
	err := fs.WalkDir(Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			return err
		}
		src := string(b)
		for _, tag := range scriptTag.FindAllString(src, -1) {
			assert.Contains(t, tag, " src=", "%s: inline script %s", name, tag)
		}
		for what, re := range forbidden {
			if loc := re.FindStringIndex(src); loc != nil {
				assert.Failf(t, "forbidden in a template", "%s: %s at %q", name, what, src[loc[0]:min(loc[1]+20, len(src))])
			}
		}
		return nil
	})
	require.NoError(t, err)
}

type fakeAssets struct{}

func (fakeAssets) URL(name string) (string, error)       { return "/static/" + name, nil }
func (fakeAssets) Integrity(name string) (string, error) { return "sha384-test", nil }

func TestEveryPageRendersHostileValuesEscaped(t *testing.T) {
	const hostile = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`
	r, err := New(hostile, fakeAssets{}, clock.System{})
	require.NoError(t, err)
	field := map[string]any{"Name": "name", "Label": hostile, "Type": "text", "Autocomplete": "name",
		"Multiline": false, "MaxLength": 10, "Value": hostile, "Problem": hostile}
	data := map[string]any{
		"Status": 500, "Heading": hostile, "Message": hostile, "RequestID": hostile,
		"Fields": []any{field}, "Problems": map[string]string{"name": hostile},
	}
	require.GreaterOrEqual(t, len(r.Pages()), 4, "only %d pages parsed", len(r.Pages()))
	for _, page := range r.Pages() {
		rec := httptest.NewRecorder()
		p := Page{Title: hostile, Description: hostile, Path: "/", Flash: &Flash{Kind: "danger", Message: hostile}, Data: data}
		err := r.Page(rec, 200, page, p)
		require.NoError(t, err, "render %s: %v", page, err)
		body := rec.Body.String()
		assert.NotContains(t, body, "<script>alert(1)", "page %s: hostile value reached the output unescaped", page)
		assert.NotContains(t, body, "<img src=x", "page %s: hostile value reached the output unescaped", page)
	}
	err = r.Page(httptest.NewRecorder(), 200, "no-such-page", Page{})
	assert.Error(t, err, "rendering an unknown page did not fail")
}
