package badger

import (
	"context"
	"errors"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoConsent = errors.New("store/badger: nil consent")

// PutConsent stores (replacing) the scopes c.User approved for c.ClientID.
func (d *DB) PutConsent(ctx context.Context, c *store.Consent) error {
	if c == nil {
		return errNoConsent
	}
	val, err := encode(c)
	if err != nil {
		return err
	}
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		return set(txn, consentKey(c.User, c.ClientID), val, zeroTime)
	})
}

// GetConsent returns the consent of user for clientID; store.ErrNotFound
// if none was remembered.
func (d *DB) GetConsent(ctx context.Context, user, clientID string) (*store.Consent, error) {
	c := new(store.Consent)
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return get(txn, consentKey(user, clientID), "consent", c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteConsent forgets a consent; forgetting one never given is not an
// error.
func (d *DB) DeleteConsent(ctx context.Context, user, clientID string) error {
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		return txn.Delete(consentKey(user, clientID))
	})
}
