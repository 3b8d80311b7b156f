package runs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
)

// Each way a run ends has one code and one status, whichever face asks.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		run        services.Run
		err        error
		wantCode   Code
		wantStatus int
	}{
		{services.Run{Status: services.StatusSucceeded}, nil, OK, http.StatusCreated},
		{services.Run{Status: services.StatusSucceeded, Replayed: true}, nil, OK, http.StatusOK},
		{services.Run{Status: services.StatusFailed}, nil, ServiceFailed, http.StatusBadGateway},
		{services.Run{}, fmt.Errorf("run: %w", &credits.InsufficientError{Balance: 0, Required: 1}), InsufficientCredits, http.StatusPaymentRequired},
		{services.Run{}, fmt.Errorf("run: %w", services.ErrUnknown), UnknownService, http.StatusNotFound},
		{services.Run{}, services.ErrDisabled, ServiceDisabled, http.StatusConflict},
		{services.Run{}, services.ErrKeyReused, KeyReused, http.StatusConflict},
		{services.Run{}, &services.InputError{Problem: "too long"}, InvalidInput, http.StatusUnprocessableEntity},
		{services.Run{}, errors.New("database gone"), Internal, http.StatusInternalServerError},
	} {
		code, status := Classify(tc.run, tc.err)
		assert.Equal(t, tc.wantCode, code, "Classify(%+v, %v)", tc.run, tc.err)
		assert.Equal(t, tc.wantStatus, status, "Classify(%+v, %v)", tc.run, tc.err)
	}
}

func TestValidKey(t *testing.T) {
	for _, key := range []string{"", "a", "550e8400-e29b-41d4-a716-446655440000", strings.Repeat("k", MaxKeyLength)} {
		assert.True(t, ValidKey(key), "ValidKey(%q)", key)
	}
	for _, key := range []string{"with space", "tab\t", "é", strings.Repeat("k", MaxKeyLength+1)} {
		assert.False(t, ValidKey(key), "ValidKey(%q)", key)
	}
}

func TestPlural(t *testing.T) {
	assert.Equal(t, "", Plural(1))
	assert.Equal(t, "", Plural(-1))
	assert.Equal(t, "s", Plural(0))
	assert.Equal(t, "s", Plural(2))
}
