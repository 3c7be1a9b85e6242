package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// IDToken is the OpenID Connect ID token (Core §3.1.3.3).
	IDToken string `json:"id_token,omitempty"`
}

// Token serves the token endpoint (RFC 6749 §3.2): POST with a urlencoded
// body, the client authenticated, the grant dispatched by grant_type. Every
// answer, success or error, is JSON marked no-store (§5.1, §5.2).
func (s *Server) Token(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		s.tokenRefused(w, "", "", e)
		return
	}
	grant := form.Get("grant_type")
	if grant == "" {
		s.tokenRefused(w, "", "", provider.ErrInvalidRequest("grant_type is required"))
		return
	}
	gt := lookupGrant(grant)
	if gt == nil || !s.grantEnabled(grant) {
		s.tokenRefused(w, "", provider.SafeText(grant), provider.ErrUnsupportedGrantType("grant type not supported"))
		return
	}
	client, e := s.authenticateClient(r, form, gt.public)
	if e != nil {
		s.tokenRefused(w, "", grant, e)
		return
	}
	if !provider.HasGrant(client, grant) {
		s.tokenRefused(w, client.ID, grant, provider.ErrUnauthorizedClient("this client may not use the "+grant+" grant"))
		return
	}
	resp, e := gt.handle(s, r.Context(), client, form)
	if e != nil {
		s.tokenRefused(w, client.ID, grant, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) tokenRefused(w http.ResponseWriter, clientID, grant string, e *provider.Error) {
	// authorization_pending is a device's normal poll every few seconds,
	// not a refusal worth a log line.
	if e.Code != "server_error" && e.Code != "invalid_client" && e.Code != "authorization_pending" {
		s.emit(provider.Event{Name: "token_refused", ClientID: clientID, Grant: grant, Reason: e.Code + ": " + e.Description})
	}
	s.writeError(w, e)
}

// grantOut describes what a grant decided to issue.
type grantOut struct {
	client *store.Client
	user   string
	scopes []string
	family string
	grant  string
	// refresh asks for a refresh token (if the server and client allow one).
	refresh bool
	// nonce and authTime: an OpenID Connect grant (openid.go).
	nonce    string
	authTime time.Time
	amr      []string
}

// mint makes the tokens of g: an access token and, when the server and the
// client enable the refresh_token grant, a refresh token of the same
// family. Values are 256-bit random, only their hashes are stored. With
// TokenFormatJWT the access token is a signed JWT instead, stored the same
// way (by the hash of the whole JWT, with its family, user and client), so
// that revocation treats both formats alike.
func (s *Server) mint(ctx context.Context, g grantOut) (resp *tokenResponse, at, rt *store.Token, e *provider.Error) {
	now := s.now()
	var access string
	var err error
	if s.keys != nil {
		// A JWT's iat and exp are whole seconds; the stored record agrees
		// with them exactly.
		now = now.Truncate(time.Second)
		if access, err = s.signAccess(ctx, g, now); err != nil {
			return nil, nil, nil, s.storeFailed("sign access token", err)
		}
	} else if access, err = s.newValue(); err != nil {
		return nil, nil, nil, s.storeFailed("entropy", err)
	}
	at = &store.Token{
		Hash: provider.HashToken(access), Kind: store.KindAccess,
		ClientID: g.client.ID, User: g.user, Scopes: g.scopes, Family: g.family,
		IssuedAt: now, ExpiresAt: now.Add(s.cfg.AccessTokenTTL),
	}
	resp = &tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.cfg.AccessTokenTTL.Seconds()),
		Scope:       provider.FormatScope(g.scopes),
	}
	if g.refresh && s.clientMay(g.client, GrantRefreshToken) {
		refresh, err := s.newValue()
		if err != nil {
			return nil, nil, nil, s.storeFailed("entropy", err)
		}
		rt = &store.Token{
			Hash: provider.HashToken(refresh), Kind: store.KindRefresh,
			ClientID: g.client.ID, User: g.user, Scopes: g.scopes, Family: g.family,
			IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTokenTTL),
			AuthTime: g.authTime, AMR: g.amr,
		}
		resp.RefreshToken = refresh
	}
	if e := s.addIDToken(ctx, g, resp, at); e != nil {
		return nil, nil, nil, e
	}
	return resp, at, rt, nil
}

// issue mints and stores the tokens of a new grant in one durable write.
func (s *Server) issue(ctx context.Context, g grantOut) (*tokenResponse, *provider.Error) {
	if g.family == "" {
		f, err := s.newValue()
		if err != nil {
			return nil, s.storeFailed("entropy", err)
		}
		g.family = f
	}
	resp, at, rt, e := s.mint(ctx, g)
	if e != nil {
		return nil, e
	}
	toks := []*store.Token{at}
	if rt != nil {
		toks = append(toks, rt)
	}
	if err := s.st.SaveTokens(ctx, toks...); err != nil {
		return nil, s.storeFailed("save tokens", err)
	}
	s.issued(g, rt != nil)
	return resp, nil
}

func (s *Server) issued(g grantOut, refresh bool) {
	name := "token_issued"
	reason := ""
	if refresh {
		reason = "with refresh token"
	}
	s.emit(provider.Event{Name: name, ClientID: g.client.ID, User: g.user, Grant: g.grant, Scopes: g.scopes, Reason: reason})
}

// requestedScopes parses the scope parameter, refusing malformed tokens.
func requestedScopes(form url.Values) ([]string, *provider.Error) {
	scopes := provider.ParseScope(form.Get("scope"))
	for _, sc := range scopes {
		if !provider.ValidScopeToken(sc) {
			return nil, provider.ErrInvalidScope("malformed scope")
		}
	}
	return scopes, nil
}
