package oauth1

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Authorize serves resource owner authorization (RFC 5849 §2.2,
// GET/POST /oauth1/authorize). user is the logged-in resource owner, ""
// if nobody is (answered 401 with a "login required" page; the glue
// normally sends the browser to the login page first).
//
// GET shows the consent page for the temporary credentials named by
// oauth_token, or approves at once for a trusted client or when the user
// already approved these scopes for this client. POST is the consent form
// (CSRF-checked by Pages).
//
// On approval the temporary credentials get the user and the hash of a
// fresh 256-bit verifier, and the browser is redirected to the callback
// confirmed in §2.1 with oauth_token and oauth_verifier appended to its
// query (302 after GET, 303 after POST), or for "oob" the verifier is shown
// on a page. RFC 5849 defines no denial response; on denial the temporary
// credentials are revoked and the browser is sent back to the callback
// with oauth_token and oauth_problem=permission_denied (Problem Reporting
// vocabulary), so the client can tell the user; for "oob" a page says so.
// An unknown, expired or already authorized oauth_token is an error page,
// never a redirect.
func (s *Server) Authorize(w http.ResponseWriter, r *http.Request, u RequestURL, user string) {
	pages := s.cfg.Pages
	var value string
	switch r.Method {
	case http.MethodGet:
		vs := r.URL.Query()[paramToken]
		if len(vs) == 1 {
			value = vs[0]
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		if err := r.ParseForm(); err != nil {
			pages.RenderError(w, http.StatusBadRequest, "Invalid request", "The form could not be read.")
			return
		}
		if vs := r.PostForm[paramToken]; len(vs) == 1 {
			value = vs[0]
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		pages.RenderError(w, http.StatusMethodNotAllowed, "Method not allowed", "Use GET or POST.")
		return
	}
	if value == "" {
		pages.RenderError(w, http.StatusBadRequest, "Invalid request", "The request must name exactly one oauth_token.")
		return
	}
	if user == "" {
		pages.RenderError(w, http.StatusUnauthorized, "Login required", "Log in to authorize this application.")
		return
	}

	ctx := r.Context()
	tok, err := s.st.GetToken(ctx, provider.HashToken(value))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		pages.RenderStoreError(w, err)
		return
	}
	if err != nil || tok.Kind != store.KindOAuth1Request || len(tok.VerifierHash) > 0 ||
		!tok.ExpiresAt.IsZero() && !s.clock.Now().Before(tok.ExpiresAt) {
		pages.RenderError(w, http.StatusBadRequest, "Invalid request token",
			"The request token is unknown, expired or already used. Start again from the application.")
		return
	}
	client, err := s.clients.Get(ctx, tok.ClientID)
	if err != nil {
		pages.RenderError(w, http.StatusBadRequest, "Unknown application", "The application that sent you here is not registered.")
		return
	}

	if r.Method == http.MethodGet {
		if client.Trusted || s.consentRemembered(ctx, user, client.ID, tok.Scopes) {
			s.approve(w, r, tok, value, client, user)
			return
		}
		action := u.Path
		if action == "" {
			action = r.URL.EscapedPath()
		}
		redirect := tok.Callback
		if redirect == callbackOOB {
			redirect = ""
		}
		pages.RenderConsent(w, provider.ConsentPage{
			Action: action, User: user, ClientID: client.ID, ClientName: client.Name,
			Scopes: tok.Scopes, Params: map[string][]string{paramToken: {value}},
			RedirectURI: redirect,
		})
		return
	}

	approved, e := pages.CheckConsent(r, user, client.ID)
	if e != nil {
		pages.RenderError(w, e.Status, "Invalid form", e.Description)
		return
	}
	if !approved {
		s.deny(w, r, tok, value, client, user)
		return
	}
	if err := s.rememberConsent(ctx, user, client.ID, tok.Scopes); err != nil {
		pages.RenderStoreError(w, err)
		return
	}
	s.approve(w, r, tok, value, client, user)
}

// consentRemembered reports whether user approved at least these scopes for
// the client before (DESIGN §4).
func (s *Server) consentRemembered(ctx context.Context, user, clientID string, scopes []string) bool {
	c, err := s.st.GetConsent(ctx, user, clientID)
	return err == nil && provider.ContainsAll(c.Scopes, scopes)
}

// rememberConsent adds scopes to what user approved for the client.
func (s *Server) rememberConsent(ctx context.Context, user, clientID string, scopes []string) error {
	var have []string
	if c, err := s.st.GetConsent(ctx, user, clientID); err == nil {
		have = c.Scopes
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	merged := slices.Clone(have)
	for _, sc := range scopes {
		if !slices.Contains(merged, sc) {
			merged = append(merged, sc)
		}
	}
	return s.st.PutConsent(ctx, &store.Consent{User: user, ClientID: clientID, Scopes: merged, GrantedAt: s.clock.Now()})
}

// approve binds the temporary credentials to user and a fresh verifier
// (§2.2), then sends the verifier to the client.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, tok *store.Token, value string, client *store.Client, user string) {
	pages := s.cfg.Pages
	verifier, err := provider.NewToken(s.cfg.Entropy)
	if err != nil {
		pages.RenderStoreError(w, err)
		return
	}
	tok.User = user
	tok.VerifierHash = provider.HashToken(verifier)
	if err := s.st.UpdateToken(r.Context(), tok); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			pages.RenderError(w, http.StatusBadRequest, "Invalid request token",
				"The request token expired. Start again from the application.")
			return
		}
		pages.RenderStoreError(w, err)
		return
	}
	s.cfg.Audit.Emit(provider.Event{
		Name: "authorization_granted", Protocol: provider.ProtocolOAuth1,
		ClientID: client.ID, User: user, Scopes: tok.Scopes,
	})
	if tok.Callback == callbackOOB {
		name := client.Name
		if name == "" {
			name = client.ID
		}
		pages.RenderMessage(w, provider.MessagePage{
			Title:      "Authorization complete",
			Message:    "Enter this verification code in " + name + " to finish.",
			Value:      verifier,
			ValueLabel: "Verification code",
		})
		return
	}
	s.redirect(w, r, tok.Callback, []Param{{paramToken, value}, {paramVerifier, verifier}})
}

// deny revokes the temporary credentials and tells the client.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, tok *store.Token, value string, client *store.Client, user string) {
	if err := s.st.RevokeToken(r.Context(), tok.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.cfg.Pages.RenderStoreError(w, err)
		return
	}
	s.cfg.Audit.Emit(provider.Event{
		Name: "authorization_refused", Protocol: provider.ProtocolOAuth1,
		ClientID: client.ID, User: user, Reason: ProblemPermissionDenied,
	})
	if tok.Callback == callbackOOB {
		s.cfg.Pages.RenderMessage(w, provider.MessagePage{
			Title:   "Authorization denied",
			Message: "You denied access. You can close this page.",
		})
		return
	}
	s.redirect(w, r, tok.Callback, []Param{{paramToken, value}, {"oauth_problem", ProblemPermissionDenied}})
}

// redirect sends the browser to callback with params appended to its
// query: 303 after the consent POST (never 307, which would repeat the
// POST), 302 after a GET.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, callback string, params []Param) {
	provider.HeaderSecurity(w.Header())
	w.Header().Set("Location", AppendQuery(callback, params))
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.WriteHeader(status)
}

// AppendQuery adds params (§3.6-encoded) to uri's query, keeping whatever
// query it already has byte for byte (§2.2: "the callback URI ... MAY
// include a query component"); a fragment stays last.
func AppendQuery(uri string, params []Param) string {
	base, frag, hasFrag := strings.Cut(uri, "#")
	var b strings.Builder
	b.WriteString(base)
	switch {
	case !strings.Contains(base, "?"):
		b.WriteByte('?')
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
	default:
		b.WriteByte('&')
	}
	writeParams(&b, params)
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}
