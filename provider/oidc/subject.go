package oidc

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// subjectOf is the sub of the user named username (Core §2: locally
// unique and never reassigned): the subject made when the user was
// created. A user without a record (authenticated by an earlier handler,
// user_from) or stored before subjects existed keeps the username, the
// sub relying parties already know. A storage failure is returned as it
// is, so the caller answers 503 or 500, never a wrong sub.
func (p *Provider) subjectOf(ctx context.Context, username string) (string, error) {
	u, err := p.user(ctx, username)
	if err != nil {
		return "", err
	}
	return subject(username, u), nil
}

// user is the record of username, nil if there is none.
func (p *Provider) user(ctx context.Context, username string) (*store.User, error) {
	u, err := p.users.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: looking up user %q: %w", username, err)
	}
	return u, nil
}

// subject is the sub of username whose record is u (nil: none).
func subject(username string, u *store.User) string {
	if u == nil || u.Subject == "" {
		return username
	}
	return u.Subject
}
