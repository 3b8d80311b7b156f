package form

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestParse(t *testing.T) {
	r := post("name=Ada&email=ada%40example.com")
	require.NoError(t, Parse(httptest.NewRecorder(), r, MaxBytes))
	assert.Equal(t, "ada@example.com", r.PostForm.Get("email"))

	for body, want := range map[string]int{
		"name=" + strings.Repeat("a", MaxBytes): http.StatusRequestEntityTooLarge,
		"name=%zz":                              http.StatusBadRequest,
	} {
		err := Parse(httptest.NewRecorder(), post(body), MaxBytes)
		var parse *ParseError
		require.ErrorAs(t, err, &parse, "Parse of a %d-byte body", len(body))
		assert.Equal(t, want, parse.Status, "Parse of a %d-byte body", len(body))
	}
}
