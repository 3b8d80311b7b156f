package views

import (
	"errors"
	"html/template"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
)

func TestFoldConstants(t *testing.T) {
	asset := func(name string) (string, error) {
		switch name {
		case "missing":
			return "", errors.New("no asset missing")
		case "hostile":
			return `/x" onload="alert(1)`, nil
		}
		return "/static/" + name + ".1a2b", nil
	}
	funcs := map[string]func(string) (string, error){"asset": asset}
	for _, tc := range []struct {
		name, src, want string
		folded          bool
	}{
		{"literal", `<a href="{{asset "a.css"}}">`, `<a href="/static/a.css.1a2b">`, true},
		{"in if, range and with", `{{if .}}{{range .}}{{with .}}{{asset "b.js"}}{{end}}{{end}}{{end}}`, `/static/b.js.1a2b`, true},
		{"argument from data", `{{asset (index . 0)}}`, `/static/c.1a2b`, false},
		{"a declaration", `{{$u := asset "a"}}{{$u}}`, `/static/a.1a2b`, false},
		{"a pipeline", `{{asset "a" | print}}`, `/static/a.1a2b`, false},
		{"a value the escaper must see", `<a href="{{asset "hostile"}}">`, `<a href="/x%22%20onload=%22alert%281%29">`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := template.Must(template.New("t").Funcs(template.FuncMap{"asset": asset}).Parse(tc.src))
			foldConstants(tpl, funcs)
			assert.Equal(t, tc.folded, !strings.Contains(tpl.Tree.Root.String(), "asset"), "folded: %s", tpl.Tree.Root)
			var out strings.Builder
			require.NoError(t, tpl.Execute(&out, []string{"c"}))
			assert.Equal(t, tc.want, out.String())
		})
	}

	// A function that fails stays a call, so the page fails as it did.
	tpl := template.Must(template.New("t").Funcs(template.FuncMap{"asset": asset}).Parse(`{{asset "missing"}}`))
	foldConstants(tpl, funcs)
	assert.ErrorContains(t, tpl.Execute(&strings.Builder{}, nil), "no asset missing")
}

// Every asset the layout names is folded when the renderer is built.
func TestLayoutAssetsAreFolded(t *testing.T) {
	r, err := New("App", fakeAssets{}, clock.System{})
	require.NoError(t, err)
	for _, tt := range r.set.Load().pages["home"].Templates() {
		if tt.Tree != nil {
			src := tt.Tree.Root.String()
			assert.False(t, strings.Contains(src, "{{asset ") || strings.Contains(src, "{{integrity "), "template %s still calls asset or integrity:\n%s", tt.Name(), src)
		}
	}
}
