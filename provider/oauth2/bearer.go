package oauth2

import (
	"context"
	"errors"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// maxTokenLen bounds what is hashed and looked up: opaque tokens are 43
// characters, JWTs a few hundred (under 1 KiB with RS256); anything much
// longer is not ours.
const maxTokenLen = 4096

// VerifyBearer checks an access token presented to a protected resource
// (RFC 6750) and returns who it stands for. Only OAuth 2 access tokens
// count: a refresh token or OAuth 1 credential is invalid_token, as are
// unknown, expired and revoked ones (§3.1, 401). Scope checks are the
// caller's (insufficient_scope, 403).
//
// Verified tokens are cached in memory (Config.CacheSize), keyed by their
// SHA-256, so a repeated token costs a map lookup instead of a store read.
// The cache never answers more permissively than the store: an entry is
// checked against the Clock on every hit, and every revocation made
// through this Server (Revoke, code replay, refresh token reuse,
// RevokeUser, RevokeClient) invalidates it before it returns. Changes made
// elsewhere (the store directly, another Server over the same store,
// another Caddy node over the same Redis) are seen through the store's
// ChangeCounter: an entry remembers its token's counter, read before the
// store read that verified it, and a hit whose counter has moved is a
// miss. So a hit costs no store round trip, and a token revoked anywhere
// is refused here once the revocation has returned (store/redis keeps its
// counters "always changing" while it may have missed an invalidation).
// Unknown tokens are never cached, so garbage cannot flood out live
// entries.
//
// JWT access tokens (TokenFormatJWT) go through the same cache and the
// same store: a cache hit is answered at once, since the entry proves an
// earlier full verification of exactly this token. On a miss, a JWT is
// checked cheapest first: its header (kid among the published keys, alg,
// typ) and claims (exp, nbf, iss, aud; RFC 9068 §4) without any
// cryptography, then the store by hash like an opaque token (a JWT this
// server never issued, or revoked, ends there), and only then its
// signature, so a flood of well-formed garbage costs a store miss rather
// than a signature verification each. A revoked JWT is refused at once
// here, although a gateway verifying it with the JWK Set alone accepts it
// until its exp. Opaque tokens stay
// valid after a switch to JWTs (and the other way round): both are found
// by hash.
//
// The Identity returned is the caller's own copy.
func (s *Server) VerifyBearer(ctx context.Context, token string) (*provider.Identity, *provider.Error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, invalidToken()
	}
	key := bearerKey(token)
	if s.bearers != nil {
		if ent, ok := s.bearers.Get(key, s.now()); ok && s.st.TokenVersion(key[:]) == ent.version {
			return copyIdentity(&ent.id), nil
		}
	}
	if s.keys != nil && jwtShaped(token) {
		u, e := s.checkJWT(token)
		if e != nil {
			return nil, e
		}
		// The signature, the costly step, comes last: a well-formed JWT
		// this server never issued is refused by the store read.
		return s.verifyStored(ctx, key, func() *provider.Error {
			if _, err := u.VerifySignature(); err != nil {
				return invalidToken()
			}
			return nil
		})
	}
	return s.verifyStored(ctx, key, nil)
}

// checkJWT applies the checks of a JWT that need no signature verification
// (header, kid, alg, typ, claims), before the store is asked.
func (s *Server) checkJWT(token string) (*jwt.Unverified, *provider.Error) {
	u, err := s.keys.Check(token, s.now())
	if err != nil {
		if errors.Is(err, jwt.ErrInvalidToken) {
			return nil, invalidToken()
		}
		// The key store failed while the keys rotated.
		return nil, s.storeFailed("jwt keys", err)
	}
	return u, nil
}

// bearerKey is the SHA-256 the store and cache key a token by, without
// allocating for JWT-sized tokens.
func bearerKey(token string) cache.Key { return cache.KeyOfToken(token) }

// verifyStored looks the token up in the store and caches a valid access
// token; verify, if set, must also pass for a stored one (a JWT's
// signature). It takes the key by value so that only this slow path pays
// for the key escaping to the heap.
func (s *Server) verifyStored(ctx context.Context, key cache.Key, verify func() *provider.Error) (*provider.Identity, *provider.Error) {
	// The ticket and the change counter are taken before the store read:
	// if a revocation here lands between the read and the Put, the Put is
	// refused; if one elsewhere does, the entry's counter is already stale.
	ticket := s.bearers.Ticket(key)
	version := s.st.TokenVersion(key[:])
	t, err := s.st.GetToken(ctx, key[:])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidToken()
	case err != nil:
		return nil, s.storeFailed("get token", err)
	}
	if t.Kind != store.KindAccess || s.expired(t.ExpiresAt) {
		return nil, invalidToken()
	}
	if verify != nil {
		if e := verify(); e != nil {
			return nil, e
		}
	}
	id := provider.Identity{
		User:      t.User,
		ClientID:  t.ClientID,
		Scopes:    t.Scopes,
		Protocol:  provider.ProtocolOAuth2,
		ExpiresAt: t.ExpiresAt,
	}
	s.bearers.Put(ticket, key, bearerEntry{id: id, version: version}, t.ExpiresAt)
	return copyIdentity(&id), nil
}

// bearerEntry is a cached verification: the identity, and the token's
// change counter when it was read.
type bearerEntry struct {
	id      provider.Identity
	version uint64
}

// identityBox holds a returned Identity and, for the usual few scopes, the
// backing array of its Scopes, so a cache hit costs one allocation while
// the caller still cannot reach (and change) the cached slice.
type identityBox struct {
	id     provider.Identity
	scopes [4]string
}

func copyIdentity(id *provider.Identity) *provider.Identity {
	b := &identityBox{id: *id}
	if n := len(id.Scopes); n <= len(b.scopes) {
		copy(b.scopes[:], id.Scopes)
		b.id.Scopes = b.scopes[:n:n]
	} else {
		b.id.Scopes = append([]string(nil), id.Scopes...)
	}
	if id.Scopes == nil {
		b.id.Scopes = nil
	}
	return &b.id
}

// forgetBearer drops one access token from the verification cache after
// the store revoked it.
func (s *Server) forgetBearer(hash []byte) {
	if len(hash) == len(cache.Key{}) {
		s.bearers.Invalidate(cache.Key(hash))
	} else {
		s.bearers.InvalidateAll()
	}
}

// forgetBearers invalidates the whole verification cache after a store
// revocation that may cover any token (a family, user or client). It runs
// whether or not the store call failed: a failed batch may have deleted
// some tokens already.
func (s *Server) forgetBearers() { s.bearers.InvalidateAll() }

func invalidToken() *provider.Error { return provider.ErrInvalidToken() }
