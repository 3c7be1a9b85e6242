package redis

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// PutConsent stores (or replaces) the consent of a user for a client.
func (s *Store) PutConsent(ctx context.Context, c *store.Consent) error {
	if c == nil {
		return errors.New("store/redis: nil consent")
	}
	d, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.setJSON(ctx, s.keys.consent(c.User, c.ClientID), d, time.Time{})
}

// GetConsent returns the consent of user for clientID; store.ErrNotFound
// if there is none.
func (s *Store) GetConsent(ctx context.Context, user, clientID string) (*store.Consent, error) {
	c := new(store.Consent)
	if err := s.getJSON(ctx, s.keys.consent(user, clientID), "consent", c); err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteConsent removes a consent; a missing one is not an error.
func (s *Store) DeleteConsent(ctx context.Context, user, clientID string) error {
	return wrap(s.rdb.Del(ctx, s.keys.consent(user, clientID)).Err())
}
