package oauth2

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Prompt is what an OpenID Connect authorization request asks of the
// authentication and consent steps (Core §3.1.2.1): prompt and max_age.
type Prompt struct {
	// None: show no page; answer login_required or consent_required
	// instead.
	None bool
	// Login: authenticate the user again, whatever session there is.
	Login bool
	// Consent: ask for consent, even if given before or the client is
	// trusted.
	Consent bool
	// MaxAge, if HasMaxAge, is the longest time since the user
	// authenticated that the request accepts.
	MaxAge    time.Duration
	HasMaxAge bool
}

// parsePrompt reads prompt and max_age from params; an invalid
// combination is invalid_request (none with anything else, an unknown
// value, a malformed max_age).
func parsePrompt(params url.Values) (Prompt, *provider.Error) {
	var p Prompt
	values := strings.Fields(params.Get("prompt"))
	for _, v := range values {
		switch v {
		case "none":
			p.None = true
		case "login":
			p.Login = true
		case "consent":
			p.Consent = true
		case "select_account":
			// One account per session: nothing to select.
		default:
			return p, provider.ErrInvalidRequest("prompt " + provider.SafeText(v) + " is not supported (none, login, consent, select_account)")
		}
	}
	if p.None && len(values) > 1 {
		return p, provider.ErrInvalidRequest("prompt none cannot be combined with other values")
	}
	if raw := params.Get("max_age"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > int64(100*365*24*time.Hour/time.Second) {
			return p, provider.ErrInvalidRequest("max_age must be a number of seconds")
		}
		p.MaxAge, p.HasMaxAge = time.Duration(n)*time.Second, true
	}
	return p, nil
}

// AuthorizationPrompt returns the prompt of an OpenID Connect request to
// the authorization endpoint, for the glue that authenticates the user
// before Authorize runs: ok is false for anything else (not an OpenID
// request, a consent form's POST back, a malformed request, which
// Authorize itself answers).
func (s *Server) AuthorizationPrompt(r *http.Request) (p Prompt, ok bool) {
	if s.cfg.OpenID == nil || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return p, false
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || !strings.Contains(" "+params.Get("scope")+" ", " "+ScopeOpenID+" ") {
		return p, false
	}
	p, perr := parsePrompt(params)
	return p, perr == nil
}

// MustReauthenticate reports whether a user who authenticated at
// signedIn (zero: no session) must sign in again for p at now.
func (p Prompt) MustReauthenticate(signedIn, now time.Time) bool {
	return signedIn.IsZero() || p.Login || p.HasMaxAge && now.Sub(signedIn) > p.MaxAge
}

// WithoutLoginPrompt is the authorization request URI with "login"
// dropped from prompt: where the login page returns, so that a fresh
// sign-in is not asked for again and again.
func WithoutLoginPrompt(requestURI string) string {
	u, err := url.Parse(requestURI)
	if err != nil {
		return requestURI
	}
	q := u.Query()
	var keep []string
	for _, v := range strings.Fields(q.Get("prompt")) {
		if v != "login" {
			keep = append(keep, v)
		}
	}
	if len(keep) == 0 {
		q.Del("prompt")
	} else {
		q.Set("prompt", strings.Join(keep, " "))
	}
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// openIDPromptCheck validates what Core §6 lets a server refuse: request
// objects are not supported.
func openIDUnsupported(params url.Values) *provider.Error {
	switch {
	case params.Has("request"):
		return provider.NewError(http.StatusBadRequest, "request_not_supported", "request objects are not supported")
	case params.Has("request_uri"):
		return provider.NewError(http.StatusBadRequest, "request_uri_not_supported", "request_uri is not supported")
	case params.Has("registration"):
		return provider.NewError(http.StatusBadRequest, "registration_not_supported", "use the registration endpoint")
	}
	return nil
}
