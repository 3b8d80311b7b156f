package accounts

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// Password length limits, in Unicode code points. There are no composition
// rules: length and the common-password list are what make a password hard
// to guess (NIST SP 800-63B, OWASP ASVS 6.2).
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
	MaxEmailLength    = 254
	MaxNameLength     = 100
)

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]bool {
	set := map[string]bool{}
	for line := range strings.Lines(commonPasswordList) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = true
		}
	}
	return set
}()

// NormalizePassword applies Unicode NFKC, so that a password typed with
// composed or decomposed accents on different devices is the same password.
// Nothing is trimmed or truncated.
func NormalizePassword(password string) string { return norm.NFKC.String(password) }

// CheckPassword returns what is wrong with a new password, or "". email is
// the account's address: a password containing it is refused.
func CheckPassword(password, email string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return "Use valid text for the password."
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLength)
	}
	lower := strings.ToLower(password)
	if commonPasswords[lower] || strings.Count(lower, string([]rune(lower)[0])) == n {
		return "This password is too common; choose one that is hard to guess, such as a few unrelated words."
	}
	if local, _, _ := strings.Cut(strings.ToLower(email), "@"); len(local) >= 4 && strings.Contains(lower, local) {
		return "Do not use your email address in your password."
	}
	return ""
}

// NormalizeEmail returns the form of an address that identifies an
// account, its uniqueness key: trimmed, with the ASCII letters A to Z
// lower-cased, so Ada@Example.com and ada@example.com are one account.
// Nothing else is changed. strings.ToLower would fold other scripts into
// ASCII (the dotted capital İ and the Kelvin sign K become i and k), and
// lisa@ would then be the account of whoever first signed up as lİsa@.
// CheckEmail keeps new addresses to ASCII; an address stored before that
// rule keeps its other characters in its key, where no ASCII address can
// equal it.
func NormalizeEmail(email string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimSpace(email))
}

// asciiOnly is what CheckEmail says of an address with other characters.
const asciiOnly = "Write the email address in ASCII characters only: enter an international domain in its xn-- form " +
	"(such as name@xn--mnchen-3ya.de for name@münchen.de); an address with other letters before the @ cannot be used."

// CheckEmail returns what is wrong with an address, or "". An address must
// be ASCII, as the WHATWG's valid email address is (a browser sends an
// international domain in its xn-- form) and as Django's validator, which
// allauth uses, wants the part before the @: refused rather than mapped,
// since mapping one character onto another is how a look-alike takes over
// an account.
func CheckEmail(email string) string {
	switch {
	case email == "":
		return "This field is required."
	case !utf8.ValidString(email):
		return "Enter an email address like name@example.com."
	case len(email) > MaxEmailLength:
		return fmt.Sprintf("Use at most %d characters.", MaxEmailLength)
	case strings.IndexFunc(email, func(r rune) bool { return r > unicode.MaxASCII }) >= 0:
		return asciiOnly
	case strings.IndexFunc(email, unicode.IsControl) >= 0 || !mail.IsAddress(email):
		return "Enter an email address like name@example.com."
	}
	return ""
}

// checkNewAccount returns what is wrong with the fields of a new account,
// the same for a sign-up and for an account made by a command.
func checkNewAccount(email, name, password string) Problems {
	problems := Problems{}
	if p := CheckEmail(email); p != "" {
		problems["email"] = p
	}
	if p := CheckName(name); p != "" {
		problems["name"] = p
	}
	if p := CheckPassword(password, email); p != "" {
		problems["password"] = p
	}
	return problems
}

// CheckName returns what is wrong with a display name, or "".
func CheckName(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "Use valid text."
	case n == 0:
		return "This field is required."
	case n > MaxNameLength:
		return fmt.Sprintf("Use at most %d characters.", MaxNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "Use a single line."
	}
	return ""
}
