package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// What the buyer's own pages read: the packages for sale, their
// purchases, the customer portal.

// ErrNoCustomer is what Portal says to a user who has never bought: there
// is no Stripe customer whose portal could be opened.
var ErrNoCustomer = errors.New("no Stripe customer yet: the customer portal opens after a first purchase")

// ForSale lists the packages a buyer can check out, in the catalogue's
// order: active, with a Stripe price.
func (b *Billing) ForSale(ctx context.Context) ([]Package, error) {
	rows, err := b.db.QueryContext(ctx, selectPackage+
		" WHERE active = TRUE AND stripe_price_id IS NOT NULL ORDER BY sort_order, unit_amount, id")
	if err != nil {
		return nil, fmt.Errorf("list the credit packages for sale: %w", err)
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		var p Package
		if err := rows.Scan(&p.ID, &p.Name, &p.Credits, &p.UnitAmount, &p.Currency, &p.SortOrder, &p.Active, &p.StripePriceID); err != nil {
			return nil, fmt.Errorf("read a credit package: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the credit packages for sale: %w", err)
	}
	return out, nil
}

// PackageByPrice returns the package sold at a Stripe price.
func (b *Billing) PackageByPrice(ctx context.Context, priceID string) (Package, error) {
	return packageWhere(ctx, b.db, "stripe_price_id = ?", priceID)
}

// PurchasesOf lists the user's purchases, newest first.
func (b *Billing) PurchasesOf(ctx context.Context, userID string) ([]Purchase, error) {
	rows, err := b.db.QueryContext(ctx, selectPurchase+" WHERE user_id = ? ORDER BY created_at DESC, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list the purchases: %w", err)
	}
	defer rows.Close()
	var out []Purchase
	for rows.Next() {
		p, err := scanPurchase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the purchases: %w", err)
	}
	return out, nil
}

// PurchaseOf returns the user's purchase with the id: ErrNoSuchPurchase
// when there is none or it is someone else's, which look the same.
func (b *Billing) PurchaseOf(ctx context.Context, userID, id string) (Purchase, error) {
	return b.purchaseWhere(ctx, "id = ? AND user_id = ?", id, userID)
}

// PurchaseOfSession returns the user's purchase of a checkout session:
// ErrNoSuchPurchase when the session is not one of theirs.
func (b *Billing) PurchaseOfSession(ctx context.Context, userID, sessionID string) (Purchase, error) {
	return b.purchaseWhere(ctx, "checkout_session_id = ? AND user_id = ?", sessionID, userID)
}

// Portal returns the address of a customer portal session for the user,
// which comes back to returnURL.
func (b *Billing) Portal(ctx context.Context, userID, returnURL string) (string, error) {
	customer, err := b.customerOf(ctx, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoCustomer
	}
	if err != nil {
		return "", err
	}
	return b.stripe.CreatePortalSession(ctx, customer, returnURL)
}

// zeroDecimal are the currencies Stripe counts in whole units, with no
// minor unit (https://docs.stripe.com/currencies#zero-decimal).
var zeroDecimal = map[string]bool{
	"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true, "mga": true,
	"pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true,
}

// threeDecimal are the currencies whose minor unit is a thousandth
// (https://docs.stripe.com/currencies#three-decimal).
var threeDecimal = map[string]bool{"bhd": true, "jod": true, "kwd": true, "omr": true, "tnd": true}

// FormatAmount writes an amount in a currency's minor unit as people read
// it: 900 eur is "9.00 EUR", 500 jpy is "500 JPY", 5000 kwd "5.000 KWD".
func FormatAmount(amount int64, currency string) string {
	code := strings.ToUpper(currency)
	if zeroDecimal[currency] {
		return strconv.FormatInt(amount, 10) + " " + code
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	if threeDecimal[currency] {
		return fmt.Sprintf("%s%d.%03d %s", sign, amount/1000, amount%1000, code)
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, amount/100, amount%100, code)
}
