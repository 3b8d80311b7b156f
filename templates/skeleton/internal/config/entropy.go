package config

import "math"

// minSecretKeyBits is the least entropy a production SECRET_KEY may show:
// 80 bits is out of reach of any offline guessing of the signing key.
const minSecretKeyBits = 80

// estimatedBits estimates the entropy of key from how it looks, for
// refusing keys people type rather than generate. A key is worth the
// length of its shortest repeating unit ("deadbeef" in "deadbeefdeadbeef")
// times the Shannon entropy per byte of either its bytes or the steps
// between neighbouring bytes, whichever is smaller, so that one repeated
// character, few distinct characters and runs such as "abcd…" all score
// low. It proves no randomness, but random keys always pass: 32 random
// bytes in hex, the generator's format and `openssl rand -hex 32`, score
// about 210 bits, and even the shortest allowed random key, 32 hex
// characters, scores above 85.
func estimatedBits(key string) float64 {
	if len(key) < 2 {
		return 0
	}
	steps := make([]byte, len(key)-1)
	for i := range steps {
		steps[i] = key[i+1] - key[i]
	}
	return min(shannon([]byte(key)), shannon(steps)) * float64(period(key))
}

// shannon is the entropy in bits per byte of the distribution of bytes in b.
func shannon(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	var h float64
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}

// period is the length of the shortest prefix of s whose repetition makes
// s, or len(s) when s repeats nothing.
func period(s string) int {
	for p := 1; p <= len(s)/2; p++ {
		if s[p:] == s[:len(s)-p] {
			return p
		}
	}
	return len(s)
}
