package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Store is the storage a Manager changes.
type Store interface {
	store.ClientStore
	store.UserStore
	store.ConsentStore
}

// Revoker revokes every token of a user or client. Online it is the OAuth 2
// engine, whose verification cache must forget the tokens (revoking in the
// store alone would leave them usable until a cache entry expires);
// offline, with no engine running, it is the store.
type Revoker interface {
	RevokeUser(ctx context.Context, user string) (int, error)
	RevokeClient(ctx context.Context, clientID string) (int, error)
}

// Manager registers, changes and removes the clients and users of one
// server's storage, with the same rules and answers for the admin API and
// the CLI. Static clients and users come from the config: they are shown,
// never changed, and their names cannot be registered.
type Manager struct {
	store   Store
	sealer  *provider.Sealer
	revoker Revoker
	policy  Policy
	audit   provider.Auditor

	staticClients map[string]ClientView
	staticUsers   map[string]*UserView

	// PasswordCost is the bcrypt cost of the password hashes it makes.
	PasswordCost int
	// Now is the clock creation times come from.
	Now func() time.Time
	// Rand is where new subjects come from.
	Rand io.Reader
}

// NewManager returns a manager over st. Client secrets are sealed with
// sealer; revocations go through rev; events (registrations, removals)
// go to audit.
func NewManager(st Store, sealer *provider.Sealer, rev Revoker, policy Policy, audit provider.Auditor) *Manager {
	return &Manager{
		store: st, sealer: sealer, revoker: rev, policy: policy, audit: audit,
		staticClients: make(map[string]ClientView),
		staticUsers:   make(map[string]*UserView),
		PasswordCost:  DefaultPasswordCost,
		Now:           time.Now,
		Rand:          rand.Reader,
	}
}

// AddStaticClient declares a client of the config, as it is shown.
func (m *Manager) AddStaticClient(v ClientView) {
	v.Static, v.CreatedAt, v.ClientSecret = true, nil, ""
	m.staticClients[v.ClientID] = v
}

// AddStaticClientRecord declares a resolved client of the config.
func (m *Manager) AddStaticClientRecord(c *store.Client) { m.AddStaticClient(viewOf(c)) }

// AddStaticUser declares a user of the config.
func (m *Manager) AddStaticUser(name string) { m.AddStaticUserRecord(&store.User{Username: name}) }

// AddStaticUserRecord declares a user of the config with its claims and,
// when known, its subject; the password hash is never shown.
func (m *Manager) AddStaticUserRecord(u *store.User) {
	v := userViewOf(u)
	v.Static, v.CreatedAt = true, nil
	m.staticUsers[u.Username] = v
}

// RevokeResult says how many tokens a revocation or a removal revoked.
type RevokeResult struct {
	User     string `json:"user,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Revoked  int    `json:"revoked"`
}

// Revoke revokes every token of exactly one of a user or a client, static
// or not.
func (m *Manager) Revoke(ctx context.Context, user, clientID string) (*RevokeResult, error) {
	var (
		n   int
		err error
	)
	switch {
	case (user == "") == (clientID == ""):
		return nil, invalid(`name exactly one of "user" or "client_id"`)
	case user != "":
		n, err = m.revoker.RevokeUser(ctx, user)
	default:
		n, err = m.revoker.RevokeClient(ctx, clientID)
	}
	if err != nil {
		return nil, fmt.Errorf("revoking tokens: %v", err)
	}
	return &RevokeResult{User: user, ClientID: clientID, Revoked: n}, nil
}

// removal is the deletion of a user or a client, which the same steps
// carry out: revoke its tokens, delete it, revoke again, forget consents.
type removal struct {
	what, name string
	get        func(context.Context) error
	delete     func(context.Context) error
	revoke     func(context.Context) (int, error)
	// consents are the (user, client) pairs whose consent to forget.
	consents func(context.Context) ([][2]string, error)
}

// remove carries out r. Revoking again after the deletion catches a token
// that a request authenticated just before it stored since the first
// revocation; forgetting the consents keeps a later registration of the
// same name from inheriting them.
func (m *Manager) remove(ctx context.Context, r removal) (int, error) {
	if err := r.get(ctx); errors.Is(err, store.ErrNotFound) {
		return 0, notFound("no %s %s", r.what, r.name)
	} else if err != nil {
		return 0, err
	}
	n, err := r.revoke(ctx)
	if err != nil {
		return 0, fmt.Errorf("revoking the tokens of %s %s: %v", r.what, r.name, err)
	}
	if err := r.delete(ctx); errors.Is(err, store.ErrNotFound) {
		return 0, notFound("no %s %s", r.what, r.name)
	} else if err != nil {
		return 0, err
	}
	late, err := r.revoke(ctx)
	if err != nil {
		return 0, fmt.Errorf("revoking the tokens of %s %s: %v", r.what, r.name, err)
	}
	pairs, err := r.consents(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range pairs {
		if err := m.store.DeleteConsent(ctx, p[0], p[1]); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("forgetting consents: %v", err)
		}
	}
	return n + late, nil
}
