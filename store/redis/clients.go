package redis

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var clientRecords = records[store.Client]{
	what: "client",
	key:  keys.clients,
	name: func(c *store.Client) string { return c.ID },
}

// CreateClient stores a new client; store.ErrExists if the id is taken.
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	return clientRecords.create(ctx, s, c)
}

// GetClient returns a client; store.ErrNotFound if there is none.
func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return clientRecords.get(ctx, s, id)
}

// ListClients returns every stored client, sorted by id.
func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	return clientRecords.list(ctx, s)
}

// UpdateClient replaces a client (a secret rotation too) and returns once
// every live node's ClientVersion has changed; store.ErrNotFound if none.
func (s *Store) UpdateClient(ctx context.Context, c *store.Client) error {
	err := clientRecords.update(ctx, s, c)
	if err == errNoName {
		return err
	}
	return s.changedClients(ctx, err)
}

// DeleteClient removes a client and returns once every live node's
// ClientVersion has changed; store.ErrNotFound if none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.changedClients(ctx, clientRecords.delete(ctx, s, id))
}
