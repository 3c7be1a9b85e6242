package caddyoauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

func init() {
	caddy.RegisterModule(OAuthServer{})
}

// defaultUserFrom is where the resource owner's identity comes from unless
// configured: what Caddy's authentication handlers (basic_auth, ...) set.
const defaultUserFrom = "{http.auth.user.id}"

// OAuthServer serves the endpoints of an authorization server of the oauth
// app: OAuth 2 authorize, token, revoke and introspect, the RFC 8414
// metadata, the JWK Set (/oauth2/jwks) when the server issues JWT access
// tokens or speaks OpenID Connect (openid among its scopes, which also adds
// /.well-known/openid-configuration, /oauth2/userinfo and the RP-initiated
// logout endpoint /oauth2/end_session), with the device
// grant enabled the RFC 8628 device authorization endpoint
// (/oauth2/device_authorization) and user-code page (/oauth2/device,
// signed in like the authorization endpoint), with registration on the
// RFC 7591 endpoint (/oauth2/register), and the OAuth 1.0a request token,
// authorize and access token
// endpoints. Requests for any other path go to the next handler.
//
// It also serves the built-in login pages, <prefix>/oauth/login and
// <prefix>/oauth/logout. The resource owner approving an authorization
// request is whoever an earlier handler authenticated (by default the
// `{http.auth.user.id}` that basic_auth or an authentication provider
// sets), so a site that delegates login shows no login form; without one,
// it is the user signed in through the login page (a session cookie backed
// by the server's storage, lasting the server's session_ttl), and a
// browser that is not signed in is sent to the login page and back.
type OAuthServer struct {
	// The name of the server in the oauth app. Default: "default".
	Server string `json:"server,omitempty"`

	// A path prefix all endpoints are mounted under (e.g. "/auth"). The
	// metadata document stays at /.well-known/oauth-authorization-server.
	// Every oauth_server handler of one server must use the same prefix
	// (the metadata advertises one set of endpoint URLs). Use it instead
	// of handle_path or uri strip_prefix, which the endpoints refuse.
	Prefix string `json:"prefix,omitempty"`

	// The placeholder giving the authenticated resource owner's username.
	// Default: {http.auth.user.id}. When it is empty the built-in login
	// decides. Only safe when an earlier handler always sets it
	// (forward_auth with copy_headers does, for a header): otherwise a
	// client could claim to be anyone.
	UserFrom string `json:"user_from,omitempty"`

	// A directory whose login.html, logout.html, consent.html, error.html,
	// message.html, device.html and base.html replace the embedded page templates
	// (files it lacks keep the default). Like the prefix, the same for
	// every oauth_server handler of one server.
	Templates string `json:"templates,omitempty"`

	srv    *Server
	routes *atomic.Pointer[serverRoutes]
	logger *zap.Logger
	// strippedLogged: the mounting error is logged once, not per request;
	// a pointer, so the module stays copyable.
	strippedLogged *atomic.Bool
}

// serverRoutes are the served paths built over one set of engines; they
// are rebuilt when the server's engines change (at its first successful
// contact with the storage).
type serverRoutes struct {
	engines *engines
	paths   map[string]endpoint
}

// endpoint is one served path: the methods it accepts and its handler.
type endpoint struct {
	allow   string // the Allow header for a 405
	methods []string
	serve   func(w http.ResponseWriter, r *http.Request)
}

// CaddyModule returns the Caddy module information.
func (OAuthServer) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.oauth_server",
		New: func() caddy.Module { return new(OAuthServer) },
	}
}

// Provision finds the server in the oauth app and builds the routes.
func (h *OAuthServer) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	srv, err := serverFor(ctx, h.Server)
	if err != nil {
		return err
	}
	return h.provision(srv)
}

// provision builds the engines and routes over a provisioned server.
func (h *OAuthServer) provision(srv *Server) error {
	if err := checkPrefix(h.Prefix); err != nil {
		return fmt.Errorf("prefix: %v", err)
	}
	if h.UserFrom == "" {
		h.UserFrom = defaultUserFrom
	}
	if !strings.Contains(h.UserFrom, "{") {
		return fmt.Errorf("user_from %q must be a placeholder such as {http.auth.user.id}", h.UserFrom)
	}
	if err := srv.mount(h.Prefix, h.Templates); err != nil {
		return err
	}
	h.srv = srv
	h.routes = new(atomic.Pointer[serverRoutes])
	h.strippedLogged = new(atomic.Bool)
	return nil
}

// currentRoutes are the routes over the server's current engines; nil
// while the server is not ready.
func (h *OAuthServer) currentRoutes() *serverRoutes {
	e := h.srv.engines()
	if rt := h.routes.Load(); rt != nil && rt.engines == e {
		return rt
	}
	if e == nil {
		return nil
	}
	rt := &serverRoutes{engines: e, paths: h.buildRoutes(e)}
	h.routes.Store(rt)
	return rt
}

// buildRoutes mounts the endpoints the engines return under the prefix.
func (h *OAuthServer) buildRoutes(en *engines) map[string]endpoint {
	eps := append(en.o2.Endpoints(), en.login.Endpoints()...)
	eps = append(eps, en.oidcEps...)
	if en.o1 != nil {
		eps = append(eps, en.o1.Endpoints(requestURL)...)
	}
	if en.dcr != nil {
		eps = append(eps, en.dcr.Endpoints()...)
	}
	routes := make(map[string]endpoint, len(eps))
	for _, e := range eps {
		path := h.Prefix + e.Path
		if e.Absolute {
			path = e.Path
		}
		serve := e.Serve
		if owner := e.ServeOwner; owner != nil {
			serve = func(w http.ResponseWriter, r *http.Request) {
				if user, ok := h.resourceOwner(w, r, en); ok {
					owner(w, h.withAuthTime(r, en), user)
				}
			}
		}
		routes[path] = endpoint{allow: strings.Join(e.Methods, ", "), methods: e.Methods, serve: serve}
	}
	return routes
}

// ServeHTTP serves the OAuth endpoints and passes every other path on.
func (h *OAuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	rt := h.currentRoutes()
	if rt == nil {
		if !h.ownsPath(r.URL.Path) {
			return next.ServeHTTP(w, r)
		}
		writeUnavailable(w)
		return nil
	}
	e, ok := rt.paths[r.URL.Path]
	if !ok {
		return next.ServeHTTP(w, r)
	}
	if stripped := strippedPrefix(r); stripped != "" {
		h.refuseStripped(w, r, stripped)
		return nil
	}
	allowed := false
	for _, m := range e.methods {
		if r.Method == m {
			allowed = true
			break
		}
	}
	if !allowed {
		w.Header().Set("Allow", e.allow)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte("method not allowed\n"))
		return nil
	}
	e.serve(w, r)
	return nil
}

// ownsPath reports whether path is one this handler serves once the
// server is ready: the metadata documents (RFC 8414, OpenID discovery)
// and everything under
// <prefix>/oauth/, <prefix>/oauth1/ and <prefix>/oauth2/.
func (h *OAuthServer) ownsPath(path string) bool {
	if strings.HasPrefix(path, "/.well-known/oauth-authorization-server") || ownsOIDCPath(path) {
		return true
	}
	rest, ok := strings.CutPrefix(path, h.Prefix)
	return ok && (strings.HasPrefix(rest, "/oauth/") || strings.HasPrefix(rest, "/oauth1/") || strings.HasPrefix(rest, "/oauth2/"))
}

// writeUnavailable answers 503 temporarily_unavailable (RFC 6749 §5.2
// shape) with Retry-After: the server has not reached its storage.
func writeUnavailable(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Retry-After", provider.RetryAfter)
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"the authorization server cannot reach its storage; try again later"}` + "\n"))
}

// strippedPrefix is the part of the original request path a handle_path or
// uri strip_prefix removed before this handler ("" if none): the login
// redirects, form actions and metadata URLs are built from the configured
// prefix at provision time, so they would all lack it.
func strippedPrefix(r *http.Request) string {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok || orig.URL == nil {
		return ""
	}
	op, p := orig.URL.Path, r.URL.Path
	if len(op) <= len(p) || !strings.HasSuffix(op, p) {
		return ""
	}
	// Only slashes gone is a cleaned path, not a mount point.
	if s := op[:len(op)-len(p)]; strings.Trim(s, "/") != "" {
		return s
	}
	return ""
}

// refuseStripped answers a request to a server mounted under a stripped
// prefix with the fix, instead of redirecting to URLs that do not exist.
// It is a configuration error, so a 500, logged once.
func (h *OAuthServer) refuseStripped(w http.ResponseWriter, r *http.Request, stripped string) {
	msg := fmt.Sprintf("oauth_server is mounted under handle_path or uri strip_prefix (the path %s was stripped), "+
		"so the URLs it builds (login redirects, form actions, metadata) would lack it; "+
		"serve it with `oauth_server { prefix %s }` instead, outside handle_path", stripped, stripped+h.Prefix)
	if h.strippedLogged.CompareAndSwap(false, true) {
		h.logger.Error(msg, zap.String("host", r.Host), zap.String("path", r.URL.Path))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(msg + "\n"))
}

// user is the resource owner an earlier handler authenticated, from the
// user_from placeholder; empty when none did.
func (h *OAuthServer) user(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	return repl.ReplaceAll(h.UserFrom, "")
}

// requestURL is the request as the client saw it, for the OAuth 1 base
// string (RFC 5849 §3.4.1.2): Caddy's scheme and Host, or, only when the
// connection comes from one of the server's trusted_proxies, the
// X-Forwarded-Proto and X-Forwarded-Host it sent (as reverse_proxy does).
// The path is the one before any rewrite (handle_path, uri strip_prefix),
// since that is what the client signed.
func requestURL(r *http.Request) oauth1.RequestURL {
	u := oauth1.RequestURL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	ctx := r.Context()
	if trusted, _ := caddyhttp.GetVar(ctx, caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if v := lastHeader(r.Header, "X-Forwarded-Proto"); v == "http" || v == "https" {
			u.Scheme = v
		}
		if v := lastHeader(r.Header, "X-Forwarded-Host"); v != "" {
			u.Host = v
		}
	}
	u.Secure = u.Scheme == "https"
	// The client IP Caddy determined (the real client behind a trusted
	// proxy), so a proxy on the same machine does not make everyone local.
	if ip, ok := caddyhttp.GetVar(ctx, caddyhttp.ClientIPVarKey).(string); ok {
		if a, err := netip.ParseAddr(ip); err == nil {
			u.Loopback = a.IsLoopback()
		}
	}
	if orig, ok := ctx.Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		if p := orig.URL.EscapedPath(); p != r.URL.EscapedPath() {
			u.Path = p
		}
	}
	return u
}

// lastHeader is the last value of a header field, trimmed.
func lastHeader(h http.Header, name string) string {
	v := h.Values(name)
	if len(v) == 0 {
		return ""
	}
	return strings.TrimSpace(v[len(v)-1])
}

// checkPrefix: empty, or a path starting with / and not ending with one.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "?#{} ") {
		return errors.New("must start with / and not end with /, e.g. /auth")
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*OAuthServer)(nil)
	_ caddyhttp.MiddlewareHandler = (*OAuthServer)(nil)
)
