package caddyoauth

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

func init() {
	caddy.RegisterModule(RequireOAuth{})
}

// Protocol names, as the protocols option and {oauth.protocol} spell them.
const (
	protocolOAuth1 = provider.ProtocolOAuth1
	protocolOAuth2 = provider.ProtocolOAuth2
)

// Default names of the headers require_oauth hands the backend.
const (
	defaultHeaderUser   = "X-OAuth-User"
	defaultHeaderClient = "X-OAuth-Client-Id"
	defaultHeaderScope  = "X-OAuth-Scope"
)

// disabledHeader as a header name turns that header off.
const disabledHeader = "-"

// RequireOAuth lets a request through only with a valid OAuth 2 bearer
// token (RFC 6750) or OAuth 1.0a signed request (RFC 5849) issued by a
// server of the oauth app, carrying every required scope. It then removes
// the credentials and hands the next handler the identity as headers
// (X-OAuth-User, X-OAuth-Client-Id, X-OAuth-Scope; any such header the
// client sent is dropped first) and placeholders: {http.auth.user.id} (the
// user, or the client ID for a token without one), {oauth.user},
// {oauth.client_id}, {oauth.scope}, {oauth.protocol}.
//
// Otherwise it answers itself and the next handler never runs: 401 with
// `WWW-Authenticate: Bearer` (error="invalid_token" for a bad token, no
// error code without credentials), 403 error="insufficient_scope", 400
// invalid_request; for OAuth 1, 401 with `WWW-Authenticate: OAuth` and an
// oauth_problem body.
type RequireOAuth struct {
	// The name of the server in the oauth app whose tokens are accepted.
	// Default: "default".
	Server string `json:"server,omitempty"`

	// The scopes a token must carry, all of them.
	Scopes []string `json:"scopes,omitempty"`

	// The protocols accepted: "oauth1", "oauth2". Default: both (OAuth 1
	// only if the server enables it).
	Protocols []string `json:"protocols,omitempty"`

	// The header carrying the resource owner's username; "-" disables it.
	// Default: X-OAuth-User. It is not set for a token without a user
	// (client_credentials).
	HeaderUser string `json:"header_user,omitempty"`

	// The header carrying the client ID; "-" disables it. Default:
	// X-OAuth-Client-Id.
	HeaderClient string `json:"header_client,omitempty"`

	// The header carrying the token's scopes, space-separated; "-"
	// disables it. Default: X-OAuth-Scope.
	HeaderScope string `json:"header_scope,omitempty"`

	// The realm of the WWW-Authenticate challenges. Default: the
	// request's host name.
	Realm string `json:"realm,omitempty"`

	// Accept an OAuth 2 access token in the access_token query parameter
	// (RFC 6750 §2.3). Off by default: URLs end up in logs and Referer
	// headers.
	AllowQueryToken bool `json:"allow_query_token,omitempty"`

	// The issuer identifier of a remote authorization server whose tokens
	// are accepted (instead of a server of the oauth app): its metadata
	// is found by RFC 8414 or OpenID Connect discovery, JWT access tokens
	// are verified with its JWK Set and opaque ones by introspection.
	// Mutually exclusive with server; OAuth 2 only.
	Issuer string `json:"issuer,omitempty"`

	// With issuer: the audiences a token's aud must include one of.
	Audience []string `json:"audience,omitempty"`

	// With issuer: the JWT typ required (e.g. at+jwt for RFC 9068
	// tokens). Default: any.
	TokenType string `json:"token_type,omitempty"`

	// With issuer: clock leeway for exp, nbf and iat. Default: 30s.
	Leeway caddy.Duration `json:"leeway,omitempty"`

	// With issuer: verify opaque tokens by RFC 7662 introspection.
	Introspect *RemoteIntrospection `json:"introspect,omitempty"`

	// With issuer: extra headers set from the token's claims, header
	// name to claim name (e.g. X-OAuth-Email: email). A header the client
	// sent under such a name is dropped first.
	ClaimHeaders map[string]string `json:"claim_headers,omitempty"`

	remote  *remoteIssuer
	auditor provider.Auditor
	claimH  []claimHeader

	srv              *Server
	accept1, accept2 bool // the protocols this handler accepts

	hUser, hClient, hScope string   // canonical names; "" if disabled
	sanitize               []string // lower-case, '-' spelled names to drop
	needScope              string   // Scopes joined, for insufficient_scope
	realm                  string
	logger                 *zap.Logger
	// vs caches the verifiers; a pointer, so the module stays copyable.
	vs *atomic.Pointer[verifierSet]
}

// CaddyModule returns the Caddy module information.
func (RequireOAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.require_oauth",
		New: func() caddy.Module { return new(RequireOAuth) },
	}
}

// Provision finds the server in the oauth app and prepares the header names.
func (h *RequireOAuth) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Issuer != "" {
		return h.provisionRemote(ctx)
	}
	if len(h.ClaimHeaders) > 0 || h.Introspect != nil || len(h.Audience) > 0 || h.TokenType != "" || h.Leeway != 0 {
		return fmt.Errorf("claim_header, introspect, audience, token_type and leeway need issuer (a remote authorization server)")
	}
	srv, err := serverFor(ctx, h.Server)
	if err != nil {
		return err
	}
	return h.provision(srv)
}

// provision sets the handler up over a provisioned server.
func (h *RequireOAuth) provision(srv *Server) error {
	if h.logger == nil {
		h.logger = zap.NewNop()
	}
	for _, s := range h.Scopes {
		if !provider.ValidScopeToken(s) {
			return fmt.Errorf("scopes: %q is not a valid scope", s)
		}
	}
	h.needScope = provider.FormatScope(h.Scopes)
	want1, want2 := true, true
	if len(h.Protocols) > 0 {
		want1, want2 = slices.Contains(h.Protocols, protocolOAuth1), slices.Contains(h.Protocols, protocolOAuth2)
		for _, p := range h.Protocols {
			if p != protocolOAuth1 && p != protocolOAuth2 {
				return fmt.Errorf("protocols: unknown protocol %q (oauth1, oauth2)", p)
			}
		}
	}
	if want1 && !want2 && !srv.cfg.oauth1Enabled() {
		return fmt.Errorf("protocols: oauth1 only, but OAuth 1 is disabled on server %q", srv.Name())
	}
	h.srv, h.accept1, h.accept2 = srv, want1, want2
	h.auditor = srv.audit
	return h.provisionHeaders()
}

// provisionHeaders prepares the realm and the identity header names.
func (h *RequireOAuth) provisionHeaders() error {
	h.vs = new(atomic.Pointer[verifierSet])
	h.realm = provider.SafeText(h.Realm)

	var err error
	if h.hUser, err = headerName(h.HeaderUser, defaultHeaderUser, "header_user"); err != nil {
		return err
	}
	if h.hClient, err = headerName(h.HeaderClient, defaultHeaderClient, "header_client"); err != nil {
		return err
	}
	if h.hScope, err = headerName(h.HeaderScope, defaultHeaderScope, "header_scope"); err != nil {
		return err
	}
	// The default names are dropped even when renamed or disabled: a
	// backend may still read them, and a client must never set them.
	h.sanitize = nil
	names := []string{h.hUser, h.hClient, h.hScope, defaultHeaderUser, defaultHeaderClient, defaultHeaderScope}
	for _, c := range h.claimH {
		names = append(names, c.header)
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if k := foldHeaderName(n); !slices.Contains(h.sanitize, k) {
			h.sanitize = append(h.sanitize, k)
		}
	}
	return nil
}

// headerName resolves a configured header name: default if empty, "" if
// disabled, else the canonical form of a valid field name.
func headerName(v, def, option string) (string, error) {
	switch v {
	case "":
		v = def
	case disabledHeader:
		return "", nil
	}
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			return "", fmt.Errorf("%s: %q is not a valid header name", option, v)
		}
	}
	return http.CanonicalHeaderKey(v), nil
}

// isTokenChar: RFC 9110 §5.6.2 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// verifierSet is what a handler verifies with, built from one set of the
// server's engines.
type verifierSet struct {
	engines *engines
	// list holds the accepted verifiers in the order Detect asks them
	// when no Authorization scheme claims the request: OAuth 1 first, as
	// its parameters can sit in the same query or body as anything else.
	list []provider.Verifier
	// schemes maps each protocol's Authorization scheme to its verifier,
	// nil when this handler does not accept it (then hint explains).
	schemes []schemeClaim
}

type schemeClaim struct {
	scheme string
	v      provider.Verifier
	hint   string
}

// verifiers returns the verifiers over the server's current engines: an
// oauth_server handler provisioned after this one may have mounted them
// anew (under its prefix), and every handler must verify with the engine
// that also revokes, since it keeps the verification cache. They are
// rebuilt only when the engines change.
func (h *RequireOAuth) verifiers() *verifierSet {
	if h.remote != nil {
		return h.remote.set
	}
	e := h.srv.engines()
	if vs := h.vs.Load(); vs != nil && vs.engines == e {
		return vs
	}
	if e == nil {
		return nil
	}
	vs := &verifierSet{engines: e}
	var v1, v2 provider.Verifier
	if h.accept1 && e.o1 != nil {
		v1 = e.o1.Verifier(requestURL)
		vs.list = append(vs.list, v1)
	}
	if h.accept2 {
		v2 = e.o2.Verifier(h.AllowQueryToken)
		vs.list = append(vs.list, v2)
	}
	vs.schemes = []schemeClaim{
		{oauth2.Scheme, v2, "OAuth 2 bearer tokens are not accepted here"},
		{oauth1.Scheme, v1, "OAuth 1 requests are not accepted here"},
	}
	h.vs.Store(vs)
	return vs
}

// detect finds the verifier whose credential the request carries: the one
// its Authorization scheme names, else the first that finds its
// credential. v is nil when there is none (hint may say why).
func (vs *verifierSet) detect(r *http.Request) (v provider.Verifier, c provider.Credential, hint string, e *provider.Error) {
	switch auth := r.Header["Authorization"]; len(auth) {
	case 0:
	case 1:
		scheme, _, _ := strings.Cut(auth[0], " ")
		for _, sc := range vs.schemes {
			if !strings.EqualFold(scheme, sc.scheme) {
				continue
			}
			if sc.v == nil {
				return nil, c, sc.hint, nil
			}
			c, found, e := sc.v.Detect(r)
			if !found && e == nil {
				return nil, c, "", nil
			}
			return sc.v, c, "", e
		}
	default:
		// RFC 6750 §2 (and RFC 5849 §3.5.1 alike): one credential, one way.
		return vs.list[len(vs.list)-1], c, "", provider.ErrInvalidRequest("more than one Authorization header")
	}
	for _, v := range vs.list {
		if c, found, e := v.Detect(r); found || e != nil {
			return v, c, "", e
		}
	}
	return nil, c, "", nil
}

// ServeHTTP checks the credentials with the verifier they belong to and
// either lets it answer the refusal or passes the sanitized request on.
func (h *RequireOAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	vs := h.verifiers()
	if vs == nil {
		// The server has not reached its storage since it started:
		// nothing can be verified, so nothing passes.
		writeUnavailable(w)
		return nil
	}
	v, c, hint, e := vs.detect(r)
	if v == nil {
		h.refuseNoCredentials(w, r, vs, hint)
		return nil
	}
	var id *provider.Identity
	if e == nil {
		id, e = v.Verify(r, c, h.Scopes)
	}
	if e != nil {
		h.audit(r, v.Protocol(), id, e)
		v.Challenge(w, h.realmFor(r), e)
		return nil
	}
	v.Strip(r, c)
	h.setIdentity(r, id)
	return next.ServeHTTP(w, r)
}

// setIdentity drops any identity header the client sent, under any
// spelling, then sets the verified ones and the placeholders.
func (h *RequireOAuth) setIdentity(r *http.Request, id *provider.Identity) {
	for k := range r.Header {
		for _, s := range h.sanitize {
			if sameHeaderName(k, s) {
				delete(r.Header, k)
				break
			}
		}
	}
	h.unlistIdentity(r.Header)
	scope := provider.FormatScope(id.Scopes)
	// One backing array for the three header values (full slice
	// expressions, so an append by a later handler cannot spill into the
	// next value).
	vals := [...]string{id.User, id.ClientID, scope}
	if h.hUser != "" && id.User != "" {
		r.Header[h.hUser] = vals[0:1:1]
	}
	if h.hClient != "" {
		r.Header[h.hClient] = vals[1:2:2]
	}
	if h.hScope != "" {
		r.Header[h.hScope] = vals[2:3:3]
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		authID := id.User
		if authID == "" {
			authID = id.ClientID
		}
		repl.Set("http.auth.user.id", authID)
		repl.Set("oauth.user", id.User)
		repl.Set("oauth.client_id", id.ClientID)
		repl.Set("oauth.scope", scope)
		repl.Set("oauth.protocol", id.Protocol)
	}
	if len(h.claimH) > 0 {
		h.setClaimHeaders(r, id)
	}
}

// unlistIdentity removes the identity header names from the Connection
// field, keeping its other tokens: reverse_proxy deletes every header that
// field names (RFC 9110 §7.6.1), so a client sending `Connection:
// X-OAuth-User` would have the verified user dropped after it was set.
// The field is rewritten only when it names one (no allocation otherwise).
func (h *RequireOAuth) unlistIdentity(hdr http.Header) {
	vals, ok := hdr["Connection"]
	if !ok {
		return
	}
	i := slices.IndexFunc(vals, h.namesIdentity)
	if i < 0 {
		return
	}
	kept := append(make([]string, 0, len(vals)), vals[:i]...)
	for _, v := range vals[i:] {
		if !h.namesIdentity(v) {
			kept = append(kept, v)
			continue
		}
		var b strings.Builder
		for tok := range strings.SplitSeq(v, ",") {
			// Trimmed as reverse_proxy trims it.
			if t := textproto.TrimString(tok); t != "" && !h.isIdentityName(t) {
				if b.Len() > 0 {
					b.WriteString(", ")
				}
				b.WriteString(t)
			}
		}
		if b.Len() > 0 {
			kept = append(kept, b.String())
		}
	}
	if len(kept) == 0 {
		delete(hdr, "Connection")
		return
	}
	hdr["Connection"] = kept
}

// namesIdentity reports whether a Connection field value lists an
// identity header name.
func (h *RequireOAuth) namesIdentity(v string) bool {
	for len(v) > 0 {
		tok, rest, _ := strings.Cut(v, ",")
		if h.isIdentityName(textproto.TrimString(tok)) {
			return true
		}
		v = rest
	}
	return false
}

// isIdentityName: a header require_oauth sets or drops, in any spelling.
func (h *RequireOAuth) isIdentityName(name string) bool {
	for _, s := range h.sanitize {
		if sameHeaderName(name, s) {
			return true
		}
	}
	return false
}

// foldHeaderName lower-cases a header name and spells '_' and '.' as '-'.
func foldHeaderName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if c == '_' || c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

// sameHeaderName compares k with a folded name, case-insensitively and
// with '_', '.' and '-' equal, without allocating: CGI-style backends
// (PHP's $_SERVER, FastCGI) fold all three onto one variable, so
// X_OAuth_User would pass for X-OAuth-User. Caddy drops such headers by
// default, but not when a server allowlists them.
func sameHeaderName(k, folded string) bool {
	if len(k) != len(folded) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}

// realmFor is the configured realm or the request's host name.
func (h *RequireOAuth) realmFor(r *http.Request) string {
	if h.realm != "" {
		return h.realm
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return provider.SafeText(host)
}

// refuseNoCredentials answers a request without credentials: 401 with a
// challenge per accepted protocol and no error code (RFC 6750 §3.1).
func (h *RequireOAuth) refuseNoCredentials(w http.ResponseWriter, r *http.Request, vs *verifierSet, hint string) {
	h.debug("no credentials", r, nil)
	realm := h.realmFor(r)
	// The OAuth 2 challenge first, as before verifiers had an order.
	for i := len(vs.list) - 1; i >= 0; i-- {
		vs.list[i].Challenge(w, realm, nil)
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	msg := "authentication required\n"
	if hint != "" {
		msg = hint + "\n"
	}
	_, _ = w.Write([]byte(msg))
}

// debug logs a refusal at debug level; the hot path pays one Check.
func (h *RequireOAuth) debug(msg string, r *http.Request, e *provider.Error) {
	if ce := h.logger.Check(zapcore.DebugLevel, msg); ce != nil {
		fields := []zap.Field{zap.String("host", r.Host), zap.String("path", r.URL.Path)}
		if e != nil {
			fields = append(fields, zap.String("error", e.Code))
		}
		ce.Write(fields...)
	}
}

// audit records a refused request as a "request_refused" event of the
// server (the oauth log and caddy_oauth_events_total): the protocol, why,
// and for a valid token without the scope, whose it was. The credential
// itself is never part of it. A request without any credential is not an
// event (it is the normal first step of a client that waits for the
// challenge); it is logged at debug level only.
func (h *RequireOAuth) audit(r *http.Request, protocol string, id *provider.Identity, e *provider.Error) {
	ev := provider.Event{Name: "request_refused", Protocol: protocol, Reason: e.Code}
	if e.Description != "" {
		ev.Reason += ": " + e.Description
	}
	if id != nil {
		ev.ClientID, ev.User = id.ClientID, id.User
	}
	h.auditor.Emit(ev)
	h.debug("request refused", r, e)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*RequireOAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*RequireOAuth)(nil)
)
