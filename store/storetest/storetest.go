// Package storetest is the conformance suite every store.Store backend
// must pass. A backend's test calls Run with a function opening a fresh,
// empty store, and RunPersistence with one opening a store in a directory:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// The suite closes every store it opens; open must not register a Close
// itself. Expiry is tested with items whose ExpiresAt is already past,
// plus one test that waits about two seconds of real time, since a backend
// may expire items by wall clock (Badger's TTLs have whole seconds).
package storetest

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Run runs the conformance suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	h := harness{open: open}
	t.Run("clients", h.testClients)
	t.Run("users", h.testUsers)
	t.Run("codes", h.testCodes)
	t.Run("tokens", h.testTokens)
	t.Run("refresh rotation", h.testRotation)
	t.Run("revocation", h.testRevocation)
	t.Run("nonces", h.testNonces)
	t.Run("sessions", h.testSessions)
	t.Run("consents", h.testConsents)
	t.Run("keys", h.testKeys)
	t.Run("login attempts", h.testAttempts)
	t.Run("listing", h.testListing)
	t.Run("device authorizations", h.testDevices)
	t.Run("change counters", h.testVersions)
	t.Run("races", h.testRaces)
	t.Run("expiry", h.testExpiry)
}

// harness opens the stores of one Run.
type harness struct {
	open func(t *testing.T) store.Store
}

// store opens a fresh store that is closed when t ends.
func (h harness) store(t *testing.T) store.Store {
	t.Helper()
	s := h.open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
