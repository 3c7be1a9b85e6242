package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// DefaultPasswordCost is the bcrypt cost of passwords set through the
// admin API or CLI: what `caddy hash-password` uses by default, and the
// cost of the dummy hash unknown users are compared against, so that a
// login attempt takes as long for a stored user as for an unknown one.
const DefaultPasswordCost = 14

// Limits on users and passwords.
const (
	maxUsernameLen = 128
	minPasswordLen = 8  // NIST SP 800-63B §5.1.1.2
	maxPasswordLen = 72 // bcrypt uses (and Go's bcrypt accepts) at most 72 bytes
)

// UserView is a user as the admin API shows it, never with a hash.
type UserView struct {
	Username string `json:"username"`
	Static   bool   `json:"static"`
	// Subject is the OpenID Connect sub; empty for a user stored before
	// subjects existed (whose sub is the username) and for a static user
	// shown offline.
	Subject   string       `json:"sub,omitempty"`
	Claims    store.Claims `json:"claims,omitzero"`
	CreatedAt *time.Time   `json:"created_at,omitempty"`
	UpdatedAt *time.Time   `json:"updated_at,omitempty"`
}

func userViewOf(u *store.User) *UserView {
	v := &UserView{Username: u.Username, Subject: u.Subject, Claims: u.Claims}
	if !u.CreatedAt.IsZero() {
		t := u.CreatedAt
		v.CreatedAt = &t
	}
	if !u.UpdatedAt.IsZero() {
		t := u.UpdatedAt
		v.UpdatedAt = &t
	}
	return v
}

// subjectBytes is the entropy of a subject: 128 bits, never reused by
// chance.
const subjectBytes = 16

// NewSubject returns a new random subject (sub): 128 bits from r,
// base64url without padding. It says nothing of the user, so relying
// parties learn no username from it, and a user added again under the
// same name gets another one.
func NewSubject(r io.Reader) (string, error) {
	b := make([]byte, subjectBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generating a subject: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func staticUserError(name string) error {
	return conflict("user %s is defined in the Caddyfile/config and cannot be changed through the API", name)
}

// CheckUsername accepts letters, digits and . _ - @ +: names that are safe
// in X-OAuth-User headers, logs and HTTP Basic credentials (no ':').
func CheckUsername(name string) error {
	if name == "" {
		return invalid("username is required")
	}
	if len(name) > maxUsernameLen || !utf8.ValidString(name) {
		return invalid("username must be at most %d bytes of UTF-8", maxUsernameLen)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@+", r) {
			return invalid("username %q: only letters, digits and . _ - @ + are allowed", name)
		}
	}
	return nil
}

// hashPassword checks a new password and hashes it with bcrypt.
func (m *Manager) hashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < minPasswordLen {
		return "", invalid("password must be at least %d characters", minPasswordLen)
	}
	if len(password) > maxPasswordLen {
		return "", invalid("password must be at most %d bytes (bcrypt ignores the rest)", maxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), m.PasswordCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %v", err)
	}
	return string(h), nil
}

// CreateUser adds a user to the storage, with its standard claims and a
// new subject.
func (m *Manager) CreateUser(ctx context.Context, username, password string, claims store.Claims) (*UserView, error) {
	if err := CheckUsername(username); err != nil {
		return nil, err
	}
	if m.staticUsers[username] != nil {
		return nil, conflict("user %s is defined in the Caddyfile/config", username)
	}
	if err := CheckClaims(&claims); err != nil {
		return nil, err
	}
	h, err := m.hashPassword(password)
	if err != nil {
		return nil, err
	}
	sub, err := NewSubject(m.Rand)
	if err != nil {
		return nil, err
	}
	now := m.Now().UTC().Truncate(time.Second)
	u := &store.User{Username: username, PasswordHash: h, Subject: sub, Claims: claims, CreatedAt: now, UpdatedAt: now}
	if err := m.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, conflict("user %s already exists", username)
		}
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "user_added", User: username})
	return userViewOf(u), nil
}

// ListUsers returns the static and the stored users, by name.
func (m *Manager) ListUsers(ctx context.Context) ([]UserView, error) {
	stored, err := m.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserView, 0, len(m.staticUsers)+len(stored))
	for _, v := range m.staticUsers {
		out = append(out, *v)
	}
	for _, u := range stored {
		if m.staticUsers[u.Username] == nil {
			out = append(out, *userViewOf(u))
		}
	}
	slices.SortFunc(out, func(a, b UserView) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// GetUser returns one user, static or stored.
func (m *Manager) GetUser(ctx context.Context, name string) (*UserView, error) {
	if v := m.staticUsers[name]; v != nil {
		c := *v
		return &c, nil
	}
	u, err := m.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %s", name)
	}
	if err != nil {
		return nil, err
	}
	return userViewOf(u), nil
}

// SetPassword replaces a stored user's password. Tokens already issued
// stay valid; revoke them as well if the old password leaked.
func (m *Manager) SetPassword(ctx context.Context, name, password string) error {
	if m.staticUsers[name] != nil {
		return staticUserError(name)
	}
	u, err := m.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no user %s", name)
	}
	if err != nil {
		return err
	}
	if u.PasswordHash, err = m.hashPassword(password); err != nil {
		return err
	}
	if err := m.store.UpdateUser(ctx, u); errors.Is(err, store.ErrNotFound) {
		return notFound("no user %s", name)
	} else if err != nil {
		return err
	}
	m.audit.Emit(provider.Event{Name: "user_password_changed", User: name})
	return nil
}

// UpdateClaims changes a stored user's standard claims with edit, which
// gets a copy of the current ones. The subject and password stay;
// updated_at moves to now when the claims changed.
func (m *Manager) UpdateClaims(ctx context.Context, name string, edit func(*store.Claims) error) (*UserView, error) {
	if m.staticUsers[name] != nil {
		return nil, staticUserError(name)
	}
	u, err := m.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %s", name)
	}
	if err != nil {
		return nil, err
	}
	claims := u.Claims
	if err := edit(&claims); err != nil {
		return nil, err
	}
	if err := CheckClaims(&claims); err != nil {
		return nil, err
	}
	if claims == u.Claims {
		return userViewOf(u), nil
	}
	u.Claims, u.UpdatedAt = claims, m.Now().UTC().Truncate(time.Second)
	if err := m.store.UpdateUser(ctx, u); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %s", name)
	} else if err != nil {
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "user_claims_changed", User: name})
	return userViewOf(u), nil
}

// PatchClaims changes a stored user's claims by a JSON merge patch
// (MergeClaims).
func (m *Manager) PatchClaims(ctx context.Context, name string, patch json.RawMessage) (*UserView, error) {
	return m.UpdateClaims(ctx, name, func(c *store.Claims) error { return MergeClaims(c, patch) })
}

// DeleteUser revokes a stored user's tokens, deletes the user and forgets
// their consents.
func (m *Manager) DeleteUser(ctx context.Context, name string) (*RevokeResult, error) {
	if m.staticUsers[name] != nil {
		return nil, staticUserError(name)
	}
	n, err := m.remove(ctx, removal{
		what: "user", name: name,
		get:    func(ctx context.Context) error { _, err := m.store.GetUser(ctx, name); return err },
		delete: func(ctx context.Context) error { return m.store.DeleteUser(ctx, name) },
		revoke: func(ctx context.Context) (int, error) { return m.revoker.RevokeUser(ctx, name) },
		consents: func(ctx context.Context) ([][2]string, error) {
			clients, err := m.ListClients(ctx)
			pairs := make([][2]string, len(clients))
			for i, c := range clients {
				pairs[i] = [2]string{name, c.ClientID}
			}
			return pairs, err
		},
	})
	if err != nil {
		return nil, err
	}
	m.audit.Emit(provider.Event{Name: "user_deleted", User: name, Revoked: n})
	return &RevokeResult{User: name, Revoked: n}, nil
}
