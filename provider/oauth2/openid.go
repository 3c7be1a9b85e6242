package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The hooks through which package oidc adds OpenID Connect Core 1.0 to
// the code flow. The protocol (the ID token's claims, discovery,
// UserInfo) lives there; here only what must happen inside the grants.

// ScopeOpenID makes an authorization request an OpenID Connect one
// (OpenID Connect Core §3.1.2.1).
const ScopeOpenID = "openid"

// maxNonceLen bounds the nonce stored with a code and echoed in the ID
// token; real ones are a few dozen characters.
const maxNonceLen = 512

// OpenID is what the engine asks of an OpenID Connect layer
// (Config.OpenID): ID tokens, and the keys they verify with, published in
// the same JWK Set as the access token keys.
type OpenID interface {
	// IDToken signs the ID token of a code grant or of a refresh of one.
	IDToken(ctx context.Context, t IDTokenRequest) (string, error)
	// Keys are the ID token signing keys (one set per algorithm).
	Keys() []*jwt.Keys
	// IDTokenHint verifies an id_token_hint: an ID token this server
	// issued (expired ones included). Refusals match jwt.ErrInvalidToken;
	// other errors are the store's.
	IDTokenHint(ctx context.Context, raw string) (IDTokenHint, error)
	// Subject is the sub of username's ID tokens, the one comparison
	// between a signed-in user and a hint.
	Subject(ctx context.Context, username string) (string, error)
}

// IDTokenHint is what a verified id_token_hint says.
type IDTokenHint struct {
	// Subject is its sub, ClientID the client it was issued to.
	Subject, ClientID string
	// ExpiresAt is its exp (zero if absent); it may have passed.
	ExpiresAt time.Time
}

// ErrIDTokenAlgorithm is returned (wrapped) by OpenID.IDToken for a
// client whose id_token_signed_response_alg the server does not serve
// (its configuration changed since the client was registered).
var ErrIDTokenAlgorithm = errors.New("the client's id_token_signed_response_alg is not served by this server")

// IDTokenRequest is what an ID token states.
type IDTokenRequest struct {
	ClientID string
	// User is the authenticated end user (the sub).
	User string
	// Nonce is the authorization request's, "" for a refresh.
	Nonce string
	// AuthTime is when the user authenticated, AMR how (RFC 8176; nil
	// when unknown).
	AuthTime time.Time
	AMR      []string
	// IssuedAt and ExpiresAt are those of the access token issued with it.
	IssuedAt, ExpiresAt time.Time
	// AccessToken is issued with the ID token (for at_hash).
	AccessToken string
	Scopes      []string
	// Algorithm is the client's id_token_signed_response_alg ("" for
	// RS256).
	Algorithm string
}

type authTimeKey struct{}

// WithAuthTime records on ctx when the resource owner authenticated (the
// login session's start), for the auth_time of ID tokens. Without it the
// time of the authorization request counts: a user authenticated by an
// earlier handler is authenticated by that very request.
func WithAuthTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, authTimeKey{}, t)
}

type authMethodsKey struct{}

// WithAuthMethods records on ctx how the resource owner authenticated,
// as RFC 8176 method names ("pwd" for the built-in login), for the amr of
// ID tokens. Without it the ID token has no amr: a user an earlier
// handler authenticated was authenticated in a way this server does not
// know.
func WithAuthMethods(ctx context.Context, amr ...string) context.Context {
	return context.WithValue(ctx, authMethodsKey{}, amr)
}

// openID reports whether scopes make the grant an OpenID Connect one.
func (s *Server) openID(scopes []string) bool {
	return s.cfg.OpenID != nil && slices.Contains(scopes, ScopeOpenID)
}

// openIDRequest checks what OpenID Connect adds to an authorization
// request (Core §3.1.2.1, §3.1.2.2) and keeps its nonce and the subject
// of its id_token_hint.
func (s *Server) openIDRequest(ctx context.Context, ar *authzRequest) *provider.Error {
	if !s.openID(ar.scopes) {
		return nil
	}
	if ar.redirectParam == "" {
		return provider.ErrInvalidRequest("redirect_uri is required with scope openid")
	}
	ar.nonce = ar.params.Get("nonce")
	if len(ar.nonce) > maxNonceLen {
		return provider.ErrInvalidRequest("nonce is too long")
	}
	if e := openIDUnsupported(ar.params); e != nil {
		return e
	}
	p, e := parsePrompt(ar.params)
	ar.prompt = p
	if e != nil {
		return e
	}
	// Core §5.5 allows a provider without claims parameter support
	// (claims_parameter_supported false) to ignore it and answer the
	// claims it finds useful: refusing would break relying parties that
	// send it for an optional claim. A specific user is asked for with
	// id_token_hint, which is enforced.
	sub, e := s.hintSubject(ctx, ar.params.Get("id_token_hint"), ar.client.ID)
	ar.hintSubject = sub
	return e
}

// hintSubject verifies the id_token_hint of a request of clientID and
// returns its subject ("" without a hint). A hint that is not an ID token
// of this server issued to that client is invalid_request (Core
// §3.1.2.1).
func (s *Server) hintSubject(ctx context.Context, raw, clientID string) (string, *provider.Error) {
	if raw == "" {
		return "", nil
	}
	h, err := s.cfg.OpenID.IDTokenHint(ctx, raw)
	switch {
	case errors.Is(err, jwt.ErrInvalidToken):
		return "", provider.ErrInvalidRequest("id_token_hint is not a valid ID token of this server")
	case err != nil:
		return "", s.storeFailed("verify id_token_hint", err)
	case h.ClientID != clientID:
		return "", provider.ErrInvalidRequest("id_token_hint was issued to another client")
	}
	return h.Subject, nil
}

// checkHintUser answers login_required when the request's id_token_hint
// names someone other than user (Core §3.1.2.1: a positive answer only
// for the End-User the hint identifies). The glue sends a browser signed
// in as someone else to the login page first (OtherUserHinted), so this
// is reached with prompt=none, or for a user an earlier handler
// authenticated.
func (s *Server) checkHintUser(ctx context.Context, ar *authzRequest) *provider.Error {
	if ar.hintSubject == "" {
		return nil
	}
	sub, err := s.cfg.OpenID.Subject(ctx, ar.user)
	if err != nil {
		return s.storeFailed("subject of user", err)
	}
	if sub != ar.hintSubject {
		return provider.NewError(http.StatusUnauthorized, "login_required", "the signed-in end user is not the one id_token_hint names")
	}
	return nil
}

// OtherUserHinted reports whether r, an OpenID Connect request to the
// authorization endpoint, carries a valid id_token_hint for its client
// that names someone other than user: the glue then shows the login page
// (returning to WithoutIDTokenHint of the request) unless prompt=none.
// Anything it cannot decide is false; Authorize answers it.
func (s *Server) OtherUserHinted(r *http.Request, user string) bool {
	if s.cfg.OpenID == nil || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(params["id_token_hint"]) != 1 || len(params["client_id"]) != 1 ||
		!slices.Contains(provider.ParseScope(params.Get("scope")), ScopeOpenID) {
		return false
	}
	ctx := r.Context()
	want, e := s.hintSubject(ctx, params.Get("id_token_hint"), params.Get("client_id"))
	if e != nil || want == "" {
		return false
	}
	sub, err := s.cfg.OpenID.Subject(ctx, user)
	return err == nil && sub != want
}

// WithoutIDTokenHint is requestURI without id_token_hint: where the login
// page forced by a hint for another user returns, so that whoever then
// signs in is not sent back to the login page again and again.
func WithoutIDTokenHint(requestURI string) string {
	u, err := url.Parse(requestURI)
	if err != nil {
		return requestURI
	}
	q := u.Query()
	q.Del("id_token_hint")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// openIDCode stores with an OpenID Connect code what its ID token needs.
func (s *Server) openIDCode(r *http.Request, ar *authzRequest, code *store.Code) {
	if !s.openID(ar.scopes) {
		return
	}
	t, ok := r.Context().Value(authTimeKey{}).(time.Time)
	if !ok || t.IsZero() {
		t = s.now()
	}
	code.Nonce = ar.nonce
	// auth_time is a NumericDate; whole seconds, as the token states it.
	code.AuthTime = t.Truncate(time.Second)
	code.AMR, _ = r.Context().Value(authMethodsKey{}).([]string)
}

// addIDToken adds the ID token to the token response of an OpenID
// Connect grant: a code issued for scope openid (which recorded an auth
// time), or a refresh of one whose access token keeps openid.
func (s *Server) addIDToken(ctx context.Context, g grantOut, resp *tokenResponse, at *store.Token) *provider.Error {
	if g.authTime.IsZero() || g.user == "" || !s.openID(g.scopes) {
		return nil
	}
	if g.grant != GrantAuthorizationCode && g.grant != GrantRefreshToken {
		return nil
	}
	tok, err := s.cfg.OpenID.IDToken(ctx, IDTokenRequest{
		ClientID: g.client.ID, User: g.user, Nonce: g.nonce, AuthTime: g.authTime, AMR: g.amr,
		IssuedAt: at.IssuedAt, ExpiresAt: at.ExpiresAt, AccessToken: resp.AccessToken, Scopes: g.scopes,
		Algorithm: g.client.IDTokenSignedResponseAlg,
	})
	if errors.Is(err, ErrIDTokenAlgorithm) {
		return provider.NewError(http.StatusBadRequest, "unauthorized_client", err.Error())
	}
	if err != nil {
		return s.storeFailed("sign id token", err)
	}
	resp.IDToken = tok
	return nil
}

// publishesKeys reports whether the server has a JWK Set: JWT access
// tokens or ID tokens.
func (s *Server) publishesKeys() bool { return s.keys != nil || s.cfg.OpenID != nil }

// serveKeys serves the access token and ID token keys as one JWK Set.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	sets := []*jwt.Keys{s.keys}
	if s.cfg.OpenID != nil {
		sets = append(sets, s.cfg.OpenID.Keys()...)
	}
	jwt.ServeKeySets(w, r, sets...)
}

// EndpointURL is the absolute URL of the endpoint at path (relative to
// the prefix).
func (s *Server) EndpointURL(path string) string { return s.endpoint(path) }

// Issuer is the configured issuer identifier.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// MetadataFields returns the RFC 8414 metadata document as a map, for
// OpenID Connect Discovery to extend: rendered by Metadata itself, so that
// every field it gains appears in both documents.
func (s *Server) MetadataFields() (map[string]any, error) {
	w := &bufferWriter{h: http.Header{}}
	r, err := http.NewRequest(http.MethodGet, s.endpoint(PathMetadata), nil)
	if err != nil {
		return nil, err
	}
	s.Metadata(w, r)
	if w.status != http.StatusOK {
		return nil, errors.New("oauth2: metadata unavailable")
	}
	var m map[string]any
	if err := json.Unmarshal(w.buf.Bytes(), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// bufferWriter is an http.ResponseWriter that keeps the response.
type bufferWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.buf.Write(p)
}

// Prefix is the path prefix the endpoints are mounted under ("" for none).
func (s *Server) Prefix() string { return s.cfg.Prefix }
