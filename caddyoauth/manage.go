package caddyoauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The management logic shared by the admin API (admin.go) and the offline
// CLI (command.go): registering clients and users in a server's storage,
// with the same validation and the same answers either way.

// defaultPasswordCost is the bcrypt cost of passwords set through the admin
// API or CLI: what `caddy hash-password` uses by default, and the cost of
// the dummy hash unknown users are compared against, so that a login
// attempt takes as long for a stored user as for an unknown one.
const defaultPasswordCost = 14

// passwordCost is the bcrypt cost new password hashes get. A variable only
// so that tests can make hashing fast.
var passwordCost = defaultPasswordCost

// Limits on what a management request may register.
const (
	maxClientIDLen  = 128
	maxNameLen      = 200
	maxUsernameLen  = 128
	maxURIs         = 32
	maxURILen       = 2048
	maxScopes       = 64
	minPasswordLen  = 8  // NIST SP 800-63B §5.1.1.2
	maxPasswordLen  = 72 // bcrypt uses (and Go's bcrypt accepts) at most 72 bytes
	maxScopeLen     = 128
	generatedIDSize = 26 // crypto/rand.Text: 128 bits in base32
)

// manageError is a refusal with the HTTP status the admin API answers; the
// CLI prints its message.
type manageError struct {
	status int
	msg    string
}

func (e *manageError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &manageError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &manageError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &manageError{http.StatusConflict, fmt.Sprintf(format, args...)}
}

func staticClientError(id string) error {
	return conflict("client %s is defined in the Caddyfile/config and cannot be changed through the API", id)
}

func staticUserError(name string) error {
	return conflict("user %s is defined in the Caddyfile/config and cannot be changed through the API", name)
}

// clientRequest registers a client (POST /oauth/<server>/clients).
type clientRequest struct {
	ClientID     string   `json:"client_id,omitempty"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	CallbackURIs []string `json:"callback_uris,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Grants       []string `json:"grants,omitempty"`
	Public       bool     `json:"public,omitempty"`
	Trusted      bool     `json:"trusted,omitempty"`
	Introspect   bool     `json:"introspect,omitempty"`
}

// clientPatch changes a stored client (PATCH /oauth/<server>/clients/<id>):
// a field present replaces the stored one, an absent (or null) one is kept.
// client_id and public may be sent only with their current values: a
// client changing from public to confidential would need a secret, so
// that is a new registration.
type clientPatch struct {
	ClientID     *string   `json:"client_id"`
	Name         *string   `json:"name"`
	RedirectURIs *[]string `json:"redirect_uris"`
	CallbackURIs *[]string `json:"callback_uris"`
	Scopes       *[]string `json:"scopes"`
	Grants       *[]string `json:"grants"`
	Public       *bool     `json:"public"`
	Trusted      *bool     `json:"trusted"`
	Introspect   *bool     `json:"introspect"`
}

// clientView is a client as the admin API shows it: never its secret's hash
// or sealed form; the secret itself only in the answer that created it.
type clientView struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	CallbackURIs []string `json:"callback_uris"`
	Scopes       []string `json:"scopes"`
	Grants       []string `json:"grants"`
	Public       bool     `json:"public"`
	Trusted      bool     `json:"trusted"`
	Introspect   bool     `json:"introspect"`
	// HasSecret: the client authenticates with a secret (OAuth 2) and
	// signs with it (OAuth 1 HMAC, PLAINTEXT).
	HasSecret bool `json:"has_secret"`
	// HasRSAPublicKey: the client signs OAuth 1 requests with RSA-SHA1.
	HasRSAPublicKey bool `json:"has_rsa_public_key,omitempty"`
	// Static clients come from the config and cannot be changed here.
	Static    bool       `json:"static"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	// ClientSecret is set only in the answer to the registration.
	ClientSecret string `json:"client_secret,omitempty"`
}

// userRequest adds a user (POST /oauth/<server>/users).
type userRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// passwordRequest sets a user's password (PUT .../users/<name>/password).
type passwordRequest struct {
	Password string `json:"password"`
}

// userView is a user as the admin API shows it, never with a hash.
type userView struct {
	Username  string     `json:"username"`
	Static    bool       `json:"static"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// revokeRequest names whose tokens to revoke (POST /oauth/<server>/revoke):
// exactly one of a user or a client.
type revokeRequest struct {
	User     string `json:"user,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// revokeResult says how many tokens a revocation or a removal revoked.
type revokeResult struct {
	User     string `json:"user,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Revoked  int    `json:"revoked"`
}

// ownerRevoker revokes every token of a user or client. Online it is the
// server's OAuth 2 engine, whose verification cache must forget the tokens
// (revoking on the store alone would leave them usable until the cache
// entry expires); offline, with no engine running, it is the store.
type ownerRevoker interface {
	RevokeUser(ctx context.Context, user string) (int, error)
	RevokeClient(ctx context.Context, clientID string) (int, error)
}

// manager carries out client and user management on one server's storage.
type manager struct {
	st      store.Store
	sealer  *provider.Sealer
	revoker ownerRevoker
	logger  *zap.Logger

	// staticClients and staticUsers come from the config: shown in lists,
	// never changed, and their names are not available for registration.
	staticClients map[string]clientView
	staticUsers   map[string]bool

	// scopes are the server's known scopes (empty: any); grants the
	// enabled OAuth 2 grant types.
	scopes []string
	grants []string

	now func() time.Time
}

// managerFor returns the manager of a provisioned server. Revocations go
// through its OAuth 2 engine, so require_oauth refuses the tokens at once.
func managerFor(s *Server) *manager {
	return newManager(s.store, s.sealer, s.OAuth2(), s.logger, s.cfg, s.clients.Static())
}

// newManager builds a manager over st for the server configured by cfg,
// whose static clients (already resolved, or nil to derive them from cfg
// without reading their secrets) are static.
func newManager(st store.Store, sealer *provider.Sealer, rev ownerRevoker, logger *zap.Logger, cfg *ServerConfig, static []*store.Client) *manager {
	if logger == nil {
		logger = zap.NewNop()
	}
	m := &manager{
		st: st, sealer: sealer, revoker: rev, logger: logger,
		staticClients: make(map[string]clientView),
		staticUsers:   make(map[string]bool),
		scopes:        cfg.Scopes,
		grants:        cfg.Grants,
		now:           time.Now,
	}
	if len(m.grants) == 0 {
		m.grants = oauth2.DefaultGrants
	}
	if static != nil {
		for _, c := range static {
			v := viewOf(c)
			v.Static = true
			v.CreatedAt = nil
			m.staticClients[c.ID] = v
		}
	} else {
		for _, cc := range cfg.Clients {
			m.staticClients[cc.ClientID] = clientView{
				ClientID: cc.ClientID, Name: cc.Name,
				RedirectURIs: nonNil(cc.RedirectURIs), CallbackURIs: nonNil(cc.CallbackURIs),
				Scopes: nonNil(cc.Scopes), Grants: nonNil(cc.Grants),
				Public: cc.Public, Trusted: cc.Trusted, Introspect: cc.Introspect,
				HasSecret: cc.Secret != "", HasRSAPublicKey: cc.RSAPublicKey != "",
				Static: true,
			}
		}
	}
	for _, u := range cfg.Users {
		m.staticUsers[u.Username] = true
	}
	return m
}

// viewOf shows a stored client.
func viewOf(c *store.Client) clientView {
	v := clientView{
		ClientID: c.ID, Name: c.Name,
		RedirectURIs: nonNil(c.RedirectURIs), CallbackURIs: nonNil(c.CallbackURIs),
		Scopes: nonNil(c.Scopes), Grants: nonNil(c.Grants),
		Public: c.Public, Trusted: c.Trusted, Introspect: c.Introspect,
		HasSecret:       len(c.SecretHash) > 0 || len(c.SealedSecret) > 0,
		HasRSAPublicKey: c.RSAPublicKeyPEM != "",
	}
	if !c.CreatedAt.IsZero() {
		t := c.CreatedAt
		v.CreatedAt = &t
	}
	return v
}

// nonNil makes lists show as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// createClient registers a client. A confidential client gets a fresh
// 256-bit secret, kept only as its SHA-256 (OAuth 2 authentication) and
// sealed (the OAuth 1 HMAC key); the answer carries it this once.
func (m *manager) createClient(ctx context.Context, req clientRequest) (*clientView, error) {
	id := req.ClientID
	if id == "" {
		id = rand.Text()
	} else if err := checkClientID(id); err != nil {
		return nil, err
	}
	if _, ok := m.staticClients[id]; ok {
		return nil, conflict("client %s is defined in the Caddyfile/config; choose another client_id", id)
	}
	c := &store.Client{
		ID:           id,
		Name:         req.Name,
		RedirectURIs: req.RedirectURIs,
		CallbackURIs: req.CallbackURIs,
		Scopes:       req.Scopes,
		Grants:       req.Grants,
		Public:       req.Public,
		Trusted:      req.Trusted,
		Introspect:   req.Introspect,
		CreatedAt:    m.now().UTC().Truncate(time.Second),
	}
	if err := m.checkClient(c); err != nil {
		return nil, err
	}
	var secret string
	if !c.Public {
		var err error
		if secret, err = m.newSecret(c); err != nil {
			return nil, err
		}
	}
	if err := m.st.CreateClient(ctx, c); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, conflict("client %s already exists", id)
		}
		return nil, err
	}
	m.logger.Info("client registered", zap.String("client_id", id), zap.Bool("public", c.Public))
	v := viewOf(c)
	v.ClientSecret = secret
	return &v, nil
}

// newSecret gives c a fresh 256-bit secret, kept only as its SHA-256
// (OAuth 2 authentication) and sealed (the OAuth 1 HMAC key), and returns
// it for the one answer that shows it.
func (m *manager) newSecret(c *store.Client) (string, error) {
	secret, err := provider.NewToken(nil)
	if err != nil {
		return "", err
	}
	sealed, err := m.sealer.Seal(oauth1.PurposeClientSecret, []byte(secret))
	if err != nil {
		return "", fmt.Errorf("sealing the client secret: %v", err)
	}
	c.SecretHash, c.SealedSecret = provider.HashToken(secret), sealed
	return secret, nil
}

// storedClient returns the stored client id for a change: a static one is
// refused (409), a missing one is 404.
func (m *manager) storedClient(ctx context.Context, id string) (*store.Client, error) {
	if _, ok := m.staticClients[id]; ok {
		return nil, staticClientError(id)
	}
	c, err := m.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %s", id)
	}
	return c, err
}

// saveClient writes back a changed stored client (404 if it was deleted
// meanwhile).
func (m *manager) saveClient(ctx context.Context, c *store.Client) error {
	err := m.st.UpdateClient(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no client %s", c.ID)
	}
	return err
}

// rotateSecret replaces a stored confidential client's secret with a new
// one, shown in this answer only. The old secret stops working at once,
// for OAuth 2 client authentication and for OAuth 1 signatures alike;
// tokens already issued stay valid (revoke them too when the old secret
// leaked: POST /revoke {"client_id": ...}, or the CLI's --revoke).
func (m *manager) rotateSecret(ctx context.Context, id string) (*clientView, error) {
	c, err := m.storedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Public {
		return nil, badRequest("client %s is public and has no secret", id)
	}
	secret, err := m.newSecret(c)
	if err != nil {
		return nil, err
	}
	if err := m.saveClient(ctx, c); err != nil {
		return nil, err
	}
	m.logger.Info("client secret rotated", zap.String("client_id", id))
	v := viewOf(c)
	v.ClientSecret = secret
	return &v, nil
}

// checkClient validates a client's metadata as registration would (and as
// staticClient does for the config), normalizing its lists.
func (m *manager) checkClient(c *store.Client) error {
	if c.Name == "" {
		return badRequest("name is required: it is shown to users on the consent page")
	}
	if len(c.Name) > maxNameLen || !utf8.ValidString(c.Name) || strings.IndexFunc(c.Name, unicode.IsControl) >= 0 {
		return badRequest("name must be at most %d bytes of text without control characters", maxNameLen)
	}
	var err error
	if c.RedirectURIs, err = checkURIs("redirect_uris", c.RedirectURIs, oauth2.ValidateRedirectURI); err != nil {
		return err
	}
	if c.CallbackURIs, err = checkURIs("callback_uris", c.CallbackURIs, checkCallbackURI); err != nil {
		return err
	}
	c.Scopes = dedupe(c.Scopes)
	if len(c.Scopes) > maxScopes {
		return badRequest("scopes: at most %d", maxScopes)
	}
	for _, s := range c.Scopes {
		if len(s) > maxScopeLen || !provider.ValidScopeToken(s) {
			return badRequest("scopes: %q is not a valid scope (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)", s)
		}
	}
	if err := checkScopesKnown(m.scopes, c.Scopes, "scopes"); err != nil {
		return badRequest("%v (known: %s)", err, strings.Join(m.scopes, " "))
	}
	c.Grants = dedupe(c.Grants)
	for _, g := range c.Grants {
		if !slices.Contains(knownGrants, g) {
			return badRequest("grants: unknown grant type %q (known: %s)", g, strings.Join(knownGrants, ", "))
		}
		if !slices.Contains(m.grants, g) {
			return badRequest("grants: %s is not enabled on this server (enabled: %s)", g, strings.Join(m.grants, ", "))
		}
	}
	if c.Public && slices.Contains(c.Grants, oauth2.GrantClientCredentials) {
		return badRequest("a public client cannot use client_credentials (it has no secret to authenticate with)")
	}
	return nil
}

// checkClientID accepts URL-safe identifiers (RFC 3986 unreserved
// characters), so an ID works unescaped in admin URLs, forms and headers.
func checkClientID(id string) error {
	if len(id) > maxClientIDLen {
		return badRequest("client_id must be at most %d characters", maxClientIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return badRequest("client_id %q: only letters, digits and - . _ ~ are allowed", id)
		}
	}
	return nil
}

// checkCallbackURI: OAuth 1 callbacks are absolute http(s) URIs without a
// fragment (RFC 5849 §2.1), as in the config.
func checkCallbackURI(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" || strings.Contains(u, "#") {
		return errors.New("must be an absolute http(s) URI without fragment")
	}
	return nil
}

// checkURIs validates and deduplicates a list of URIs.
func checkURIs(field string, uris []string, check func(string) error) ([]string, error) {
	uris = dedupe(uris)
	if len(uris) > maxURIs {
		return nil, badRequest("%s: at most %d URIs", field, maxURIs)
	}
	for _, u := range uris {
		if len(u) > maxURILen {
			return nil, badRequest("%s: URI longer than %d bytes", field, maxURILen)
		}
		if err := check(u); err != nil {
			return nil, badRequest("%s: %q: %v", field, u, err)
		}
	}
	return uris, nil
}

// dedupe drops repeated items, keeping order; nil stays nil.
func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// listClients returns the static and the stored clients, by ID. A stored
// client shadowed by a static one of the same ID is not shown: requests
// resolve to the static one.
func (m *manager) listClients(ctx context.Context) ([]clientView, error) {
	stored, err := m.st.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]clientView, 0, len(m.staticClients)+len(stored))
	for _, v := range m.staticClients {
		out = append(out, v)
	}
	for _, c := range stored {
		if _, ok := m.staticClients[c.ID]; !ok {
			out = append(out, viewOf(c))
		}
	}
	slices.SortFunc(out, func(a, b clientView) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// getClient returns one client, static or stored.
func (m *manager) getClient(ctx context.Context, id string) (*clientView, error) {
	if v, ok := m.staticClients[id]; ok {
		return &v, nil
	}
	c, err := m.st.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %s", id)
	}
	if err != nil {
		return nil, err
	}
	v := viewOf(c)
	return &v, nil
}

// updateClient applies a partial update to a stored client.
func (m *manager) updateClient(ctx context.Context, id string, p clientPatch) (*clientView, error) {
	c, err := m.storedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.ClientID != nil && *p.ClientID != id {
		return nil, badRequest("client_id cannot be changed; register a new client instead")
	}
	if p.Public != nil && *p.Public != c.Public {
		return nil, badRequest("public cannot be changed (a public client has no secret); register a new client instead")
	}
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.RedirectURIs != nil {
		c.RedirectURIs = *p.RedirectURIs
	}
	if p.CallbackURIs != nil {
		c.CallbackURIs = *p.CallbackURIs
	}
	if p.Scopes != nil {
		c.Scopes = *p.Scopes
	}
	if p.Grants != nil {
		c.Grants = *p.Grants
	}
	if p.Trusted != nil {
		c.Trusted = *p.Trusted
	}
	if p.Introspect != nil {
		c.Introspect = *p.Introspect
	}
	if err := m.checkClient(c); err != nil {
		return nil, err
	}
	if err := m.saveClient(ctx, c); err != nil {
		return nil, err
	}
	m.logger.Info("client updated", zap.String("client_id", id))
	v := viewOf(c)
	return &v, nil
}

// deleteClient revokes a stored client's tokens, deletes it and forgets the
// consents users gave it (so a later client registered under the same ID
// does not inherit them).
func (m *manager) deleteClient(ctx context.Context, id string) (*revokeResult, error) {
	if _, ok := m.staticClients[id]; ok {
		return nil, staticClientError(id)
	}
	if _, err := m.st.GetClient(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %s", id)
	} else if err != nil {
		return nil, err
	}
	n, err := m.revoker.RevokeClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("revoking the tokens of client %s: %v", id, err)
	}
	if err := m.st.DeleteClient(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no client %s", id)
		}
		return nil, err
	}
	// A token request that authenticated the client before it was deleted
	// may have stored a token since the first revocation.
	late, err := m.revoker.RevokeClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("revoking the tokens of client %s: %v", id, err)
	}
	if err := m.forgetConsents(ctx, "", id); err != nil {
		return nil, err
	}
	m.logger.Info("client deleted", zap.String("client_id", id), zap.Int("revoked", n+late))
	return &revokeResult{ClientID: id, Revoked: n + late}, nil
}

// forgetConsents deletes the remembered consents of user (for every
// client) or of clientID (for every user).
func (m *manager) forgetConsents(ctx context.Context, user, clientID string) error {
	var pairs [][2]string
	if user != "" {
		clients, err := m.listClients(ctx)
		if err != nil {
			return err
		}
		for _, c := range clients {
			pairs = append(pairs, [2]string{user, c.ClientID})
		}
	} else {
		users, err := m.listUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			pairs = append(pairs, [2]string{u.Username, clientID})
		}
	}
	for _, p := range pairs {
		if err := m.st.DeleteConsent(ctx, p[0], p[1]); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("forgetting consents: %v", err)
		}
	}
	return nil
}

// checkUsername accepts letters, digits and . _ - @ + : names that are
// safe in X-OAuth-User headers, logs and HTTP Basic credentials (no ':').
func checkUsername(name string) error {
	if name == "" {
		return badRequest("username is required")
	}
	if len(name) > maxUsernameLen || !utf8.ValidString(name) {
		return badRequest("username must be at most %d bytes of UTF-8", maxUsernameLen)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@+", r) {
			return badRequest("username %q: only letters, digits and . _ - @ + are allowed", name)
		}
	}
	return nil
}

// hashPassword checks a new password and hashes it with bcrypt.
func hashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < minPasswordLen {
		return "", badRequest("password must be at least %d characters", minPasswordLen)
	}
	if len(password) > maxPasswordLen {
		return "", badRequest("password must be at most %d bytes (bcrypt ignores the rest)", maxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %v", err)
	}
	return string(h), nil
}

// createUser adds a user to the storage.
func (m *manager) createUser(ctx context.Context, req userRequest) (*userView, error) {
	if err := checkUsername(req.Username); err != nil {
		return nil, err
	}
	if m.staticUsers[req.Username] {
		return nil, conflict("user %s is defined in the Caddyfile/config", req.Username)
	}
	h, err := hashPassword(req.Password)
	if err != nil {
		return nil, err
	}
	u := &store.User{Username: req.Username, PasswordHash: h, CreatedAt: m.now().UTC().Truncate(time.Second)}
	if err := m.st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, conflict("user %s already exists", req.Username)
		}
		return nil, err
	}
	m.logger.Info("user added", zap.String("user", u.Username))
	return userViewOf(u), nil
}

func userViewOf(u *store.User) *userView {
	v := &userView{Username: u.Username}
	if !u.CreatedAt.IsZero() {
		t := u.CreatedAt
		v.CreatedAt = &t
	}
	return v
}

// listUsers returns the static and the stored users, by name.
func (m *manager) listUsers(ctx context.Context) ([]userView, error) {
	stored, err := m.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]userView, 0, len(m.staticUsers)+len(stored))
	for name := range m.staticUsers {
		out = append(out, userView{Username: name, Static: true})
	}
	for _, u := range stored {
		if !m.staticUsers[u.Username] {
			out = append(out, *userViewOf(u))
		}
	}
	slices.SortFunc(out, func(a, b userView) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// getUser returns one user, static or stored.
func (m *manager) getUser(ctx context.Context, name string) (*userView, error) {
	if m.staticUsers[name] {
		return &userView{Username: name, Static: true}, nil
	}
	u, err := m.st.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %s", name)
	}
	if err != nil {
		return nil, err
	}
	return userViewOf(u), nil
}

// setPassword replaces a stored user's password. Tokens already issued stay
// valid; revoke them as well if the old password leaked.
func (m *manager) setPassword(ctx context.Context, name, password string) error {
	if m.staticUsers[name] {
		return staticUserError(name)
	}
	u, err := m.st.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no user %s", name)
	}
	if err != nil {
		return err
	}
	if u.PasswordHash, err = hashPassword(password); err != nil {
		return err
	}
	if err := m.st.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no user %s", name)
		}
		return err
	}
	m.logger.Info("user password changed", zap.String("user", name))
	return nil
}

// deleteUser revokes a stored user's tokens, deletes the user and forgets
// their consents.
func (m *manager) deleteUser(ctx context.Context, name string) (*revokeResult, error) {
	if m.staticUsers[name] {
		return nil, staticUserError(name)
	}
	if _, err := m.st.GetUser(ctx, name); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %s", name)
	} else if err != nil {
		return nil, err
	}
	n, err := m.revoker.RevokeUser(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("revoking the tokens of user %s: %v", name, err)
	}
	if err := m.st.DeleteUser(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no user %s", name)
		}
		return nil, err
	}
	// A grant that checked the password just before the deletion may have
	// stored tokens since the first revocation.
	late, err := m.revoker.RevokeUser(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("revoking the tokens of user %s: %v", name, err)
	}
	if err := m.forgetConsents(ctx, name, ""); err != nil {
		return nil, err
	}
	m.logger.Info("user deleted", zap.String("user", name), zap.Int("revoked", n+late))
	return &revokeResult{User: name, Revoked: n + late}, nil
}

// revoke revokes every token of a user or of a client, static or not.
func (m *manager) revoke(ctx context.Context, req revokeRequest) (*revokeResult, error) {
	var (
		n   int
		err error
	)
	switch {
	case (req.User == "") == (req.ClientID == ""):
		return nil, badRequest(`name exactly one of "user" or "client_id"`)
	case req.User != "":
		n, err = m.revoker.RevokeUser(ctx, req.User)
	default:
		n, err = m.revoker.RevokeClient(ctx, req.ClientID)
	}
	if err != nil {
		return nil, fmt.Errorf("revoking tokens: %v", err)
	}
	return &revokeResult{User: req.User, ClientID: req.ClientID, Revoked: n}, nil
}
