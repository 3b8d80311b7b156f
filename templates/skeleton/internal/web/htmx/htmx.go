// Package htmx reads and writes the headers htmx sends and obeys, so
// handlers never spell them out.
package htmx

import "net/http"

// IsRequest reports whether htmx sent r, to answer with a fragment
// rather than a whole page.
func IsRequest(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// TriggerName is the name of the input whose change sent r: the field an
// inline check is about.
func TriggerName(r *http.Request) string { return r.Header.Get("HX-Trigger-Name") }

// Redirect tells htmx to load target as a whole page: a redirect status
// would only be followed inside the fragment being swapped.
func Redirect(w http.ResponseWriter, target string, status int) {
	w.Header().Set("HX-Redirect", target)
	w.WriteHeader(status)
}
