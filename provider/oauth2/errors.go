package oauth2

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// noStore marks a response uncacheable: RFC 6749 §5.1 for token
// responses and §5.2 for their errors.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeJSON answers v as JSON, uncached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	noStore(h)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// writeError renders an endpoint error per RFC 6749 §5.2: JSON, and for
// invalid_client after HTTP Basic authentication 401 with
// WWW-Authenticate naming the scheme the client used.
func (s *Server) writeError(w http.ResponseWriter, e *provider.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if e.Basic {
		status = http.StatusUnauthorized
	}
	// Every 401 names the scheme to authenticate with (RFC 9110 §15.5.2);
	// after a failed Basic attempt RFC 6749 §5.2 requires it.
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+provider.SafeText(s.issuer)+`", charset="UTF-8"`)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", provider.RetryAfter)
	}
	writeJSON(w, status, errorBody{Error: e.Code, ErrorDescription: provider.SafeText(e.Description)})
}

// redirectTo sends the user agent to uri with params added to its query
// (RFC 6749 §4.1.2: the registered URI's own query is kept). After a form
// POST it uses 303 so the browser follows with GET and does not re-post
// the form to the client (RFC 9700 §4.12); after GET, 302.
func redirectTo(w http.ResponseWriter, r *http.Request, uri string, params url.Values) {
	u, err := url.Parse(uri)
	if err != nil {
		// The URI was validated against the registration before; this
		// cannot happen, but never redirect to something unparsable.
		http.Error(w, "invalid redirect URI", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", u.String())
	w.WriteHeader(status)
}

// redirectError is an authorization error the client learns through its
// redirect URI (RFC 6749 §4.1.2.1), with state and iss (RFC 9207 §2).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, ar *authzRequest, e *provider.Error) {
	s.emit(provider.Event{Name: "authorization_refused", ClientID: ar.client.ID, User: ar.user, Reason: e.Code})
	redirectTo(w, r, ar.redirectURI, url.Values{
		"error":             {e.Code},
		"error_description": {provider.SafeText(e.Description)},
		"state":             {ar.state},
		"iss":               {s.cfg.Issuer},
	})
}

// errorPage shows an authorization error that must not be redirected.
func (s *Server) errorPage(w http.ResponseWriter, status int, title, detail, clientID string) {
	s.emit(provider.Event{Name: "authorization_refused", ClientID: provider.SafeText(clientID), Reason: title})
	s.pages.RenderError(w, status, title, detail)
}
