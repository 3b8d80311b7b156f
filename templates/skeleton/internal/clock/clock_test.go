package clock

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(start)
	assert.Equal(t, start, f.Now())
	f.Advance(90 * time.Second)
	assert.Equal(t, start.Add(90*time.Second), f.Now())
	f.Set(start)
	assert.Equal(t, start, f.Now())
}

func TestFakeIsSafeForConcurrentUse(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				f.Advance(time.Second)
				_ = f.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, time.Unix(800, 0), f.Now())
}

func TestSystemIsNow(t *testing.T) {
	before := time.Now()
	got := System{}.Now()
	assert.False(t, got.Before(before), "System.Now() = %v, before %v", got, before)
}
