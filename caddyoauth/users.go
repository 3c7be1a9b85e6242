package caddyoauth

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// subjectKeyPrefix names, in the KeyStore, the subject of each static
// user: a config user has no user record, and its sub must survive
// reloads, restarts, other nodes and backups as a stored user's does.
// LoadOrCreateKey makes the first node to provision it decide, once.
const subjectKeyPrefix = "subject/"

// staticUserRecords are the config's users as records, with their
// claims and, when OpenID Connect is on, their subjects (loaded, or made
// the first time, from the storage).
func (s *Server) staticUserRecords(ctx context.Context) (map[string]*store.User, error) {
	users := make(map[string]*store.User, len(s.cfg.Users))
	for _, uc := range s.cfg.Users {
		u := &store.User{Username: uc.Username, Claims: uc.Claims}
		if s.cfg.oidcEnabled() {
			raw, err := s.store.LoadOrCreateKey(ctx, subjectKeyPrefix+uc.Username, func() ([]byte, error) {
				sub, err := registry.NewSubject(rand.Reader)
				return []byte(sub), err
			})
			if err != nil {
				return nil, fmt.Errorf("the subject of user %q: %w", uc.Username, err)
			}
			u.Subject = string(raw)
		}
		users[uc.Username] = u
	}
	return users, nil
}

// userDirectory finds a user for OpenID Connect (sub and claims) as the
// password checker does: a static user first, then the storage.
type userDirectory struct {
	static map[string]*store.User
	st     store.UserStore
}

// GetUser returns the static user, else the stored one.
func (d userDirectory) GetUser(ctx context.Context, username string) (*store.User, error) {
	if u := d.static[username]; u != nil {
		return u, nil
	}
	return d.st.GetUser(ctx, username)
}
