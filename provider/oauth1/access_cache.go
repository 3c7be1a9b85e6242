package oauth1

import (
	"context"
	"errors"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// DefaultTokenCacheSize is the entry count of the token credentials cache
// when Config.TokenCacheSize is 0.
const DefaultTokenCacheSize = cache.DefaultSize

// accessEntry is what looking up token credentials (§2.3) for a protected
// resource request established: the client, the identity the token stands
// for, and the signing key of §3.4.2 with both secrets already unsealed
// (in memory only, as while verifying; never logged). Entries are never
// changed once cached.
type accessEntry struct {
	// hash is the token's SHA-256, the cache key.
	hash cache.Key
	// tokVer and cliVer are the store's versions of the token and client,
	// read before they were looked up; the entry is current only while
	// the store still reports them.
	tokVer, cliVer uint64
	client         *store.Client
	// key is the HMAC key (and PLAINTEXT signature): enc(client
	// secret) "&" enc(token secret). keyState says why there is none.
	key      string
	keyState keyState
	id       provider.Identity
}

// keyState is whether a client has a usable HMAC/PLAINTEXT key.
type keyState uint8

const (
	keyOK       keyState = iota
	keyNoSecret          // a public client: RSA-SHA1 only
	keyBroken            // the sealed secret does not open
)

// err is the error checkSignature answers for an HMAC or PLAINTEXT
// signature when the key is missing; nil if it is there.
func (k keyState) err() *provider.Error {
	switch k {
	case keyNoSecret:
		return badRequest(ProblemSignatureMethodRejected, "client has no secret; use RSA-SHA1")
	case keyBroken:
		return provider.ErrServer()
	}
	return nil
}

// clientKey derives the §3.4.2 signing key of client and a token secret.
func (s *Server) clientKey(client *store.Client, tokenSecret string) (string, keyState) {
	// HMAC and PLAINTEXT need the client secret; a client without one
	// (public) could otherwise be impersonated with an empty key.
	if len(client.SealedSecret) == 0 {
		return "", keyNoSecret
	}
	secret, err := s.cfg.Sealer.Open(PurposeClientSecret, client.SealedSecret)
	if err != nil {
		return "", keyBroken
	}
	return signingKey(string(secret), tokenSecret), keyOK
}

// accessCredentials resolves the client and token credentials of a
// protected-resource request: from the cache if an entry for the token is
// current and was made for the same client, else from the store (then
// cached). Only live token credentials (KindOAuth1Access) of that client
// get here; everything else is refused as lookupToken refuses it.
//
// The cache never answers more permissively than the store would: an entry
// expires with its token (on the engine's clock), and it is used only
// while the store reports the versions it had before the lookup, which
// every revocation, deletion or replacement of the token and every update
// or deletion of a client changes once committed, whichever path made it
// (the OAuth 2 engine's RevokeUser and RevokeClient, the admin API, a
// direct store call). Unknown tokens are never cached.
func (s *Server) accessCredentials(ctx context.Context, consumerKey, value string) (*accessEntry, *provider.Error) {
	k := cache.KeyOf(value)
	if ent, ok := s.access.Get(k, s.clock.Now()); ok && ent.client.ID == consumerKey && s.current(ent) {
		return ent, nil
	}
	return s.fillAccess(ctx, consumerKey, k)
}

// current reports whether nothing changed ent's token or client since ent
// was filled. It hashes nothing: ent.hash is the key it was found under.
func (s *Server) current(ent *accessEntry) bool {
	return s.st.TokenVersion(ent.hash[:]) == ent.tokVer && s.st.ClientVersion(ent.client.ID) == ent.cliVer
}

// fillAccess looks the client and token up in the store and caches the
// result. It takes the key by value so that only this slow path pays for
// the key escaping to the heap.
func (s *Server) fillAccess(ctx context.Context, consumerKey string, k cache.Key) (*accessEntry, *provider.Error) {
	// Versions and ticket before the reads: a change committed after
	// them makes the entry stale, one committed before is read.
	ticket := s.access.Ticket(k)
	ent := &accessEntry{hash: k, tokVer: s.st.TokenVersion(k[:]), cliVer: s.st.ClientVersion(consumerKey)}
	client, e := s.lookupClient(ctx, consumerKey)
	if e != nil {
		return nil, e
	}
	tok, e := s.lookupToken(ctx, k[:], store.KindOAuth1Access, client.ID)
	if e != nil {
		return nil, e
	}
	secret, err := s.cfg.Sealer.Open(PurposeTokenSecret, tok.SealedSecret)
	if err != nil {
		return nil, provider.ErrStore(err)
	}
	ent.client = client
	ent.key, ent.keyState = s.clientKey(client, string(secret))
	ent.id = provider.Identity{
		User:      tok.User,
		ClientID:  client.ID,
		Scopes:    tok.Scopes,
		Protocol:  provider.ProtocolOAuth1,
		ExpiresAt: tok.ExpiresAt,
	}
	s.access.Put(ticket, k, ent, tok.ExpiresAt)
	return ent, nil
}

// lookupClient finds the client a request names.
func (s *Server) lookupClient(ctx context.Context, id string) (*store.Client, *provider.Error) {
	client, err := s.clients.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized(ProblemConsumerKeyUnknown, "unknown client")
	}
	if err != nil {
		return nil, provider.ErrStore(err)
	}
	return client, nil
}

// identityBox holds a returned Identity and, for the usual few scopes, the
// backing array of its Scopes, so the caller gets its own copy (it cannot
// reach the cached slice) for one allocation.
type identityBox struct {
	id     provider.Identity
	scopes [4]string
}

// identity returns a copy of the entry's identity for the caller.
func (ent *accessEntry) identity() *provider.Identity {
	b := &identityBox{id: ent.id}
	switch n := len(ent.id.Scopes); {
	case ent.id.Scopes == nil:
	case n <= len(b.scopes):
		copy(b.scopes[:], ent.id.Scopes)
		b.id.Scopes = b.scopes[:n:n]
	default:
		b.id.Scopes = append([]string(nil), ent.id.Scopes...)
	}
	return &b.id
}
