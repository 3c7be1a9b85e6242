package dcr

import (
	"context"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
)

// manage handles RFC 7592: GET reads, PUT replaces and DELETE removes the
// registration named by ?client_id=, for the bearer of its registration
// access token. Every failure to prove that (no token, a wrong one, an
// unknown or static client) is the same 401, so the endpoint tells nobody
// which clients exist.
func (s *Server) manage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("client_id")
	v, ok := s.authorized(r.Context(), r, id)
	if !ok {
		s.refuse(w, "registration access token missing or invalid", id)
		writeBearerError(w, "the registration access token is invalid")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.responseOf(v, ""))
	case http.MethodPut:
		s.update(w, r, v)
	case http.MethodDelete:
		if _, err := s.cfg.Manager.DeleteClient(r.Context(), id); err != nil {
			s.fail(w, err, id)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}

// authorized returns the client id if the request carries its
// registration access token.
func (s *Server) authorized(ctx context.Context, r *http.Request, id string) (*registry.ClientView, bool) {
	tok, ok := bearer(r)
	if !ok || id == "" {
		return nil, false
	}
	v, err := s.cfg.Manager.GetClient(ctx, id)
	if err != nil || v.Static || v.CreatedAt == nil {
		// A store failure is also a refusal here: the token cannot be
		// checked, and nothing is done.
		return nil, false
	}
	return v, equalTokens(tok, s.registrationToken(id, *v.CreatedAt))
}

// update replaces the registration with the metadata sent (RFC 7592 §2.2:
// fields left out are reset to their defaults). The client_id must be
// the one registered; a client_secret, if sent, must be the current one.
func (s *Server) update(w http.ResponseWriter, r *http.Request, current *registry.ClientView) {
	body, rerr := readJSON(r)
	if rerr != nil {
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	md, rerr := decodeMetadata(body)
	if rerr == nil && md.ClientID != current.ClientID {
		rerr = invalidMetadata("client_id must be the registered client's")
	}
	var reg registry.ClientMetadata
	if rerr == nil {
		reg, rerr = md.registryMetadata()
	}
	if rerr == nil && md.ClientSecret != "" && !s.secretMatches(r.Context(), current.ClientID, md.ClientSecret) {
		rerr = invalidMetadata("client_secret is not the client's current secret")
	}
	if rerr != nil {
		s.refuse(w, rerr.Error(), current.ClientID)
		writeError(w, http.StatusBadRequest, rerr)
		return
	}
	if reg.Name == "" {
		reg.Name = current.Name
	}
	v, err := s.cfg.Manager.UpdateClient(r.Context(), current.ClientID, func(m *registry.ClientMetadata) error {
		if reg.Public != m.Public {
			return &registry.Error{Kind: registry.Invalid, Msg: "token_endpoint_auth_method cannot change between none and a secret; register a new client instead"}
		}
		m.Name, m.RedirectURIs, m.Grants, m.Scopes = reg.Name, reg.RedirectURIs, reg.Grants, reg.Scopes
		m.PostLogoutRedirectURIs = reg.PostLogoutRedirectURIs
		return nil
	})
	if err != nil {
		s.fail(w, err, current.ClientID)
		return
	}
	writeJSON(w, http.StatusOK, s.responseOf(v, md.TokenEndpointAuthMethod))
}

// secretMatches checks a client secret against the stored hash.
func (s *Server) secretMatches(ctx context.Context, id, secret string) bool {
	c, err := s.cfg.Clients.Get(ctx, id)
	if err != nil || len(c.SecretHash) == 0 {
		return false
	}
	return provider.EqualBytes(provider.HashToken(secret), c.SecretHash)
}
