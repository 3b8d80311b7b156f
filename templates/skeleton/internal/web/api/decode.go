package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/quickscale/quickscale/templates/skeleton/internal/text"
)

// InvalidText answers 400 invalid_text: what names the part of the
// request holding a NUL or bytes that are not UTF-8, which no database
// can store.
func InvalidText(w http.ResponseWriter, what string) {
	writeError(w, http.StatusBadRequest, "invalid_text", what+" holds a NUL character or bytes that are not UTF-8: send UTF-8 text without NUL")
}

// decode reads the body as exactly one JSON value into dst: an unknown
// field or anything after the value is invalid_json (example shows the
// shape expected), text no database can store invalid_text. On failure it
// has answered.
func decode(w http.ResponseWriter, r *http.Request, dst any, example string) bool {
	invalid := func(why string) bool {
		writeError(w, http.StatusBadRequest, "invalid_json", why+": the body must be one JSON object like "+example)
		return false
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return invalid("the body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return invalid(err.Error())
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return invalid("there is more after the JSON object")
	}
	// The decoder turns bytes that are not UTF-8 into U+FFFD; the client
	// should hear that its text was not kept as sent.
	if !utf8.Valid(raw) {
		InvalidText(w, "the body")
		return false
	}
	var value any
	if err := json.Unmarshal(raw, &value); err != nil {
		return invalid(err.Error())
	}
	if name, bad := unstorableMember("", value); bad {
		InvalidText(w, fmt.Sprintf("the member %q", name))
		return false
	}
	return true
}

// unstorableMember finds a string in v, a decoded JSON value, that no
// database can store, and the name of the member holding it.
func unstorableMember(name string, v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return name, !text.Storable(v)
	case map[string]any:
		for key, member := range v {
			if !text.Storable(key) {
				return key, true
			}
			if found, bad := unstorableMember(key, member); bad {
				return found, true
			}
		}
	case []any:
		for _, item := range v {
			if found, bad := unstorableMember(name, item); bad {
				return found, true
			}
		}
	}
	return "", false
}
