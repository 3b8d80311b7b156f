package api

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
)

// JournalFilter reads the journal filters of q for userID: the API's, which
// the history page and its CSV export share. Dates are YYYY-MM-DD (whole
// days, the end day included) or RFC 3339 instants.
func JournalFilter(q url.Values, userID string) (credits.Filter, error) {
	f := credits.Filter{UserID: userID, Kind: credits.Kind(q.Get("kind")), Service: q.Get("service"), Sort: q.Get("sort")}
	var err error
	if f.From, err = parseDate(q.Get("from"), false); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseDate(q.Get("to"), true); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	for name, dst := range map[string]*int{"page": &f.Page, "per_page": &f.PerPage} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, fmt.Errorf("%s must be a whole number from 1", name)
			}
			*dst = n
		}
	}
	return f, f.Validate()
}

func parseDate(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: use YYYY-MM-DD or an RFC 3339 time", v)
	}
	return t, nil
}
