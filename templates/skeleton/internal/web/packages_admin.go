package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The catalogue of credit packages for administrators: list, add, edit
// (deactivating is unticking "on sale"; the order is a number). Stripe
// learns of a change at the next "stripe sync".

// packageForm is a package as typed in, and what is wrong with it.
type packageForm struct {
	ID, Name, Credits, Price, Currency, Order string
	Active                                    bool
	Problems                                  []string
}

func formOf(p billing.Package) packageForm {
	return packageForm{ID: p.ID, Name: p.Name, Credits: strconv.FormatInt(p.Credits, 10), Price: priceText(p.UnitAmount, p.Currency),
		Currency: p.Currency, Order: strconv.Itoa(p.SortOrder), Active: p.Active}
}

// priceText is the amount as the form takes it back: no currency code.
func priceText(amount int64, currency string) string {
	text, _, _ := strings.Cut(billing.FormatAmount(amount, currency), " ")
	return text
}

// read fills the form from the request and returns the package it asks
// for; Problems says what is wrong, one sentence each.
func (f *packageForm) read(r *http.Request) billing.Package {
	v := r.PostForm
	f.Name, f.Credits, f.Price = strings.TrimSpace(v.Get("name")), strings.TrimSpace(v.Get("credits")), strings.TrimSpace(v.Get("price"))
	f.Currency, f.Order, f.Active = strings.ToLower(strings.TrimSpace(v.Get("currency"))), strings.TrimSpace(v.Get("order")), v.Get("active") == "on"
	p := billing.Package{ID: f.ID, Name: f.Name, Currency: f.Currency, Active: f.Active}
	var err error
	if p.Credits, err = strconv.ParseInt(f.Credits, 10, 64); err != nil {
		f.Problems = append(f.Problems, fmt.Sprintf("Credits: %q is not a whole number of credits, such as 100.", f.Credits))
	}
	if p.UnitAmount, err = billing.ParseAmount(f.Price, f.Currency); err != nil {
		f.Problems = append(f.Problems, "Price: "+err.Error()+".")
	}
	if f.Order != "" {
		if p.SortOrder, err = strconv.Atoi(f.Order); err != nil {
			f.Problems = append(f.Problems, fmt.Sprintf("Order: %q is not a whole number; lower numbers are shown first.", f.Order))
		}
	}
	if len(f.Problems) == 0 {
		if err := p.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				f.Problems = append(f.Problems, upperFirst(line)+".")
			}
		}
	}
	return p
}

// adminPackages is what templates/admin/packages.html shows.
type adminPackages struct {
	Packages []billing.Package
	New      packageForm
}

// adminPackage is what templates/admin/package.html shows.
type adminPackage struct {
	Package billing.Package
	Form    packageForm
}

func renderPackages(w http.ResponseWriter, r *http.Request, p *response.Pages, b *billing.Billing, status int, f packageForm) {
	pkgs, err := b.Packages(r.Context())
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	p.Page(w, r, status, "admin/packages", views.Page{Title: "Credit packages", Data: adminPackages{Packages: pkgs, New: f}})
}

func handleAdminPackages(p *response.Pages) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			renderPackages(w, r, p, b, http.StatusOK, packageForm{Currency: "usd", Active: true})
		})
	}
}

// handleAdminPackageCreate adds a package after a fresh password entry,
// as other changes that move money do: the catalogue sets what buyers pay.
func handleAdminPackageCreate(p *response.Pages, a *auth) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/admin/packages") {
				return
			}
			var f packageForm
			pkg := f.read(r)
			if len(f.Problems) > 0 {
				renderPackages(w, r, p, b, http.StatusUnprocessableEntity, f)
				return
			}
			pkg, err := b.CreatePackage(r.Context(), currentUser(r).ID, pkg)
			if err != nil {
				p.Fail(w, r, err)
				return
			}
			p.Flash(w, views.Flash{Kind: "success", Message: fmt.Sprintf("Added %s. Run \"stripe sync\" to put it on sale.", pkg.Name)})
			http.Redirect(w, r, "/admin/packages", http.StatusSeeOther)
		})
	}
}

func handleAdminPackage(p *response.Pages) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pkg, ok := packageFromPath(w, r, p, b)
			if ok {
				p.Page(w, r, http.StatusOK, "admin/package", views.Page{Title: pkg.Name, Data: adminPackage{Package: pkg, Form: formOf(pkg)}})
			}
		})
	}
}

// handleAdminPackageUpdate changes a package after a fresh password
// entry, as handleAdminPackageCreate.
func handleAdminPackageUpdate(p *response.Pages, a *auth) func(*billing.Billing) http.Handler {
	return func(b *billing.Billing) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !parseForm(w, r, p, form.MaxBytes) || !a.requireFresh(w, r, "/admin/packages/"+url.PathEscape(r.PathValue("id"))) {
				return
			}
			pkg, ok := packageFromPath(w, r, p, b)
			if !ok {
				return
			}
			f := packageForm{ID: pkg.ID}
			changed := f.read(r)
			if len(f.Problems) > 0 {
				p.Page(w, r, http.StatusUnprocessableEntity, "admin/package", views.Page{Title: pkg.Name, Data: adminPackage{Package: pkg, Form: f}})
				return
			}
			changed, err := b.UpdatePackage(r.Context(), currentUser(r).ID, changed)
			if errors.Is(err, billing.ErrNoPackage) {
				p.Error(w, r, http.StatusNotFound)
				return
			} else if err != nil {
				p.Fail(w, r, err)
				return
			}
			msg := "Saved " + changed.Name + "."
			if changed.Active && changed.StripePriceID == "" {
				msg += " It is off sale until \"stripe sync\" makes its price."
			}
			p.Flash(w, views.Flash{Kind: "success", Message: msg})
			http.Redirect(w, r, "/admin/packages/"+url.PathEscape(pkg.ID), http.StatusSeeOther)
		})
	}
}

func packageFromPath(w http.ResponseWriter, r *http.Request, p *response.Pages, b *billing.Billing) (billing.Package, bool) {
	pkg, err := b.Package(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, billing.ErrNoPackage):
		p.Error(w, r, http.StatusNotFound)
		return billing.Package{}, false
	case err != nil:
		p.Fail(w, r, err)
		return billing.Package{}, false
	}
	return pkg, true
}
