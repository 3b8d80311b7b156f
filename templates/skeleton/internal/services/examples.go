package services

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextBytes bounds the text the example services accept.
const MaxTextBytes = 32 << 10

// WordCount is the example paid service: it counts the words, lines and
// characters of a text, for one credit a run.
var WordCount = Service{
	Name:        "word-count",
	Description: "Counts the words, lines and characters of a text.",
	Cost:        1,
	Enabled:     true,
	Validate:    needText,
	Work: func(_ context.Context, in Input) (Output, error) {
		text := in.Params["text"]
		return Output{
			"words":      len(strings.Fields(text)),
			"lines":      strings.Count(text, "\n") + 1,
			"characters": utf8.RuneCountInString(text),
		}, nil
	},
}

// Slugify is the example free service: it turns a text into a URL slug.
var Slugify = Service{
	Name:        "slugify",
	Description: "Turns a title into a lowercase, dash-separated URL slug.",
	Cost:        0,
	Enabled:     true,
	Validate:    needText,
	Work: func(_ context.Context, in Input) (Output, error) {
		var b strings.Builder
		dash := false
		for _, r := range strings.ToLower(in.Params["text"]) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				if dash && b.Len() > 0 {
					b.WriteByte('-')
				}
				b.WriteRune(r)
				dash = false
			} else {
				dash = true
			}
		}
		if b.Len() == 0 {
			return nil, errors.New("the text has no letters or digits to make a slug of")
		}
		return Output{"slug": b.String()}, nil
	},
}

func needText(in Input) error {
	text := in.Params["text"]
	if strings.TrimSpace(text) == "" {
		return errors.New("give a text to work on in the \"text\" parameter")
	}
	if len(text) > MaxTextBytes {
		return errors.New("the text is longer than 32 KiB")
	}
	return nil
}

// RegisterAll declares the application's services in r: the examples,
// and yours (see the README, "Extending it").
func RegisterAll(r *Registry) error {
	for _, s := range []Service{WordCount, Slugify} {
		if err := r.Register(s); err != nil {
			return err
		}
	}
	return nil
}
