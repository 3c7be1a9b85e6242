package provider

import (
	"context"
	"errors"
	"sync"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Clients resolves client IDs: static clients from config first (they never
// reach the store and cannot be changed through it), then the store.
type Clients struct {
	mu     sync.RWMutex
	static map[string]*store.Client
	store  store.ClientStore
}

// NewClients returns a registry over st with the given static clients.
func NewClients(st store.ClientStore, static ...*store.Client) *Clients {
	c := &Clients{static: make(map[string]*store.Client, len(static)), store: st}
	for _, cl := range static {
		c.static[cl.ID] = cl
	}
	return c
}

// Get returns the client or store.ErrNotFound.
func (c *Clients) Get(ctx context.Context, id string) (*store.Client, error) {
	if id == "" {
		return nil, store.ErrNotFound
	}
	c.mu.RLock()
	cl, ok := c.static[id]
	c.mu.RUnlock()
	if ok {
		return cl, nil
	}
	if c.store == nil {
		return nil, store.ErrNotFound
	}
	return c.store.GetClient(ctx, id)
}

// IsStatic reports whether id names a client from config.
func (c *Clients) IsStatic(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.static[id]
	return ok
}

// Static returns the static clients.
func (c *Clients) Static() []*store.Client {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*store.Client, 0, len(c.static))
	for _, cl := range c.static {
		out = append(out, cl)
	}
	return out
}

// ErrStaticClient is returned when the store is asked to change a client
// that comes from config.
var ErrStaticClient = errors.New("client is defined in the config and cannot be changed here")

// HasGrant reports whether the client may use grant; a client with no
// grants listed may use every grant the server enables.
func HasGrant(c *store.Client, grant string) bool {
	if len(c.Grants) == 0 {
		return true
	}
	for _, g := range c.Grants {
		if g == grant {
			return true
		}
	}
	return false
}
