package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

func TestFormatAndParseAmounts(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		text     string
	}{
		{900, "eur", "9.00 EUR"}, {5, "usd", "0.05 USD"}, {1000, "jpy", "1000 JPY"}, {123456, "krw", "123456 KRW"}, {1234, "kwd", "1.234 KWD"}, {50, "jod", "0.050 JOD"}, {-1500, "tnd", "-1.500 TND"}, {-250, "usd", "-2.50 USD"},
	} {
		assert.Equal(t, c.text, billing.FormatAmount(c.amount, c.currency))
	}
	for text, want := range map[string]int64{"9": 900, "9.5": 950, "9.50": 950, " 0.05 ": 5, "12.": -1, ".5": -1, "9.505": -1, "-1": -1, "1e3": -1, "": -1} {
		got, err := billing.ParseAmount(text, "eur")
		if want < 0 {
			assert.Error(t, err, "%q", text)
			continue
		}
		require.NoError(t, err, "%q", text)
		assert.Equal(t, want, got, "%q", text)
	}
	got, err := billing.ParseAmount("1000", "jpy")
	require.NoError(t, err)
	assert.EqualValues(t, 1000, got, "yen have no minor unit")
	_, err = billing.ParseAmount("10.5", "jpy")
	assert.ErrorContains(t, err, "such as 1000")
	_, err = billing.ParseAmount("1.2345", "kwd")
	assert.ErrorContains(t, err, "at most 3 after the point")
}
