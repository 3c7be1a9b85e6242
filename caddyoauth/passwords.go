package caddyoauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// passwordChecker verifies resource owner passwords with Caddy's own bcrypt
// and argon2id comparers (the formats `caddy hash-password` prints): static
// users from the config first, then users in the store. An unknown user is
// compared against a dummy hash so that the answer takes as long as for a
// known one and does not reveal which usernames exist.
type passwordChecker struct {
	static map[string][]byte
	users  store.UserStore

	// dummyCost is the bcrypt cost of the static users' hashes (0: none),
	// so the dummy hash costs what a real comparison costs.
	dummyCost int
	dummyOnce sync.Once
	dummy     []byte
}

func newPasswordChecker(users []UserConfig, st store.UserStore) (*passwordChecker, error) {
	pc := &passwordChecker{static: make(map[string][]byte, len(users)), users: st}
	for i, u := range users {
		if u.Username == "" || u.PasswordHash == "" {
			return nil, fmt.Errorf("user %d: username and password_hash are required", i)
		}
		if _, dup := pc.static[u.Username]; dup {
			return nil, fmt.Errorf("user %q: defined twice", u.Username)
		}
		if err := checkPasswordHash(u.PasswordHash); err != nil {
			return nil, fmt.Errorf("user %q: %v", u.Username, err)
		}
		if err := registry.CheckClaims(&u.Claims); err != nil {
			return nil, fmt.Errorf("user %q: %v", u.Username, err)
		}
		if cost, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && pc.dummyCost == 0 {
			pc.dummyCost = cost
		}
		pc.static[u.Username] = []byte(u.PasswordHash)
	}
	return pc, nil
}

// checkPasswordHash accepts what `caddy hash-password` prints: bcrypt
// ($2a$, $2b$, $2y$) or argon2id ($argon2id$...).
func checkPasswordHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		if _, _, err := caddyauth.DecodeHash([]byte(h)); err != nil {
			return fmt.Errorf("invalid argon2id hash: %v", err)
		}
	case strings.HasPrefix(h, "$2"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return fmt.Errorf("invalid bcrypt hash: %v", err)
		}
	default:
		return errors.New("password_hash must be a bcrypt or argon2id hash (use `caddy hash-password`)")
	}
	return nil
}

// comparerFor picks Caddy's comparer for a hash's format.
func comparerFor(hash []byte) caddyauth.Comparer {
	if strings.HasPrefix(string(hash), "$argon2id$") {
		return caddyauth.Argon2idHash{}
	}
	return caddyauth.BcryptHash{}
}

// dummyHash is compared against when the user does not exist. Caddy's
// bcrypt fake hash has cost 14 (what `caddy hash-password` uses); when the
// static users were hashed with another cost, a dummy of that cost is made
// once, on first need.
func (pc *passwordChecker) dummyHash() []byte {
	fake := caddyauth.BcryptHash{}.FakeHash()
	if pc.dummyCost == 0 {
		return fake
	}
	pc.dummyOnce.Do(func() {
		if c, err := bcrypt.Cost(fake); err == nil && c == pc.dummyCost {
			pc.dummy = fake
			return
		}
		h, err := bcrypt.GenerateFromPassword([]byte("caddy-oauth dummy password"), pc.dummyCost)
		if err != nil {
			h = fake
		}
		pc.dummy = h
	})
	return pc.dummy
}

// CheckPassword implements provider.PasswordChecker.
func (pc *passwordChecker) CheckPassword(ctx context.Context, username, password string) (bool, error) {
	hash, known := pc.static[username]
	if !known && pc.users != nil && username != "" {
		u, err := pc.users.GetUser(ctx, username)
		switch {
		case err == nil:
			hash, known = []byte(u.PasswordHash), true
		case !errors.Is(err, store.ErrNotFound):
			return false, err
		}
	}
	if !known {
		hash = pc.dummyHash()
	}
	same, err := comparerFor(hash).Compare(hash, []byte(password))
	if err != nil {
		return false, err
	}
	return same && known, nil
}

// Interface guards
var _ provider.PasswordChecker = (*passwordChecker)(nil)
