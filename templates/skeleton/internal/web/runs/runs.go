// Package runs says what the outcome of a service run means over HTTP,
// for the credit pages and the API alike: one error code and one status
// for each way a run can fail, the rule for idempotency keys, and how a
// count of credits is worded.
package runs

import (
	"errors"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
)

// Code names an outcome. The API sends it as error.code, and clients
// branch on it: a code never changes meaning.
type Code string

const (
	OK                  Code = ""
	InsufficientCredits Code = "insufficient_credits"
	UnknownService      Code = "unknown_service"
	ServiceDisabled     Code = "service_disabled"
	KeyReused           Code = "idempotency_key_reused"
	InvalidInput        Code = "invalid_input"
	// ServiceFailed is a run that happened and failed; its credits were
	// refunded.
	ServiceFailed Code = "service_failed"
	// Internal is any other error: ours, logged, never detailed.
	Internal Code = "internal"
)

// statuses is the one mapping from a code to an HTTP status.
var statuses = map[Code]int{
	OK:                  http.StatusCreated,
	InsufficientCredits: http.StatusPaymentRequired,
	UnknownService:      http.StatusNotFound,
	ServiceDisabled:     http.StatusConflict,
	KeyReused:           http.StatusConflict,
	InvalidInput:        http.StatusUnprocessableEntity,
	ServiceFailed:       http.StatusBadGateway,
	Internal:            http.StatusInternalServerError,
}

// Classify returns the code and status of what Registry.Run returned. A
// replayed run (an idempotency key seen before) is 200, not 201: nothing
// new was created.
func Classify(run services.Run, err error) (Code, int) {
	code := codeOf(run, err)
	if code == OK && run.Replayed {
		return code, http.StatusOK
	}
	return code, statuses[code]
}

func codeOf(run services.Run, err error) Code {
	var insufficient *credits.InsufficientError
	var input *services.InputError
	switch {
	case errors.As(err, &insufficient):
		return InsufficientCredits
	case errors.Is(err, services.ErrUnknown):
		return UnknownService
	case errors.Is(err, services.ErrDisabled):
		return ServiceDisabled
	case errors.Is(err, services.ErrKeyReused):
		return KeyReused
	case errors.As(err, &input):
		return InvalidInput
	case err != nil:
		return Internal
	case run.Status == services.StatusFailed:
		return ServiceFailed
	}
	return OK
}

// MaxKeyLength bounds an idempotency key.
const MaxKeyLength = 200

// ValidKey reports whether key may be an idempotency key: at most
// MaxKeyLength printable ASCII characters, no spaces. Empty means none.
func ValidKey(key string) bool {
	if len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Plural is the "s" a count of credits takes unless it is one.
func Plural(n int64) string {
	if n == 1 || n == -1 {
		return ""
	}
	return "s"
}
