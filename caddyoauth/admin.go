package caddyoauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminBase is the admin endpoint path under which the routes live.
const adminBase = "/oauth/"

// maxAdminBody bounds a management request body; the largest (a client
// with its URI lists) is a few kilobytes.
const maxAdminBody = 64 << 10

// adminAPI is the `admin.api.oauth` module: routes on Caddy's admin
// endpoint that register clients and users of the oauth app's servers and
// revoke tokens, for operators and for `caddy oauth ...`:
//
//	POST   /oauth/<server>/clients                 register a client (201; its secret, this once)
//	GET    /oauth/<server>/clients                 list clients, static and stored
//	GET    /oauth/<server>/clients/<id>            show a client
//	PATCH  /oauth/<server>/clients/<id>            change a stored client
//	DELETE /oauth/<server>/clients/<id>            revoke its tokens and delete it
//	POST   /oauth/<server>/clients/<id>/secret     replace a stored client's secret (the new one, this once)
//	POST   /oauth/<server>/users                   add a user (201), with its "claims"
//	GET    /oauth/<server>/users                   list users, static and stored
//	GET    /oauth/<server>/users/<name>            show a user
//	PATCH  /oauth/<server>/users/<name>            {"claims": merge patch}: change a stored user's claims
//	PUT    /oauth/<server>/users/<name>/password   set a stored user's password (204)
//	DELETE /oauth/<server>/users/<name>            revoke their tokens and delete them
//	POST   /oauth/<server>/revoke                  {"user"} or {"client_id"}: revoke all their tokens
//	GET    /oauth/<server>/export                  a dump of the storage (admin_dump.go)
//	POST   /oauth/<server>/import                  restore a dump (admin_dump.go)
//
// Bodies are JSON; errors are {"error": "..."} with a 4xx status for bad
// input. Secrets and password hashes are never shown, except by export:
// a backup of the storage holds them as stored.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.oauth",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes of the oauth app.
func (a *adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: adminBase, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// serve routes a request under /oauth/. The oauth app is looked up in the
// running config at each request: the admin endpoint is set up before the
// config's apps are provisioned, and a reload replaces the app.
func (a *adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	parts, err := pathSegments(r)
	if err != nil || len(parts) < 2 {
		return apiError(http.StatusNotFound, fmt.Errorf("resource not found: %s", r.URL.Path))
	}
	srv, err := runningServer(parts[0])
	if err != nil {
		return err
	}
	if !srv.Ready() {
		w.Header().Set("Retry-After", provider.RetryAfter)
		return apiError(http.StatusServiceUnavailable, fmt.Errorf("oauth server %q has not reached its storage yet", srv.Name()))
	}
	m := managerFor(srv)
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")

	switch rest := parts[1:]; {
	case len(rest) == 1 && rest[0] == "clients":
		switch r.Method {
		case http.MethodGet:
			list, err := m.ListClients(ctx)
			return reply(w, http.StatusOK, list, err)
		case http.MethodPost:
			var md registry.ClientMetadata
			if err := decodeBody(w, r, &md); err != nil {
				return err
			}
			c, err := m.CreateClient(ctx, md)
			return reply(w, http.StatusCreated, c, err)
		}
		return methodNotAllowed(w, r, http.MethodGet, http.MethodPost)

	case len(rest) == 2 && rest[0] == "clients":
		id := rest[1]
		switch r.Method {
		case http.MethodGet:
			c, err := m.GetClient(ctx, id)
			return reply(w, http.StatusOK, c, err)
		case http.MethodPatch:
			var patch map[string]json.RawMessage
			if err := decodeBody(w, r, &patch); err != nil {
				return err
			}
			c, err := m.UpdateClient(ctx, id, func(md *registry.ClientMetadata) error { return mergePatch(md, patch) })
			return reply(w, http.StatusOK, c, err)
		case http.MethodDelete:
			res, err := m.DeleteClient(ctx, id)
			return reply(w, http.StatusOK, res, err)
		}
		return methodNotAllowed(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)

	case len(rest) == 3 && rest[0] == "clients" && rest[2] == "secret":
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, r, http.MethodPost)
		}
		c, err := m.RotateSecret(ctx, rest[1])
		return reply(w, http.StatusOK, c, err)

	case len(rest) == 1 && rest[0] == "users":
		switch r.Method {
		case http.MethodGet:
			list, err := m.ListUsers(ctx)
			return reply(w, http.StatusOK, list, err)
		case http.MethodPost:
			var req userRequest
			if err := decodeBody(w, r, &req); err != nil {
				return err
			}
			u, err := m.CreateUser(ctx, req.Username, req.Password, req.Claims)
			return reply(w, http.StatusCreated, u, err)
		}
		return methodNotAllowed(w, r, http.MethodGet, http.MethodPost)

	case len(rest) == 2 && rest[0] == "users":
		name := rest[1]
		switch r.Method {
		case http.MethodGet:
			u, err := m.GetUser(ctx, name)
			return reply(w, http.StatusOK, u, err)
		case http.MethodPatch:
			var req claimsPatch
			if err := decodeBody(w, r, &req); err != nil {
				return err
			}
			if req.Claims == nil {
				return apiError(http.StatusBadRequest, errors.New(`a PATCH of a user changes its "claims" (the password has its own route)`))
			}
			u, err := m.PatchClaims(ctx, name, req.Claims)
			return reply(w, http.StatusOK, u, err)
		case http.MethodDelete:
			res, err := m.DeleteUser(ctx, name)
			return reply(w, http.StatusOK, res, err)
		}
		return methodNotAllowed(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)

	case len(rest) == 3 && rest[0] == "users" && rest[2] == "password":
		if r.Method != http.MethodPut {
			return methodNotAllowed(w, r, http.MethodPut)
		}
		var req passwordRequest
		if err := decodeBody(w, r, &req); err != nil {
			return err
		}
		if err := m.SetPassword(ctx, rest[1], req.Password); err != nil {
			return toAPIError(w, err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil

	case len(rest) == 1 && rest[0] == "export":
		return serveExport(w, r, srv)

	case len(rest) == 1 && rest[0] == "import":
		return serveImport(w, r, srv)

	case len(rest) == 1 && rest[0] == "revoke":
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, r, http.MethodPost)
		}
		var req revokeRequest
		if err := decodeBody(w, r, &req); err != nil {
			return err
		}
		res, err := m.Revoke(ctx, req.User, req.ClientID)
		return reply(w, http.StatusOK, res, err)
	}
	return apiError(http.StatusNotFound, fmt.Errorf("resource not found: %s", r.URL.Path))
}

// pathSegments splits the path after /oauth/ into its unescaped segments,
// so that an ID may hold any character, escaped. A trailing slash is
// ignored; an empty segment is not found.
func pathSegments(r *http.Request) ([]string, error) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), adminBase)
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil, errors.New("empty path")
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, errors.New("bad path segment")
		}
		parts[i] = u
	}
	return parts, nil
}

// runningServer returns the named server of the running config's oauth
// app, or a 404.
func runningServer(name string) (*Server, error) {
	appVal, err := caddy.ActiveContext().AppIfConfigured("oauth")
	if err != nil {
		if errors.Is(err, caddy.ErrNotConfigured) {
			return nil, apiError(http.StatusNotFound, fmt.Errorf("oauth server %q is not configured: the running config has no oauth app", name))
		}
		return nil, apiError(http.StatusInternalServerError, err)
	}
	app, ok := appVal.(*App)
	if !ok {
		return nil, apiError(http.StatusInternalServerError, errors.New("the oauth app has an unexpected type"))
	}
	srv, err := app.Server(name)
	if err != nil {
		return nil, apiError(http.StatusNotFound, err)
	}
	return srv, nil
}

// decodeBody reads one JSON object into v: size-limited, unknown fields
// and trailing data refused.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxAdminBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return apiError(http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", maxAdminBody))
		case errors.Is(err, io.EOF):
			return apiError(http.StatusBadRequest, errors.New("request body is empty: send a JSON object"))
		}
		return apiError(http.StatusBadRequest, fmt.Errorf("invalid request body: %v", err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiError(http.StatusBadRequest, errors.New("invalid request body: unexpected data after the JSON object"))
	}
	return nil
}

// reply writes v as JSON with status, or turns err into an API error.
func reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return toAPIError(w, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// toAPIError maps a registry refusal onto its status; a storage that could
// not be reached is 503 with Retry-After, anything else an internal error.
// Caddy's admin endpoint renders an APIError as {"error": "<message>"}.
func toAPIError(w http.ResponseWriter, err error) error {
	var re *registry.Error
	var ae caddy.APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case provider.Unavailable(err):
		w.Header().Set("Retry-After", provider.RetryAfter)
		return apiError(http.StatusServiceUnavailable, err)
	case !errors.As(err, &re):
		return apiError(http.StatusInternalServerError, err)
	case re.Kind == registry.NotFound:
		return apiError(http.StatusNotFound, re)
	case re.Kind == registry.Conflict:
		return apiError(http.StatusConflict, re)
	}
	return apiError(http.StatusBadRequest, re)
}

// mergePatch applies a PATCH body to a client's metadata: a field present
// replaces the stored one, an absent or null one is kept (RFC 7396 for
// flat objects); unknown fields are refused.
func mergePatch(md *registry.ClientMetadata, patch map[string]json.RawMessage) error {
	for k, v := range patch {
		if string(v) == "null" {
			delete(patch, k)
		}
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return apiError(http.StatusBadRequest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(md); err != nil {
		return apiError(http.StatusBadRequest, fmt.Errorf("invalid request body: %v", err))
	}
	return nil
}

// Request bodies of the admin routes other than client metadata.
type (
	// userRequest adds a user (POST /oauth/<server>/users).
	userRequest struct {
		Username string       `json:"username"`
		Password string       `json:"password"`
		Claims   store.Claims `json:"claims,omitzero"`
	}
	// claimsPatch changes a user's claims (PATCH .../users/<name>): a
	// JSON merge patch (RFC 7396) of the claims object.
	claimsPatch struct {
		Claims json.RawMessage `json:"claims"`
	}
	// passwordRequest sets a user's password (PUT .../users/<name>/password).
	passwordRequest struct {
		Password string `json:"password"`
	}
	// revokeRequest names whose tokens to revoke (POST /oauth/<server>/revoke):
	// exactly one of a user or a client.
	revokeRequest struct {
		User     string `json:"user,omitempty"`
		ClientID string `json:"client_id,omitempty"`
	}
)

func apiError(status int, err error) error {
	return caddy.APIError{HTTPStatus: status, Err: err}
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) error {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return apiError(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed here (allowed: %s)", r.Method, strings.Join(allowed, ", ")))
}

// Interface guards
var _ caddy.AdminRouter = (*adminAPI)(nil)
