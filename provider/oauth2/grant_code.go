package oauth2

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// authorizationCodeGrant is open to public clients, which PKCE protects.
var authorizationCodeGrant = grantType{name: GrantAuthorizationCode, public: true, byDefault: true, handle: (*Server).grantCode}

// grantCode exchanges an authorization code (RFC 6749 §4.1.3). The code is
// consumed atomically before anything else, so of two concurrent
// redemptions one wins; a second redemption revokes every token issued
// from the code (§4.1.2, RFC 9700 §4.2.4), also after the store forgot
// the code (lateCodeReplay).
func (s *Server) grantCode(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	value := form.Get("code")
	if value == "" {
		return nil, provider.ErrInvalidRequest("code is required")
	}
	hash := provider.HashToken(value)
	code, err := s.st.ConsumeCode(ctx, hash)
	switch {
	case errors.Is(err, store.ErrConsumed) && code != nil:
		n, rerr := s.st.RevokeFamily(ctx, code.Family)
		s.forgetBearers()
		if rerr != nil {
			return nil, s.storeFailed("revoke family", rerr)
		}
		s.emit(provider.Event{Name: "code_replayed", ClientID: code.ClientID, User: code.User, Grant: GrantAuthorizationCode,
			Reason: "authorization code used twice; revoked " + itoa(int64(n)) + " tokens"})
		return nil, provider.ErrInvalidGrant("authorization code already used")
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConsumed):
		return nil, s.lateCodeReplay(ctx, client, hash)
	case err != nil:
		return nil, s.storeFailed("consume code", err)
	}
	if s.expired(code.ExpiresAt) {
		return nil, provider.ErrInvalidGrant("unknown or expired authorization code")
	}
	// §4.1.3: the code must have been issued to the authenticated client.
	if code.ClientID != client.ID {
		return nil, provider.ErrInvalidGrant("authorization code was issued to another client")
	}
	if e := checkRedirectURI(code, client, form); e != nil {
		return nil, e
	}
	if client.Public && code.CodeChallenge == "" {
		return nil, provider.ErrInvalidGrant("public clients must use PKCE")
	}
	if e := checkPKCE(code.CodeChallenge, code.CodeChallengeMethod, form.Get("code_verifier")); e != nil {
		return nil, e
	}
	return s.issue(ctx, grantOut{
		client: client, user: code.User, scopes: code.Scopes, family: code.Family,
		grant: GrantAuthorizationCode, refresh: s.offlineAccess(code.Scopes), nonce: code.Nonce, authTime: code.AuthTime, amr: code.AMR,
	})
}

// codeFamilyContext separates code families from every other use of
// SHA-256 over a code hash.
const codeFamilyContext = "caddy-oauth code family\x00"

// codeFamily is the token family of the grant of the code stored under
// hash: base64url(SHA-256(codeFamilyContext || hash)). Derived rather than
// random so that a replay after the store forgot the code can still name
// the family to revoke (lateCodeReplay), with nothing kept for it. At the
// token endpoint only a client presenting the code itself reaches its
// family; the hash is hashed again so that no family equals a stored key.
func codeFamily(hash []byte) string {
	h := sha256.New()
	h.Write([]byte(codeFamilyContext))
	h.Write(hash)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// lateCodeReplay answers a code the store does not know (never issued, or
// forgotten at its expiry). A code that was redeemed has its family
// (codeFamily) alive for as long as any token issued from it lives, refresh
// rotations included, so revoking that family catches a replay after
// code_ttl too (RFC 6749 §4.1.2); for any other code the family is empty
// and nothing is revoked. Only the presenting client is known here, so the
// event names it, not the code's owner. Families of codes issued before
// they were derived are random: a late replay of those revokes nothing.
func (s *Server) lateCodeReplay(ctx context.Context, client *store.Client, hash []byte) *provider.Error {
	n, err := s.st.RevokeFamily(ctx, codeFamily(hash))
	if n > 0 || err != nil {
		// Only when something was (or may have been) revoked: flushing
		// on every unknown code would let any client empty the cache.
		s.forgetBearers()
	}
	if err != nil {
		return s.storeFailed("revoke family", err)
	}
	if n == 0 {
		return provider.ErrInvalidGrant("unknown or expired authorization code")
	}
	s.emit(provider.Event{Name: "code_replayed", ClientID: client.ID, Grant: GrantAuthorizationCode,
		Reason: "authorization code used again after its expiry; revoked " + itoa(int64(n)) + " tokens"})
	return provider.ErrInvalidGrant("authorization code already used")
}

// checkRedirectURI applies RFC 6749 §4.1.3: if the authorization request
// had a redirect_uri, the token request must repeat it identically. If it
// was omitted (one registered URI), a redirect_uri sent now must be that URI.
func checkRedirectURI(code *store.Code, client *store.Client, form url.Values) *provider.Error {
	got := form.Get("redirect_uri")
	if code.RedirectURI != "" {
		if got != code.RedirectURI {
			return provider.ErrInvalidGrant("redirect_uri does not match the authorization request")
		}
		return nil
	}
	if got != "" && (len(client.RedirectURIs) != 1 || got != client.RedirectURIs[0]) {
		return provider.ErrInvalidGrant("redirect_uri does not match the authorization request")
	}
	return nil
}
