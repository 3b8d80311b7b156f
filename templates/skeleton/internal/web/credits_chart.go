package web

import (
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
)

// usageChart is the data of a server-drawn SVG bar chart: positions and
// sizes are computed here, so the template only writes attributes (no
// inline style, which the CSP forbids, and no script).
type usageChart struct {
	Width, Height int
	Bars          []usageBar
	Max           int64
	Total         int64
	Label         string
}

type usageBar struct {
	X, Y, W, H int
	Title      string
}

const (
	chartWidth  = 600
	chartHeight = 160
	chartGap    = 2
)

func newUsageChart(days []credits.DayUsage) usageChart {
	c := usageChart{Width: chartWidth, Height: chartHeight}
	for _, d := range days {
		c.Max = max(c.Max, d.Consumed)
		c.Total += d.Consumed
	}
	if len(days) == 0 {
		return c
	}
	slot := chartWidth / len(days)
	for i, d := range days {
		h := 0
		if c.Max > 0 {
			h = int(d.Consumed * int64(chartHeight-10) / c.Max)
		}
		if d.Consumed > 0 && h < 2 {
			h = 2 // a day with use stays visible next to a busy one
		}
		c.Bars = append(c.Bars, usageBar{
			X: i*slot + chartGap/2, Y: chartHeight - h, W: slot - chartGap, H: h,
			Title: fmt.Sprintf("%s: %d credits", d.Day.Format("2 Jan"), d.Consumed),
		})
	}
	c.Label = fmt.Sprintf("Credits used per day over the last %d days: %d in total, at most %d in a day.", len(days), c.Total, c.Max)
	return c
}
