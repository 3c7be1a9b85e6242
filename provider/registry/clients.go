package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func staticClientError(id string) error {
	return conflict("client %s is defined in the Caddyfile/config and cannot be changed through the API", id)
}

// CreateClient registers a client; an empty client_id is generated. A
// confidential client gets a fresh 256-bit secret, kept only as its
// SHA-256 and sealed; the answer carries it this once.
func (m *Manager) CreateClient(ctx context.Context, md ClientMetadata) (*ClientView, error) {
	if md.ClientID == "" {
		md.ClientID = rand.Text()
	}
	if md.Name == "" {
		return nil, invalid("name is required: it is shown to users on the consent page")
	}
	if err := m.policy.CheckClient(&md); err != nil {
		return nil, err
	}
	if _, ok := m.staticClients[md.ClientID]; ok {
		return nil, conflict("client %s is defined in the Caddyfile/config; choose another client_id", md.ClientID)
	}
	c := md.record()
	c.CreatedAt = m.Now().UTC().Truncate(time.Second)
	var secret string
	if !c.Public {
		var err error
		if secret, err = m.newSecret(c); err != nil {
			return nil, err
		}
	}
	if err := m.store.CreateClient(ctx, c); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, conflict("client %s already exists", c.ID)
		}
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "client_registered", ClientID: c.ID})
	v := viewOf(c)
	v.ClientSecret = secret
	return &v, nil
}

// newSecret gives c a fresh 256-bit secret and returns it for the one
// answer that shows it.
func (m *Manager) newSecret(c *store.Client) (string, error) {
	secret, err := provider.NewToken(nil)
	if err != nil {
		return "", err
	}
	return secret, setSecret(c, secret, m.sealer)
}

// storedClient returns the stored client id for a change: a static one is
// a Conflict, a missing one NotFound.
func (m *Manager) storedClient(ctx context.Context, id string) (*store.Client, error) {
	if _, ok := m.staticClients[id]; ok {
		return nil, staticClientError(id)
	}
	c, err := m.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %s", id)
	}
	return c, err
}

// saveClient writes back a changed stored client (NotFound if it was
// deleted meanwhile).
func (m *Manager) saveClient(ctx context.Context, c *store.Client) error {
	err := m.store.UpdateClient(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no client %s", c.ID)
	}
	return err
}

// RotateSecret replaces a stored confidential client's secret with a new
// one, shown in this answer only. The old secret stops working at once,
// for OAuth 2 client authentication and OAuth 1 signatures alike; tokens
// already issued stay valid (revoke them too when the old secret leaked).
func (m *Manager) RotateSecret(ctx context.Context, id string) (*ClientView, error) {
	c, err := m.storedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Public {
		return nil, invalid("client %s is public and has no secret", id)
	}
	secret, err := m.newSecret(c)
	if err != nil {
		return nil, err
	}
	if err := m.saveClient(ctx, c); err != nil {
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "client_secret_rotated", ClientID: id})
	v := viewOf(c)
	v.ClientSecret = secret
	return &v, nil
}

// ListClients returns the static and the stored clients, by ID. A stored
// client shadowed by a static one of the same ID is not shown: requests
// resolve to the static one.
func (m *Manager) ListClients(ctx context.Context) ([]ClientView, error) {
	stored, err := m.store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ClientView, 0, len(m.staticClients)+len(stored))
	for _, v := range m.staticClients {
		out = append(out, v)
	}
	for _, c := range stored {
		if _, ok := m.staticClients[c.ID]; !ok {
			out = append(out, viewOf(c))
		}
	}
	slices.SortFunc(out, func(a, b ClientView) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// GetClient returns one client, static or stored.
func (m *Manager) GetClient(ctx context.Context, id string) (*ClientView, error) {
	if v, ok := m.staticClients[id]; ok {
		return &v, nil
	}
	c, err := m.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %s", id)
	}
	if err != nil {
		return nil, err
	}
	v := viewOf(c)
	return &v, nil
}

// UpdateClient changes a stored client: change edits a copy of its
// metadata (the admin API decodes a JSON merge patch onto it), which is
// then validated as a registration is. client_id and public cannot change:
// a public client turned confidential would need a secret, so that is a
// new registration.
func (m *Manager) UpdateClient(ctx context.Context, id string, change func(*ClientMetadata) error) (*ClientView, error) {
	c, err := m.storedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	md := MetadataOf(c)
	if err := change(&md); err != nil {
		return nil, err
	}
	if md.ClientID != id {
		return nil, invalid("client_id cannot be changed; register a new client instead")
	}
	if md.Public != c.Public {
		return nil, invalid("public cannot be changed (a public client has no secret); register a new client instead")
	}
	if err := m.policy.CheckClient(&md); err != nil {
		return nil, err
	}
	setMetadata(c, &md)
	if err := m.saveClient(ctx, c); err != nil {
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "client_updated", ClientID: id})
	v := viewOf(c)
	return &v, nil
}

// DeleteClient revokes a stored client's tokens, deletes it and forgets the
// consents users gave it.
func (m *Manager) DeleteClient(ctx context.Context, id string) (*RevokeResult, error) {
	if _, ok := m.staticClients[id]; ok {
		return nil, staticClientError(id)
	}
	n, err := m.remove(ctx, removal{
		what: "client", name: id,
		get:    func(ctx context.Context) error { _, err := m.store.GetClient(ctx, id); return err },
		delete: func(ctx context.Context) error { return m.store.DeleteClient(ctx, id) },
		revoke: func(ctx context.Context) (int, error) { return m.revoker.RevokeClient(ctx, id) },
		consents: func(ctx context.Context) ([][2]string, error) {
			users, err := m.ListUsers(ctx)
			pairs := make([][2]string, len(users))
			for i, u := range users {
				pairs[i] = [2]string{u.Username, id}
			}
			return pairs, err
		},
	})
	if err != nil {
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "client_deleted", ClientID: id, Revoked: n})
	return &RevokeResult{ClientID: id, Revoked: n}, nil
}
