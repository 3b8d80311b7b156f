package paging

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClamp(t *testing.T) {
	for _, tc := range []struct{ page, perPage, total, wantPage, wantOffset int }{
		{1, 25, 0, 1, 0},
		{2, 25, 60, 2, 25},
		{3, 25, 60, 3, 50},
		{4, 25, 60, 3, 50},
		{math.MaxInt, 25, 60, 3, 50},
		{math.MaxInt / 2, 2, 60, 30, 58},
		{0, 25, 60, 1, 0},
		{-1, 25, 60, 1, 0},
		{math.MinInt, 25, 60, 1, 0},
		{math.MaxInt, 500, 0, 1, 0},
	} {
		page, offset := Clamp(tc.page, tc.perPage, tc.total)
		assert.Equal(t, [2]int{tc.wantPage, tc.wantOffset}, [2]int{page, offset}, "Clamp(%d, %d, %d)", tc.page, tc.perPage, tc.total)
	}
	assert.Equal(t, 1, Pages(0, 25))
	assert.Equal(t, 3, Pages(51, 25))
}
