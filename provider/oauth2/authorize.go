package oauth2

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// authzParams are the authorization request parameters the endpoint reads
// (RFC 6749 §4.1.1, RFC 7636 §4.3); only these are carried through the
// consent form, others are ignored as RFC 6749 §3.1 requires.
var authzParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "response_mode",
	"nonce", "prompt", "max_age", "id_token_hint", // OpenID Connect Core §3.1.2.1
}

// authzRequest is a parsed authorization request whose client and
// redirect URI are known good, so errors can be redirected.
type authzRequest struct {
	params url.Values
	client *store.Client
	// redirectURI is where to send the answer; redirectParam is the
	// redirect_uri parameter as sent ("" if omitted), which the token
	// request must repeat (RFC 6749 §4.1.3).
	redirectURI, redirectParam string
	state                      string
	user                       string
	scopes                     []string
	challenge, method          string
	nonce                      string // OpenID Connect (openid.go)
	prompt                     Prompt // OpenID Connect (openid_prompt.go)
	hintSubject                string // OpenID Connect id_token_hint's sub (openid.go)
}

// Authorize serves the authorization endpoint (RFC 6749 §4.1.1, GET or
// POST), including the consent form's POST back. user is the resource
// owner the caller authenticated; "" answers 401 "login required" (the
// Caddy glue shows its login page before calling). Errors about the client
// or the redirect URI are shown as a page and never redirected (RFC 6749
// §4.1.2.1, RFC 9700 §4.11); every other outcome redirects to the client
// with state and iss (RFC 9207).
func (s *Server) Authorize(w http.ResponseWriter, r *http.Request, user string) {
	// Authorization responses carry codes in Location: never cache, never
	// frame (RFC 9700 §4.16). No CORS headers: this endpoint is for
	// top-level navigation only.
	provider.HeaderSecurity(w.Header())
	params, perr := s.authorizeParams(w, r)
	if perr != nil {
		if perr.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, POST")
		}
		s.errorPage(w, perr.Status, "Invalid authorization request", perr.Description, "")
		return
	}
	ar, ok := s.authorizeClient(w, r, params)
	if !ok {
		return
	}
	if user == "" {
		// OpenID Connect prompt=none: the client asked for no page, so
		// the answer goes back to it (Core §3.1.2.6).
		if p, ok := s.AuthorizationPrompt(r); ok && p.None {
			s.redirectError(w, r, ar, provider.NewError(http.StatusUnauthorized, "login_required", "the end user is not signed in"))
			return
		}
		s.errorPage(w, http.StatusUnauthorized, "Login required", "Sign in to authorize this application.", ar.client.ID)
		return
	}
	ar.user = user
	ctx := r.Context()
	if e := s.validateAuthorize(ctx, ar); e != nil {
		s.redirectError(w, r, ar, e)
		return
	}
	if e := s.checkHintUser(ctx, ar); e != nil {
		s.redirectError(w, r, ar, e)
		return
	}

	if r.Method == http.MethodPost && r.PostForm.Has("decision") {
		approved, cerr := s.pages.CheckConsent(r, user, ar.client.ID)
		if cerr != nil {
			// A forged or stale form: show it, never redirect (the
			// request may not come from the user at all).
			s.errorPage(w, cerr.Status, "This form has expired", cerr.Description+". Go back to the application and start again.", ar.client.ID)
			return
		}
		if !approved {
			s.redirectError(w, r, ar, provider.NewError(http.StatusForbidden, "access_denied", "the resource owner denied the request"))
			return
		}
		if err := s.rememberConsent(r, ar); err != nil {
			s.redirectError(w, r, ar, s.storeFailed("put consent", err))
			return
		}
		s.issueCode(w, r, ar)
		return
	}
	// prompt=consent asks again even where consent is not needed.
	if ar.client.Trusted && !ar.prompt.Consent {
		s.issueCode(w, r, ar)
		return
	}
	consent, err := s.st.GetConsent(ctx, user, ar.client.ID)
	switch {
	case err == nil && provider.ContainsAll(consent.Scopes, ar.scopes) && !ar.prompt.Consent:
		s.issueCode(w, r, ar)
		return
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.redirectError(w, r, ar, s.storeFailed("get consent", err))
		return
	}
	if ar.prompt.None {
		s.redirectError(w, r, ar, provider.NewError(http.StatusForbidden, "consent_required", "the end user has not consented to this request"))
		return
	}
	roundTrip := url.Values{}
	for _, k := range authzParams {
		if params.Has(k) {
			roundTrip[k] = params[k]
		}
	}
	s.pages.RenderConsent(w, provider.ConsentPage{
		Action:      s.cfg.Prefix + PathAuthorize,
		User:        user,
		ClientID:    ar.client.ID,
		ClientName:  ar.client.Name,
		Scopes:      ar.scopes,
		Params:      roundTrip,
		RedirectURI: ar.redirectURI,
	})
}

// authorizeParams reads the request's parameters: the query for GET, the
// urlencoded body for POST (RFC 6749 §3.1).
func (s *Server) authorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, *provider.Error) {
	switch r.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, provider.ErrInvalidRequest("malformed query string")
		}
		return q, nil
	case http.MethodPost:
		if r.PostForm == nil {
			form, e := readBody(w, r)
			if e != nil {
				return nil, e
			}
			r.PostForm = form
		}
		return r.PostForm, nil
	}
	return nil, provider.NewError(http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
}

// authorizeClient identifies the client and the redirect URI. Until both
// are known good nothing may be redirected (no open redirector), so every
// failure here is an error page.
func (s *Server) authorizeClient(w http.ResponseWriter, r *http.Request, params url.Values) (*authzRequest, bool) {
	clientID := params.Get("client_id")
	if len(params["client_id"]) > 1 || len(params["redirect_uri"]) > 1 {
		s.errorPage(w, http.StatusBadRequest, "Invalid authorization request", "client_id or redirect_uri is repeated.", "")
		return nil, false
	}
	if clientID == "" {
		s.errorPage(w, http.StatusBadRequest, "Invalid authorization request", "The request names no client (client_id is missing).", "")
		return nil, false
	}
	client, err := s.getClient(r.Context(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, http.StatusBadRequest, "Unknown application", "The application that sent you here is not registered with this server.", clientID)
		return nil, false
	}
	if err != nil {
		s.storeFailed("get client", err)
		status, title, detail := provider.StoreErrorPage(err)
		s.errorPage(w, status, title, detail, clientID)
		return nil, false
	}
	ar := &authzRequest{params: params, client: client, state: params.Get("state"), redirectParam: params.Get("redirect_uri")}
	switch {
	case ar.redirectParam != "":
		uri, ok := matchRedirectURI(client, ar.redirectParam)
		if !ok {
			s.errorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI is not registered for this application.", clientID)
			return nil, false
		}
		ar.redirectURI = uri
	case len(client.RedirectURIs) == 1:
		// RFC 6749 §3.1.2.3: optional when exactly one URI is registered.
		ar.redirectURI = client.RedirectURIs[0]
	default:
		s.errorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The request must name one of the application's registered redirect URIs.", clientID)
		return nil, false
	}
	if err := ValidateRedirectURI(ar.redirectURI); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The registered redirect URI is not allowed: "+err.Error()+".", clientID)
		return nil, false
	}
	return ar, true
}

// validateAuthorize checks everything that is reported to the client by
// redirect (RFC 6749 §4.1.2.1).
func (s *Server) validateAuthorize(ctx context.Context, ar *authzRequest) *provider.Error {
	p := ar.params
	for k, vs := range p {
		if len(vs) > 1 && slices.Contains(authzParams, k) {
			return provider.ErrInvalidRequest("parameter " + provider.SafeText(k) + " is repeated")
		}
	}
	switch rt := p.Get("response_type"); rt {
	case "code":
	case "":
		return provider.ErrInvalidRequest("response_type is required")
	default:
		// The implicit grant and hybrid flows are not offered (RFC 9700 §2.1.2).
		return provider.NewError(http.StatusBadRequest, "unsupported_response_type", "only response_type=code is supported")
	}
	if rm := p.Get("response_mode"); rm != "" && rm != "query" {
		return provider.ErrInvalidRequest("only response_mode=query is supported")
	}
	if !s.clientMay(ar.client, GrantAuthorizationCode) {
		return provider.ErrUnauthorizedClient("this client may not use the authorization code grant")
	}
	scopes, e := provider.GrantScopes(provider.ParseScope(p.Get("scope")), ar.client.Scopes, s.cfg.Scopes, s.cfg.DefaultScopes)
	if e != nil {
		return e
	}
	ar.scopes = scopes
	if e := s.openIDRequest(ctx, ar); e != nil {
		return e
	}

	ar.challenge, ar.method = p.Get("code_challenge"), p.Get("code_challenge_method")
	switch {
	case ar.challenge == "" && ar.method != "":
		return provider.ErrInvalidRequest("code_challenge_method without code_challenge")
	case ar.challenge == "" && ar.client.Public:
		// RFC 9700 §2.1.1: public clients must use PKCE.
		return provider.ErrInvalidRequest("code_challenge required (PKCE with S256) for public clients")
	case ar.challenge == "":
		return nil
	case !validPKCEValue(ar.challenge):
		return provider.ErrInvalidRequest("malformed code_challenge")
	}
	switch ar.method {
	case "":
		ar.method = MethodPlain // RFC 7636 §4.3 default
	case MethodS256, MethodPlain:
	default:
		return provider.ErrInvalidRequest("code_challenge_method must be S256 or plain")
	}
	if ar.client.Public && ar.method != MethodS256 {
		return provider.ErrInvalidRequest("public clients must use code_challenge_method S256")
	}
	return nil
}

// rememberConsent stores the approved scopes, added to those approved
// before, so a later request for a subset skips the page (DESIGN §4).
func (s *Server) rememberConsent(r *http.Request, ar *authzRequest) error {
	ctx := r.Context()
	scopes := slices.Clone(ar.scopes)
	if old, err := s.st.GetConsent(ctx, ar.user, ar.client.ID); err == nil {
		for _, sc := range old.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.st.PutConsent(ctx, &store.Consent{User: ar.user, ClientID: ar.client.ID, Scopes: scopes, GrantedAt: s.now()}); err != nil {
		return err
	}
	s.emit(provider.Event{Name: "consent_granted", ClientID: ar.client.ID, User: ar.user, Scopes: ar.scopes})
	return nil
}

// issueCode stores a fresh authorization code and redirects with it (RFC
// 6749 §4.1.2). The code is 256-bit random and kept only as its hash; its
// token family is derived from that hash (codeFamily).
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar *authzRequest) {
	value, err := s.newValue()
	if err != nil {
		s.redirectError(w, r, ar, s.storeFailed("entropy", err))
		return
	}
	hash := provider.HashToken(value)
	now := s.now()
	code := &store.Code{
		Hash:                hash,
		ClientID:            ar.client.ID,
		User:                ar.user,
		RedirectURI:         ar.redirectParam,
		Scopes:              ar.scopes,
		CodeChallenge:       ar.challenge,
		CodeChallengeMethod: ar.method,
		Family:              codeFamily(hash),
		IssuedAt:            now,
		ExpiresAt:           now.Add(s.cfg.CodeTTL),
	}
	s.openIDCode(r, ar, code)
	if err := s.st.SaveCode(r.Context(), code); err != nil {
		s.redirectError(w, r, ar, s.storeFailed("save code", err))
		return
	}
	s.emit(provider.Event{Name: "code_issued", ClientID: ar.client.ID, User: ar.user, Grant: GrantAuthorizationCode, Scopes: ar.scopes})
	redirectTo(w, r, ar.redirectURI, url.Values{
		"code":  {value},
		"state": {ar.state},
		"iss":   {s.cfg.Issuer},
	})
}
