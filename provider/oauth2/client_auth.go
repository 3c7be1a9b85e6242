package oauth2

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Client authentication methods (RFC 7591 §2 names), as the metadata lists them.
const (
	AuthSecretBasic = "client_secret_basic"
	AuthSecretPost  = "client_secret_post"
	AuthNone        = "none"
)

// dummySecretHash keeps the cost of a failed lookup equal to a failed compare.
var dummySecretHash = provider.HashToken("caddy-oauth: no such client")

// authenticateClient authenticates the client of a token, revocation or
// introspection request (RFC 6749 §2.3): HTTP Basic with form-urlencoded
// credentials (client_secret_basic, §2.3.1), client_id + client_secret in
// the body (client_secret_post), or, when allowPublic, a bare client_id for
// a public client (none, §2.1). More than one method is invalid_request
// (§2.3: "MUST NOT use more than one authentication method").
func (s *Server) authenticateClient(r *http.Request, form url.Values, allowPublic bool) (*store.Client, *provider.Error) {
	ctx := r.Context()
	formID := form.Get("client_id")
	if auth := r.Header.Get("Authorization"); auth != "" {
		id, secret, ok := r.BasicAuth()
		if !ok {
			if scheme, _, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "basic") {
				return nil, s.clientFailed("", "malformed Basic credentials", true)
			}
			return nil, provider.ErrInvalidRequest("unsupported Authorization scheme; use Basic")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || id == "" {
			return nil, s.clientFailed("", "malformed Basic credentials", true)
		}
		if form.Has("client_secret") {
			return nil, provider.ErrInvalidRequest("more than one client authentication method")
		}
		if formID != "" && formID != id {
			return nil, provider.ErrInvalidRequest("client_id does not match the authenticated client")
		}
		return s.checkSecret(ctx, id, secret, true)
	}
	if form.Has("client_secret") {
		if formID == "" {
			return nil, s.clientFailed("", "client_secret without client_id", false)
		}
		return s.checkSecret(ctx, formID, form.Get("client_secret"), false)
	}
	if formID == "" {
		return nil, s.clientFailed("", "client authentication required", false)
	}
	client, err := s.getClient(ctx, formID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.clientFailed(formID, "unknown client", false)
	}
	if err != nil {
		return nil, s.storeFailed("get client", err)
	}
	if !client.Public || !allowPublic {
		return nil, s.clientFailed(formID, "client authentication required", false)
	}
	return client, nil
}

// checkSecret compares SHA-256(secret) with the stored hash in constant time.
func (s *Server) checkSecret(ctx context.Context, id, secret string, basic bool) (*store.Client, *provider.Error) {
	client, err := s.getClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, s.storeFailed("get client", err)
	}
	want := dummySecretHash
	if client != nil && !client.Public && len(client.SecretHash) > 0 {
		want = client.SecretHash
	}
	match := provider.EqualBytes(provider.HashToken(secret), want)
	if client == nil || client.Public || len(client.SecretHash) == 0 || !match {
		return nil, s.clientFailed(id, "client authentication failed", basic)
	}
	return client, nil
}

// clientFailed is invalid_client, 401 (RFC 6749 §5.2); the response carries
// WWW-Authenticate: Basic so the client knows how to authenticate.
func (s *Server) clientFailed(id, reason string, basic bool) *provider.Error {
	s.emit(provider.Event{Name: "client_auth_failed", ClientID: shortID(id), Reason: reason})
	e := provider.ErrInvalidClient(reason)
	e.Basic = basic
	return e
}

// shortID makes a client-supplied id safe for a log line.
func shortID(id string) string {
	id = provider.SafeText(id)
	if len(id) > 128 {
		id = id[:128]
	}
	return id
}
