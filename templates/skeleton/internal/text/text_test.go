package text

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStorable(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "plain": true, "naïve ☃": true, "tab\tand\nnewline": true,
		"a\x00b": false, "a\xffb": false, "\xc3": false, "\xed\xa0\x80": false,
	} {
		assert.Equal(t, want, Storable(s), "Storable(%q)", s)
	}
}

func TestUnstorable(t *testing.T) {
	assert.Equal(t, "", Unstorable(url.Values{"a": {"x", "y"}, "b": {""}}))
	assert.Equal(t, "b", Unstorable(url.Values{"a": {"x"}, "b": {"ok", "a\x00b"}, "c": {"\xff"}}), "the first bad name in order")
	assert.Equal(t, "\xff", Unstorable(url.Values{"\xff": {"x"}}), "a bad name")
}
