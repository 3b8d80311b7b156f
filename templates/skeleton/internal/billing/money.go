package billing

import (
	"fmt"
	"strconv"
	"strings"
)

// Stripe counts money in each currency's smallest unit: cents for most,
// whole units for the zero-decimal currencies (1000 JPY is 1000), and
// thousandths for the three-decimal ones.
// https://docs.stripe.com/currencies#zero-decimal
var (
	zeroDecimal  = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true, "mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}
	threeDecimal = map[string]bool{"bhd": true, "jod": true, "kwd": true, "omr": true, "tnd": true}
)

// Decimals is how many digits follow the point in the currency's amounts.
func Decimals(currency string) int {
	currency = strings.ToLower(currency)
	switch {
	case zeroDecimal[currency]:
		return 0
	case threeDecimal[currency]:
		return 3
	}
	return 2
}

// FormatAmount writes an amount in minor units as people read it:
// "9.00 EUR", "1000 JPY".
func FormatAmount(amount int64, currency string) string {
	code := strings.ToUpper(currency)
	d := Decimals(currency)
	if d == 0 {
		return fmt.Sprintf("%d %s", amount, code)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	unit := int64(1)
	for range d {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, amount/unit, d, amount%unit, code)
}

// ParseAmount reads an amount as people write it ("9", "9.5", "9.50";
// "1000" for JPY) into the currency's minor units.
func ParseAmount(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	d := Decimals(currency)
	whole, frac, hasPoint := strings.Cut(s, ".")
	rule, example := fmt.Sprintf("digits, with at most %d after the point", d), "9.50"
	if d == 0 {
		rule, example = "whole digits, with no point", "1000"
	}
	bad := fmt.Errorf("%q is not an amount in %s: write %s, such as %s", s, strings.ToUpper(currency), rule, example)
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || len(frac) > d ||
		(hasPoint && (d == 0 || frac == "")) {
		return 0, bad
	}
	digits := whole + frac + strings.Repeat("0", d-len(frac))
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}
