package badger

import (
	"context"
	"errors"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoClientID = errors.New("store/badger: client without id")

// clientRecords are the dynamically registered clients, by id.
var clientRecords = &records[store.Client]{
	what:      "client",
	key:       clientKey,
	prefix:    prefixClient,
	name:      func(c *store.Client) string { return c.ID },
	errNoName: errNoClientID,
	// A cached client must be re-read after any update or deletion
	// (versions.go).
	changed: func(d *DB) { d.versions.ClientsChanged() },
}

// CreateClient stores a new client; store.ErrExists if the id is taken.
func (d *DB) CreateClient(ctx context.Context, c *store.Client) error {
	return clientRecords.create(ctx, d, c)
}

// GetClient returns the client with id; store.ErrNotFound if none.
func (d *DB) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return clientRecords.get(ctx, d, id)
}

// ListClients returns every client, sorted by id.
func (d *DB) ListClients(ctx context.Context) ([]*store.Client, error) {
	return clientRecords.list(ctx, d)
}

// UpdateClient replaces an existing client; store.ErrNotFound if none.
func (d *DB) UpdateClient(ctx context.Context, c *store.Client) error {
	return clientRecords.update(ctx, d, c)
}

// DeleteClient removes a client; store.ErrNotFound if none. Its tokens are
// the caller's to revoke (RevokeClient).
func (d *DB) DeleteClient(ctx context.Context, id string) error {
	return clientRecords.delete(ctx, d, id)
}
