package mail

import (
	"net/mail"
	"strings"
)

// IsAddress reports whether s is what the app's forms ask for: a bare
// address, with no display name and a dot in its domain, since it is where
// mail will be sent, not a header to copy.
func IsAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	return strings.Contains(strings.Trim(domain, "."), ".")
}
