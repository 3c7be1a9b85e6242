package storetest

import (
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleCode(ttl time.Duration) *store.Code {
	issued := now()
	return &store.Code{
		Hash:                newHash(),
		ClientID:            "client-1",
		User:                "alice",
		RedirectURI:         "https://app.example/cb",
		Scopes:              []string{"read"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Family:              "fam-code",
		IssuedAt:            issued,
		ExpiresAt:           issued.Add(ttl),
		Nonce:               "n-0S6_WzA2Mj",
		AuthTime:            issued.Add(-time.Hour),
		AMR:                 []string{"pwd"},
	}
}

func (h harness) testCodes(t *testing.T) {
	t.Run("a code is consumed once and then reports ErrConsumed with the code", func(t *testing.T) {
		s := h.store(t)
		c := sampleCode(time.Minute)
		mustErr(t, "SaveCode", s.SaveCode(t.Context(), c), nil)

		got, err := s.ConsumeCode(t.Context(), c.Hash)
		mustErr(t, "ConsumeCode", err, nil)
		want := *c
		want.Consumed = true
		mustEqual(t, "ConsumeCode", got, &want)

		again, err := s.ConsumeCode(t.Context(), c.Hash)
		mustErr(t, "ConsumeCode again", err, store.ErrConsumed)
		// The replayed code comes back whole, with its original expiry, so
		// the caller can revoke its family.
		mustEqual(t, "ConsumeCode again", again, &want)
	})

	t.Run("an unknown code is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		got, err := s.ConsumeCode(t.Context(), newHash())
		mustErr(t, "ConsumeCode", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("ConsumeCode returned %+v with ErrNotFound", got)
		}
	})

	t.Run("an expired code is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		c := sampleCode(-time.Second)
		mustErr(t, "SaveCode", s.SaveCode(t.Context(), c), nil)
		_, err := s.ConsumeCode(t.Context(), c.Hash)
		mustErr(t, "ConsumeCode", err, store.ErrNotFound)
	})

	t.Run("codes are independent of each other", func(t *testing.T) {
		s := h.store(t)
		a, b := sampleCode(time.Minute), sampleCode(time.Minute)
		mustErr(t, "SaveCode a", s.SaveCode(t.Context(), a), nil)
		mustErr(t, "SaveCode b", s.SaveCode(t.Context(), b), nil)
		_, err := s.ConsumeCode(t.Context(), a.Hash)
		mustErr(t, "ConsumeCode a", err, nil)
		got, err := s.ConsumeCode(t.Context(), b.Hash)
		mustErr(t, "ConsumeCode b", err, nil)
		mustEqual(t, "code b's hash", got.Hash, b.Hash)
	})
}
