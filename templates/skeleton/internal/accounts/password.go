package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. DefaultParams meet OWASP's minimum
// for argon2id (19 MiB, two passes, one lane).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams are the parameters new hashes use.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes and checks passwords with argon2id. Each hash holds Memory
// KiB, so a semaphore bounds how many run at once: a burst of logins queues
// instead of exhausting memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
	// computations counts argon2 runs, so tests can prove that an unknown
	// account costs the same work as a known one.
	computations atomic.Int64
}

// NewHasher returns a hasher using params, running at most one hash per CPU
// at a time.
func NewHasher(params Params) *Hasher {
	h := &Hasher{params: params, slots: make(chan struct{}, max(1, runtime.NumCPU()))}
	// The dummy hash is what unknown accounts are checked against, so that
	// they cost the same time as known ones.
	h.dummy = h.encode(params, randomBytes(params.SaltLen), make([]byte, params.KeyLen))
	return h
}

// Computations returns how many hashes this hasher has computed.
func (h *Hasher) Computations() int64 { return h.computations.Load() }

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := randomBytes(h.params.SaltLen)
	h.computations.Add(1)
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return h.encode(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, and
// whether the hash should be replaced because its parameters are not the
// current ones. An empty encoded checks against the dummy hash and is
// always false, taking the same time as a real check.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	dummy := encoded == ""
	if dummy {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.computations.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	match := subtle.ConstantTimeCompare(got, want) == 1 && !dummy
	stale := p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		uint32(len(want)) != h.params.KeyLen || uint32(len(salt)) != h.params.SaltLen
	return match, match && stale, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

var b64 = base64.RawStdEncoding

func (h *Hasher) encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// ParseHash returns the parameters of a PHC string.
func ParseHash(encoded string) (Params, error) {
	p, salt, key, err := decode(encoded)
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, err
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 || p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}
