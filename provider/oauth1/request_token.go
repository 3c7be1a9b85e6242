package oauth1

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// callbackOOB is the §2.1 out-of-band callback value (case sensitive).
const callbackOOB = "oob"

// maxCallbackLen bounds oauth_callback.
const maxCallbackLen = 2048

// signedPost verifies a signed POST to the credential endpoint named step,
// with the token of kind (0: none) and the required parameters, and
// answers the refusal itself (ok false).
func (s *Server) signedPost(w http.ResponseWriter, r *http.Request, u RequestURL, step string, kind store.TokenKind, required ...string) (*verified, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.WriteError(w, provider.NewError(http.StatusMethodNotAllowed, ProblemParameterRejected, "use POST"))
		return nil, false
	}
	v, e := s.verifyRequest(r.Context(), r, u, kind, required...)
	if e != nil {
		s.refuse(w, e, v, step)
		return nil, false
	}
	return v, true
}

// RequestToken serves the temporary credential request of RFC 5849 §2.1
// (POST /oauth1/request_token): a request signed by the client alone, with
// an oauth_callback and an optional space-separated scope parameter. It
// answers oauth_token, oauth_token_secret and oauth_callback_confirmed=true,
// form-encoded.
func (s *Server) RequestToken(w http.ResponseWriter, r *http.Request, u RequestURL) {
	v, ok := s.signedPost(w, r, u, "request_token", 0, paramCallback)
	if !ok {
		return
	}
	ctx := r.Context()
	callback := v.params.oauth[paramCallback]
	if e := checkCallback(callback, v.client); e != nil {
		s.refuse(w, e, v, "request_token")
		return
	}
	scope, e := v.params.get("scope")
	if e != nil {
		s.refuse(w, e, v, "request_token")
		return
	}
	// DESIGN §3: without scope, the server defaults the client may have.
	scopes, e := provider.GrantScopes(provider.ParseScope(scope), v.client.Scopes, s.cfg.Scopes, s.cfg.DefaultScopes)
	if e != nil {
		s.refuse(w, badRequest(ProblemParameterRejected, e.Description), v, "request_token")
		return
	}

	tok, value, secret, err := s.mintCredentials(store.KindOAuth1Request, v.client.ID, s.cfg.RequestTokenTTL)
	if err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	family, err := provider.NewToken(s.cfg.Entropy)
	if err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	tok.Scopes, tok.Family, tok.Callback = scopes, family, callback
	if err := s.st.SaveToken(ctx, tok); err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	s.cfg.Audit.Emit(provider.Event{
		Name: "token_issued", Protocol: provider.ProtocolOAuth1, ClientID: v.client.ID,
		Grant: "request_token", Scopes: scopes,
	})
	writeForm(w, []Param{
		{paramToken, value},
		{"oauth_token_secret", secret},
		{"oauth_callback_confirmed", "true"},
	})
}

// checkCallback enforces §2.1: oauth_callback is "oob" or an absolute URI;
// we also require http(s), no fragment, and an exact match with one of the
// client's registered callback URIs, so the authorization step never sends
// a verifier to a place the client did not register (no open redirector).
// A client without callback URIs may only use "oob", as an OAuth 2 client
// without redirect URIs gets no authorization code.
func checkCallback(cb string, c *store.Client) *provider.Error {
	if cb == callbackOOB {
		return nil
	}
	if len(cb) > maxCallbackLen {
		return badRequest(ProblemParameterRejected, "oauth_callback too long")
	}
	u, err := url.Parse(cb)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Fragment != "" || strings.Contains(cb, "#") || u.User != nil {
		return badRequest(ProblemParameterRejected, "oauth_callback must be an absolute http(s) URI without fragment, or oob")
	}
	if len(c.CallbackURIs) == 0 {
		return badRequest(ProblemParameterRejected, "this client has no registered callback URI: use oob, or register one")
	}
	if !slices.Contains(c.CallbackURIs, cb) {
		return badRequest(ProblemParameterRejected, "oauth_callback is not registered for this client")
	}
	return nil
}

// mintCredentials makes credentials of kind for the client (§2.1, §2.3):
// an identifier and a secret of 256 bits each, which only the client gets,
// and the token to store for them, issued now, expiring after ttl (0:
// never), with the secret sealed. The caller fills in the rest.
func (s *Server) mintCredentials(kind store.TokenKind, clientID string, ttl time.Duration) (tok *store.Token, value, secret string, err error) {
	now := s.clock.Now()
	if value, err = provider.NewToken(s.cfg.Entropy); err != nil {
		return nil, "", "", err
	}
	if secret, err = provider.NewToken(s.cfg.Entropy); err != nil {
		return nil, "", "", err
	}
	sealed, err := s.cfg.Sealer.Seal(PurposeTokenSecret, []byte(secret))
	if err != nil {
		return nil, "", "", err
	}
	tok = &store.Token{
		Hash:         provider.HashToken(value),
		Kind:         kind,
		ClientID:     clientID,
		IssuedAt:     now,
		SealedSecret: sealed,
	}
	if ttl > 0 {
		tok.ExpiresAt = now.Add(ttl)
	}
	return tok, value, secret, nil
}

// writeForm answers a credentials response: form-encoded (§2.1, §2.3),
// never cached.
func writeForm(w http.ResponseWriter, params []Param) {
	var b strings.Builder
	writeParams(&b, params)
	h := w.Header()
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

// refuse writes e and records why, without any credential in the event.
func (s *Server) refuse(w http.ResponseWriter, e *provider.Error, v *verified, grant string) {
	ev := provider.Event{Name: "token_refused", Protocol: provider.ProtocolOAuth1, Grant: grant, Reason: e.Code}
	if v != nil {
		ev.ClientID = v.client.ID
	}
	s.cfg.Audit.Emit(ev)
	s.WriteError(w, e)
}
