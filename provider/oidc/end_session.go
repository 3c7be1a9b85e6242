package oidc

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// PathEndSession is the RP-initiated logout endpoint (OpenID Connect
// RP-Initiated Logout 1.0), relative to the server's prefix.
const PathEndSession = "/oauth2/end_session"

// Logout is what RP-initiated logout needs besides the ID token keys.
type Logout struct {
	// Sessions is the browser login whose session a logout ends.
	Sessions Sessions
	// Clients finds the client a logout names, for its
	// post_logout_redirect_uris.
	Clients interface {
		Get(ctx context.Context, id string) (*store.Client, error)
	}
	// Pages renders the confirmation, signed-out and error pages.
	Pages *provider.Pages
	// Audit receives logout_refused (the sign-out itself is the
	// Sessions' "logout" event).
	Audit provider.Auditor
}

// Sessions is the login session store of the browser (login.Manager).
type Sessions interface {
	// SessionOf returns the user of r's session and its CSRF value.
	SessionOf(r *http.Request) (user, csrf string, ok bool, err error)
	// EndSession deletes r's session in the store and clears its cookie.
	EndSession(w http.ResponseWriter, r *http.Request, clientID string) error
}

// endSessionParams are the parameters of a logout request (§2) that are
// read; ui_locales and logout_hint are accepted and ignored. Each may
// appear once; they, and nothing else, round-trip through the
// confirmation form.
var endSessionParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"}

// logoutRequest is a parsed logout request.
type logoutRequest struct {
	params                  url.Values // the endSessionParams sent
	hint, clientID          string
	redirectURI, state      string
	csrf                    string // the confirmation form's, "" otherwise
	confirmation, hasCookie bool
}

// parseLogout reads the parameters of r (the query of a GET, the
// urlencoded body of a POST, §2) and refuses a repeated one.
func parseLogout(w http.ResponseWriter, r *http.Request) (*logoutRequest, *provider.Error) {
	var all url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, provider.ErrInvalidRequest("malformed query string")
		}
		all = q
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, provider.ErrInvalidRequest("the body must be application/x-www-form-urlencoded")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, oauth2.MaxBodyBytes))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, provider.NewError(http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
			}
			return nil, provider.ErrInvalidRequest("cannot read the request body")
		}
		if all, err = url.ParseQuery(string(body)); err != nil {
			return nil, provider.ErrInvalidRequest("malformed form body")
		}
	default:
		return nil, provider.NewError(http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
	}
	lr := &logoutRequest{params: url.Values{}}
	for _, k := range append(slices.Clip(endSessionParams), "csrf_token") {
		switch vs := all[k]; {
		case len(vs) > 1:
			return nil, provider.ErrInvalidRequest("parameter " + k + " is repeated")
		case len(vs) == 1 && k != "csrf_token":
			lr.params[k] = vs
		}
	}
	lr.hint, lr.clientID = all.Get("id_token_hint"), all.Get("client_id")
	lr.redirectURI, lr.state = all.Get("post_logout_redirect_uri"), all.Get("state")
	lr.csrf = all.Get("csrf_token")
	lr.confirmation = r.Method == http.MethodPost && all.Has("csrf_token")
	return lr, nil
}

// endSession serves the end_session endpoint (RP-Initiated Logout §2, §3).
//
// An id_token_hint must be an ID token of this server (IDTokenHint,
// expired ones accepted, §4); with client_id as well, both must name the
// same client. A post_logout_redirect_uri is followed only when it is
// exactly one registered for that client; otherwise the answer is an
// error page and never a redirect. The session ends at once only when the
// hint names the signed-in user; any other request could be forged by
// another site, so it gets a confirmation form carrying the session's
// CSRF value, which the POST back must repeat.
func (p *Provider) endSession(srv *oauth2.Server) http.HandlerFunc {
	lo := p.cfg.Logout
	action := srv.Prefix() + PathEndSession
	return func(w http.ResponseWriter, r *http.Request) {
		provider.HeaderSecurity(w.Header())
		ctx := r.Context()
		lr, perr := parseLogout(w, r)
		if perr != nil {
			if perr.Status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", "GET, HEAD, POST")
			}
			p.refuseLogout(w, perr.Status, "", perr.Description)
			return
		}
		clientID := lr.clientID
		var hintSub string
		if lr.hint != "" {
			h, err := p.IDTokenHint(ctx, lr.hint)
			switch {
			case errors.Is(err, jwt.ErrInvalidToken):
				p.refuseLogout(w, http.StatusBadRequest, provider.SafeText(clientID), "id_token_hint is not a valid ID token of this server")
				return
			case err != nil:
				p.logoutStoreError(w, err)
				return
			case clientID != "" && clientID != h.ClientID:
				p.refuseLogout(w, http.StatusBadRequest, provider.SafeText(clientID), "client_id is not the client id_token_hint was issued to")
				return
			}
			clientID, hintSub = h.ClientID, h.Subject
		}
		var client *store.Client
		if clientID != "" {
			c, err := lo.Clients.Get(ctx, clientID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				p.refuseLogout(w, http.StatusBadRequest, provider.SafeText(clientID), "the application is not registered with this server")
				return
			case err != nil:
				p.logoutStoreError(w, err)
				return
			}
			client = c
		}
		if lr.redirectURI != "" {
			// §3: only a URI registered for the client, exactly; a
			// request naming no client has none to check against.
			if client == nil || !slices.Contains(client.PostLogoutRedirectURIs, lr.redirectURI) ||
				oauth2.ValidateRedirectURI(lr.redirectURI) != nil {
				p.refuseLogout(w, http.StatusBadRequest, provider.SafeText(clientID), "post_logout_redirect_uri is not registered for the application")
				return
			}
		}

		user, csrf, ok, err := lo.Sessions.SessionOf(r)
		if err != nil {
			p.logoutStoreError(w, err)
			return
		}
		if !ok {
			if r.Method == http.MethodPost && !lr.confirmation {
				// A POST from the relying party's site carries no
				// SameSite=Lax session cookie; the same request as a
				// top-level GET does.
				w.Header().Set("Location", action+"?"+lr.params.Encode())
				w.WriteHeader(http.StatusSeeOther)
				return
			}
			// Nobody is signed in here: nothing to end.
			p.loggedOut(w, lr)
			return
		}
		confirmed := false
		if hintSub != "" {
			sub, err := p.subjectOf(ctx, user)
			if err != nil {
				p.logoutStoreError(w, err)
				return
			}
			confirmed = sub == hintSub
		}
		page := provider.LogoutPage{Action: action, User: user, CSRF: csrf, Params: lr.params, RedirectURI: lr.redirectURI}
		if client != nil {
			page.ClientName = client.Name
			if page.ClientName == "" {
				page.ClientName = client.ID
			}
		}
		if !confirmed && lr.confirmation {
			if !provider.Equal(lr.csrf, csrf) {
				lo.Audit.Emit(provider.Event{Name: "logout_refused", Protocol: provider.ProtocolOAuth2, User: user,
					ClientID: provider.SafeText(clientID), Reason: "invalid logout csrf token"})
				page.Error = "This sign-out form has expired or did not come from this site. Confirm again to sign out."
				lo.Pages.RenderLogout(w, http.StatusForbidden, page)
				return
			}
			confirmed = true
		}
		if !confirmed {
			lo.Pages.RenderLogout(w, http.StatusOK, page)
			return
		}
		if err := lo.Sessions.EndSession(w, r, clientID); err != nil {
			p.logoutStoreError(w, err)
			return
		}
		p.loggedOut(w, lr)
	}
}

// loggedOut sends the browser to the checked post_logout_redirect_uri,
// with state added to its query (§3), or shows the signed-out page.
func (p *Provider) loggedOut(w http.ResponseWriter, lr *logoutRequest) {
	if lr.redirectURI == "" {
		p.cfg.Logout.Pages.RenderLogout(w, http.StatusOK, provider.LogoutPage{SignedOut: true})
		return
	}
	loc := lr.redirectURI
	if lr.state != "" {
		// Appended to the URI as registered, which stays byte for byte
		// (it has no fragment: registration refuses one).
		switch {
		case !strings.Contains(loc, "?"):
			loc += "?"
		case !strings.HasSuffix(loc, "?") && !strings.HasSuffix(loc, "&"):
			loc += "&"
		}
		loc += "state=" + url.QueryEscape(lr.state)
	}
	// 303: never repeat a POST (RFC 9700 §4.12).
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
}

// refuseLogout shows an error page, never a redirect, and audits it.
func (p *Provider) refuseLogout(w http.ResponseWriter, status int, clientID, reason string) {
	p.cfg.Logout.Audit.Emit(provider.Event{Name: "logout_refused", Protocol: provider.ProtocolOAuth2, ClientID: clientID, Reason: reason})
	p.cfg.Logout.Pages.RenderError(w, status, "Sign-out request refused", "The application's sign-out request is not valid: "+reason+". You are still signed in.")
}

// logoutStoreError answers a failed store call (503 when the storage could
// not be reached).
func (p *Provider) logoutStoreError(w http.ResponseWriter, err error) {
	p.cfg.Logout.Audit.Emit(provider.Event{Name: "store_error", Protocol: provider.ProtocolOAuth2, Reason: "end_session: " + err.Error()})
	p.cfg.Logout.Pages.RenderStoreError(w, err)
}
