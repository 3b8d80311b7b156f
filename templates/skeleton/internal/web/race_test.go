//go:build race

package web

// raceEnabled is true when the race detector is on: it slows down the
// hash enough that wall-clock comparisons mean nothing.
const raceEnabled = true
