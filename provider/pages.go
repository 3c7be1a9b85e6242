package provider

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var embeddedTemplates embed.FS

// Template names a template directory given to LoadTemplates may override.
const (
	TemplateConsent = "consent.html"
	TemplateError   = "error.html"
	TemplateMessage = "message.html"
	TemplateLogin   = "login.html"
	TemplateLogout  = "logout.html"
	TemplateDevice  = "device.html"
)

// DefaultFormTTL is how long a consent form stays valid.
const DefaultFormTTL = 10 * time.Minute

// Pages renders the HTML the authorization endpoints show a resource owner
// (consent, errors, an out-of-band verifier) and checks the consent form's
// CSRF token. Every page is self-contained (no external assets) and framed
// by nothing: RFC 6749 §10.13 clickjacking, RFC 9700 §4.16.
type Pages struct {
	// Key is the HMAC-SHA256 key CSRF tokens are bound with. Empty means a
	// random key made on first use, valid for this process only.
	Key []byte
	// Clock gives the time CSRF tokens expire by.
	Clock Clock
	// TTL is how long a rendered form may be submitted; 0 means
	// DefaultFormTTL.
	TTL time.Duration

	once    sync.Once
	key     []byte
	tmplMu  sync.RWMutex
	tmpl    *template.Template
	tmplErr error
}

// ConsentPage is what the consent form shows and round-trips.
type ConsentPage struct {
	// Action is the path the form posts back to (the authorize endpoint it
	// was shown on).
	Action     string
	User       string
	ClientID   string
	ClientName string
	Scopes     []string
	// Params are the original authorization request parameters, sent back
	// as hidden fields so the POST carries the whole request again.
	Params url.Values
	// RedirectURI is where the answer to the POST will redirect (the
	// validated OAuth 2 redirect_uri or OAuth 1 callback; empty for oob).
	// Browsers (Chrome) apply CSP form-action to redirects that follow a
	// form submission, so its origin is added to form-action; without it
	// the 303 back to the client would be blocked.
	RedirectURI string
}

// HeaderSecurity sets the headers every authorization page carries:
// no framing (X-Frame-Options, CSP frame-ancestors), no third-party loads,
// forms only to this origin, no Referer leaking the query, no caching.
func HeaderSecurity(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", cspFor(""))
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
}

func cspFor(redirect string) string {
	formAction := "'self'"
	if src := cspSource(redirect); src != "" {
		formAction += " " + src
	}
	return "default-src 'none'; style-src 'unsafe-inline'; form-action " + formAction + "; frame-ancestors 'none'"
}

// cspSource is the CSP source expression matching redirect: its origin for
// http(s), its scheme for a native app's private-use URI scheme (RFC 8252
// §7.1). Anything that could break out of the header yields "".
func cspSource(redirect string) string {
	if redirect == "" {
		return ""
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme == "" {
		return ""
	}
	var src string
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
		src = scheme + "://" + u.Host
	default:
		src = scheme + ":"
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c <= 0x20 || c >= 0x7f || c == ';' || c == ',' || c == '\'' || c == '"' {
			return ""
		}
	}
	return src
}

// LoadTemplates replaces embedded templates with the files of the same name
// (TemplateConsent, TemplateError, TemplateMessage, TemplateLogin,
// TemplateLogout, TemplateDevice, and "base.html" for the shared "head" and "foot") found in
// fsys; missing files keep the default.
// Call it once before serving.
func (p *Pages) LoadTemplates(fsys fs.FS) error {
	t, err := parseEmbedded()
	if err != nil {
		return err
	}
	for _, name := range []string{"base.html", TemplateConsent, TemplateError, TemplateMessage, TemplateLogin, TemplateLogout, TemplateDevice} {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := t.New(name).Parse(string(b)); err != nil {
			return err
		}
	}
	p.tmplMu.Lock()
	p.tmpl, p.tmplErr = t, nil
	p.tmplMu.Unlock()
	return nil
}

func parseEmbedded() (*template.Template, error) {
	return template.New("pages").ParseFS(embeddedTemplates, "templates/*.html")
}

func (p *Pages) templates() (*template.Template, error) {
	p.tmplMu.RLock()
	t, err := p.tmpl, p.tmplErr
	p.tmplMu.RUnlock()
	if t != nil || err != nil {
		return t, err
	}
	p.tmplMu.Lock()
	defer p.tmplMu.Unlock()
	if p.tmpl == nil && p.tmplErr == nil {
		p.tmpl, p.tmplErr = parseEmbedded()
	}
	return p.tmpl, p.tmplErr
}

// render executes a template into a buffer first, so a template error
// answers a plain 500 instead of half a page.
func (p *Pages) render(w http.ResponseWriter, status int, name string, data any, csp string) {
	HeaderSecurity(w.Header())
	w.Header().Set("Content-Security-Policy", csp)
	var buf bytes.Buffer
	t, err := p.templates()
	if err == nil {
		err = t.ExecuteTemplate(&buf, name, data)
	}
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error rendering page\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type hiddenField struct{ Name, Value string }

// hiddenFields carries params through a form, sorted by name, except the
// fields the form itself sets (skip).
func hiddenFields(params url.Values, skip ...string) []hiddenField {
	keys := make([]string, 0, len(params))
	for k := range params {
		if !slices.Contains(skip, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var hidden []hiddenField
	for _, k := range keys {
		for _, v := range params[k] {
			hidden = append(hidden, hiddenField{k, v})
		}
	}
	return hidden
}

// RenderConsent shows the consent form with a fresh CSRF token bound to
// (user, client, expiry). Approve and deny are the two submit buttons
// (decision=approve / decision=deny).
func (p *Pages) RenderConsent(w http.ResponseWriter, page ConsentPage) {
	hidden := hiddenFields(page.Params, "csrf_token", "decision")
	name := page.ClientName
	if name == "" {
		name = page.ClientID
	}
	p.render(w, http.StatusOK, TemplateConsent, consentData{
		Action: page.Action, User: page.User, ClientID: page.ClientID, ClientName: name,
		CSRF:   p.consentToken(page.User, page.ClientID, p.Clock.Now().Add(p.ttl())),
		Scopes: page.Scopes, Hidden: hidden,
	}, cspFor(page.RedirectURI))
}

// consentData is what consent.html renders. Note is a warning above the
// request (the device flow's, RFC 8628 §5.4); empty for the others.
type consentData struct {
	Action, User, ClientID, ClientName, CSRF, Note string
	Scopes                                         []string
	Hidden                                         []hiddenField
}

// CheckConsent verifies a submitted consent form (r.ParseForm already
// called): the csrf_token must be one RenderConsent made for this user and
// client and not be expired, and decision must be approve or deny. A bad
// token is invalid_request with status 403.
func (p *Pages) CheckConsent(r *http.Request, user, clientID string) (approved bool, err *Error) {
	return checkDecision(r, func(token string) bool { return p.checkConsentToken(token, user, clientID) })
}

// checkDecision reads a POSTed approve/deny form whose one csrf_token
// valid accepts: the consent page's and the device page's.
func checkDecision(r *http.Request, valid func(token string) bool) (approved bool, err *Error) {
	if r.Method != http.MethodPost {
		return false, NewError(http.StatusMethodNotAllowed, "invalid_request", "consent must be submitted with POST")
	}
	form := r.PostForm
	if len(form["csrf_token"]) != 1 || len(form["decision"]) != 1 {
		return false, NewError(http.StatusForbidden, "invalid_request", "missing or repeated csrf_token or decision")
	}
	if !valid(form.Get("csrf_token")) {
		return false, NewError(http.StatusForbidden, "invalid_request", "invalid or expired form, please try again")
	}
	switch form.Get("decision") {
	case "approve":
		return true, nil
	case "deny":
		return false, nil
	}
	return false, NewError(http.StatusBadRequest, "invalid_request", "decision must be approve or deny")
}

// RenderError shows an error page. The authorization endpoints use it when
// they must not redirect (unknown client, redirect URI mismatch: RFC 6749
// §4.1.2.1) or when there is nowhere to redirect to.
func (p *Pages) RenderError(w http.ResponseWriter, status int, title, detail string) {
	p.render(w, status, TemplateError, struct {
		Title, Detail string
		Status        int
	}{title, detail, status}, cspFor(""))
}

// RenderStoreError shows the error page for a failed store call.
func (p *Pages) RenderStoreError(w http.ResponseWriter, err error) {
	status, title, detail := StoreErrorPage(err)
	p.RenderError(w, status, title, detail)
}

// StoreErrorPage is the status, title and detail of the error page for a
// failed store call: 503 (with Retry-After) when the storage could not be
// reached, 500 otherwise.
func StoreErrorPage(err error) (status int, title, detail string) {
	if Unavailable(err) {
		return http.StatusServiceUnavailable, "Temporarily unavailable", "The server cannot answer right now. Please try again in a few seconds."
	}
	return http.StatusInternalServerError, "Server error", "Please try again later."
}

// MessagePage is an informational page, e.g. the OAuth 1 out-of-band
// verifier the user copies into the client (RFC 5849 §2.2).
type MessagePage struct {
	Title   string
	Message string
	// Value, if set, is shown prominently and easy to select (a verifier).
	Value string
	// ValueLabel is its accessible label (e.g. "Verification code").
	ValueLabel string
}

// RenderMessage shows an informational page with status 200.
func (p *Pages) RenderMessage(w http.ResponseWriter, page MessagePage) {
	if page.ValueLabel == "" {
		page.ValueLabel = page.Title
	}
	p.render(w, http.StatusOK, TemplateMessage, page, cspFor(""))
}

func (p *Pages) ttl() time.Duration {
	if p.TTL > 0 {
		return p.TTL
	}
	return DefaultFormTTL
}

func (p *Pages) hmacKey() []byte {
	if len(p.Key) > 0 {
		return p.Key
	}
	p.once.Do(func() {
		p.key = make([]byte, 32)
		if _, err := rand.Read(p.key); err != nil {
			panic("provider: crypto/rand failed: " + err.Error())
		}
	})
	return p.key
}

// consentMAC binds user, client and expiry; fields are length-prefixed so
// no two different triples share an input.
func (p *Pages) consentMAC(user, clientID string, exp int64) []byte {
	m := hmac.New(sha256.New, p.hmacKey())
	var b []byte
	b = append(b, "caddy-oauth consent v1"...)
	for _, s := range []string{user, clientID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	m.Write(b)
	return m.Sum(nil)
}

// consentToken is "<expiry unix>.<base64url HMAC>".
func (p *Pages) consentToken(user, clientID string, exp time.Time) string {
	e := exp.Unix()
	return strconv.FormatInt(e, 10) + "." + base64.RawURLEncoding.EncodeToString(p.consentMAC(user, clientID, e))
}

func (p *Pages) checkConsentToken(tok, user, clientID string) bool {
	exp, mac, ok := splitFormToken(tok)
	if !ok {
		return false
	}
	good := hmac.Equal(mac, p.consentMAC(user, clientID, exp))
	return good && !p.Clock.Now().After(time.Unix(exp, 0))
}

// splitFormToken parses a form token "<expiry unix>.<base64url MAC>".
func splitFormToken(tok string) (exp int64, mac []byte, ok bool) {
	es, ms, ok := strings.Cut(tok, ".")
	if !ok || len(es) > 19 {
		return 0, nil, false
	}
	exp, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return 0, nil, false
	}
	if mac, err = base64.RawURLEncoding.DecodeString(ms); err != nil {
		return 0, nil, false
	}
	return exp, mac, true
}

// LoginPage is what the login form shows and round-trips.
type LoginPage struct {
	// Action is the path the form posts back to (the login endpoint).
	Action string
	// Username refills the field after a failed attempt; the password is
	// never sent back.
	Username string
	// ReturnTo is the local path to go to after signing in (hidden field).
	ReturnTo string
	// CSRF is the login form token (LoginToken), sent as csrf_token.
	CSRF string
	// Error, if set, is shown above the form as an alert.
	Error string
	// SignedInAs names the user of a live session, if any: signing in
	// again replaces it.
	SignedInAs string
}

// RenderLogin shows the login form with the given status (200, or 401,
// 403, 429 after a refused attempt).
func (p *Pages) RenderLogin(w http.ResponseWriter, status int, page LoginPage) {
	p.render(w, status, TemplateLogin, page, cspFor(""))
}

// LogoutPage is the logout confirmation form, or the page shown once
// signed out.
type LogoutPage struct {
	// Action is the path the confirmation form posts to.
	Action string
	// User is the signed-in user the form would sign out.
	User string
	// CSRF is the session's CSRF value, sent as csrf_token.
	CSRF string
	// SignedOut shows the "signed out" page instead of the form.
	SignedOut bool
	// Error, if set, is shown above the form as an alert.
	Error string
	// Params are sent back as hidden fields (an OpenID Connect logout
	// request's parameters); csrf_token among them is left out.
	Params url.Values
	// RedirectURI is where the POST will redirect (a post_logout_redirect_uri),
	// added to CSP form-action as for the consent form.
	RedirectURI string
	// ClientName names the application that asked to sign out, if any.
	ClientName string
}

// logoutData is what logout.html renders.
type logoutData struct {
	LogoutPage
	Hidden []hiddenField
}

// RenderLogout shows the logout confirmation form or, with SignedOut, the
// signed-out page.
func (p *Pages) RenderLogout(w http.ResponseWriter, status int, page LogoutPage) {
	p.render(w, status, TemplateLogout, logoutData{page, hiddenFields(page.Params, "csrf_token")}, cspFor(page.RedirectURI))
}

// loginMAC binds the pre-login cookie value and the expiry; the prefix
// keeps it apart from consent tokens made with the same key.
func (p *Pages) loginMAC(cookie string, exp int64) []byte {
	m := hmac.New(sha256.New, p.hmacKey())
	var b []byte
	b = append(b, "caddy-oauth login v1"...)
	b = binary.AppendUvarint(b, uint64(len(cookie)))
	b = append(b, cookie...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	m.Write(b)
	return m.Sum(nil)
}

// LoginToken is the login form's CSRF token before any session exists
// (double-submit cookie): "<expiry unix>.<base64url HMAC>" of the random
// pre-login cookie value. Only a page served by this server, to the browser
// holding that cookie, carries a matching pair; the HMAC key (Key) keeps
// an attacker who can plant a cookie from minting the field.
func (p *Pages) LoginToken(cookie string, exp time.Time) string {
	e := exp.Unix()
	return strconv.FormatInt(e, 10) + "." + base64.RawURLEncoding.EncodeToString(p.loginMAC(cookie, e))
}

// CheckLoginToken reports whether tok is a LoginToken for cookie that has
// not expired at now, comparing the HMAC in constant time.
func (p *Pages) CheckLoginToken(tok, cookie string, now time.Time) bool {
	if cookie == "" {
		return false
	}
	es, ms, ok := strings.Cut(tok, ".")
	if !ok || len(es) > 19 {
		return false
	}
	exp, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return false
	}
	mac, err := base64.RawURLEncoding.DecodeString(ms)
	if err != nil {
		return false
	}
	good := hmac.Equal(mac, p.loginMAC(cookie, exp))
	return good && !now.After(time.Unix(exp, 0))
}
