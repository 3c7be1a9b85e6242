package caddyoauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// ServerConfig configures one OAuth authorization server of the `oauth` app:
// its issuer, storage, token lifetimes, scopes, grants, and the users and
// clients declared statically (more can be added at run time through the
// admin API and CLI; those live in the storage).
type ServerConfig struct {
	// The issuer identifier: an absolute https URL (http is accepted for
	// local development and logged as a warning unless the host is a
	// loopback address). It appears in the authorization server metadata
	// and as the `iss` parameter of authorization responses (RFC 9207).
	// Required.
	Issuer string `json:"issuer,omitempty"`

	// Where the server keeps its state: a module of the oauth.storage
	// namespace, "badger" (the default: an embedded database in
	// `<Caddy data directory>/oauth/<server name>`) or "redis" (shared by
	// several Caddy nodes).
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=oauth.storage inline_key=module"`

	// Deprecated: older spellings of the badger storage module's dir,
	// memory and nonce_durability, still read when storage is not set.
	StorageDir             string `json:"storage_dir,omitempty"`
	StorageMemory          int64  `json:"storage_memory,omitempty"`
	StorageNonceDurability string `json:"storage_nonce_durability,omitempty"`

	// How many verified OAuth 2 access tokens (opaque and JWT) require_oauth
	// keeps in memory, so that a repeated bearer token costs no storage
	// read (about 290 bytes each; revocations still take effect at once).
	// -1 disables the cache: every request reads the storage. A cache
	// smaller than the set of tokens in active use makes every miss a
	// storage read. Default: 25000 (about 7 MiB when full).
	VerifyCacheSize int `json:"verify_cache_size,omitempty"`

	// How many verified OAuth 1 token credentials require_oauth keeps in
	// memory, as verify_cache_size does for OAuth 2 (signatures and nonces
	// are checked on every request either way). -1 disables the cache.
	// Default: 25000.
	OAuth1CacheSize int `json:"oauth1_cache_size,omitempty"`

	// How long an access token is valid. Default: 1h. OAuth 1 token
	// credentials get the same lifetime.
	AccessTokenTTL caddy.Duration `json:"access_token_ttl,omitempty"`

	// How long a refresh token may stay unused before it expires (each
	// rotation starts it anew). Default: 720h. 0 disables refresh tokens.
	RefreshTokenTTL *caddy.Duration `json:"refresh_token_ttl,omitempty"`

	// How long an authorization code may wait to be redeemed. Default: 60s.
	CodeTTL caddy.Duration `json:"code_ttl,omitempty"`

	// How long a device code and its user code of the device
	// authorization grant (RFC 8628) may wait for the user's approval
	// (expires_in), whole seconds. Default: 10m.
	DeviceCodeTTL caddy.Duration `json:"device_code_ttl,omitempty"`

	// The least time between two polls of a device at the token endpoint
	// (RFC 8628 interval), whole seconds; polling faster is answered
	// slow_down and lengthens it by 5s for that device. Default: 5s.
	DeviceInterval caddy.Duration `json:"device_interval,omitempty"`

	// How long a resource owner stays signed in after using the built-in
	// login page (<prefix>/oauth/login of oauth_server). Sessions are kept
	// in the storage, so they survive reloads and restarts. Default: 12h.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`

	// The access token format: "opaque" (random values looked up in the
	// storage) or "jwt" (RFC 9068 JSON Web Tokens, signed with keys kept
	// in the storage and published at <prefix>/oauth2/jwks, the metadata's
	// jwks_uri). Other gateways and resource servers can verify JWTs with
	// that key set alone, without asking this server; they do not see
	// revocations, so to them a revoked token stays valid until it expires
	// (at most access_token_ttl). This server records JWTs in the storage
	// like opaque tokens, so its own require_oauth, revocation and
	// introspection refuse a revoked JWT at once. Refresh tokens are
	// opaque either way, and tokens issued before a change of format stay
	// valid. Default: opaque.
	TokenFormat string `json:"token_format,omitempty"`

	// The algorithm JWT access tokens are signed with: EdDSA (Ed25519),
	// ES256 (ECDSA P-256) or RS256 (RSA 2048). Changing it makes the JWTs
	// already issued invalid. Only with token_format jwt. Default: EdDSA.
	JWTAlgorithm string `json:"jwt_algorithm,omitempty"`

	// How long one JWT signing key signs before the next takes over; the
	// previous key still verifies, and the next is published one period
	// ahead. At least 1m and at least access_token_ttl. Changing it makes
	// the JWTs already issued invalid. Only with token_format jwt.
	// Default: 720h (30 days).
	JWTKeyRotation caddy.Duration `json:"jwt_key_rotation,omitempty"`

	// The audience (aud) of JWT access tokens (RFC 9068 §3): identifiers of
	// the resource servers they are meant for, which those check. Only
	// with token_format jwt. Default: the issuer.
	Audience []string `json:"audience,omitempty"`

	// The scopes this server knows; requests for any other scope are
	// refused with invalid_scope. Empty means any scope is accepted.
	Scopes []string `json:"scopes,omitempty"`

	// The scopes granted when a client asks for none (limited to what the
	// client may have).
	DefaultScopes []string `json:"default_scopes,omitempty"`

	// The OAuth 2 grant types this server enables: authorization_code,
	// refresh_token, client_credentials, and, off unless listed, password
	// and urn:ietf:params:oauth:grant-type:device_code (RFC 8628; the
	// Caddyfile accepts device_code for it), which also serves
	// <prefix>/oauth2/device_authorization and the user-code page
	// <prefix>/oauth2/device.
	// Default: authorization_code refresh_token client_credentials.
	Grants []string `json:"grants,omitempty"`

	// Whether the OAuth 1.0a endpoints (RFC 5849) are served and OAuth 1
	// signed requests accepted. Default: true.
	OAuth1 *bool `json:"oauth1,omitempty"`

	// Static resource owners. Their passwords are bcrypt or argon2id hashes
	// as `caddy hash-password` prints them. Users in the storage are
	// consulted after these.
	Users []UserConfig `json:"users,omitempty"`

	// Static clients. They cannot be changed through the admin API.
	Clients []ClientConfig `json:"clients,omitempty"`

	// The server key (at least 32 bytes; placeholders such as {env.X} and
	// {file./path} are resolved) from which the key sealing OAuth 1
	// secrets at rest and the key binding the consent forms' CSRF tokens
	// are derived. Default: 32 random bytes generated once and kept in the
	// storage. Changing it makes the stored OAuth 1 secrets unreadable.
	ServerKey string `json:"server_key,omitempty"`

	// How far an OAuth 1 oauth_timestamp may be from the server's clock
	// (RFC 5849 §3.3). Default: 300s.
	TimestampWindow caddy.Duration `json:"timestamp_window,omitempty"`

	// Accept the OAuth 1 PLAINTEXT signature method on plain HTTP from
	// loopback clients (local development only). PLAINTEXT sends the
	// secrets themselves, so it is otherwise refused without TLS.
	AllowInsecurePlaintext bool `json:"allow_insecure_plaintext,omitempty"`

	// Dynamic client registration (RFC 7591/7592); off unless set.
	Registration *RegistrationConfig `json:"registration,omitempty"`

	storage Storage // the provisioned StorageRaw (or Badger)
}

// UserConfig is a statically configured resource owner.
type UserConfig struct {
	// The username, as {http.auth.user.id} and X-OAuth-User show it.
	Username string `json:"username"`

	// The password hash: bcrypt or argon2id, as `caddy hash-password`
	// prints it.
	PasswordHash string `json:"password_hash"`

	// The user's OpenID Connect standard claims (Core §5.1), served by
	// UserInfo by scope: name, given_name, family_name, middle_name,
	// nickname, profile, picture, website, gender, birthdate, zoneinfo,
	// locale (scope profile); email, email_verified (email); address
	// (address); phone_number, phone_number_verified (phone). Checked as
	// the admin API checks them. The user's sub is random, made the first
	// time the server runs with OpenID Connect and kept in its storage
	// under the username.
	store.Claims
}

// ClientConfig is a statically configured OAuth client (an OAuth 1
// "consumer"): its registration metadata, checked by the same rules as a
// registration through the admin API, and its credentials.
type ClientConfig struct {
	registry.ClientMetadata

	// The client secret (OAuth 1: the consumer secret). Placeholders such
	// as {env.CLIENT_SECRET} or {file./run/secrets/client} are resolved
	// when the config loads. Required unless the client is public or only
	// signs OAuth 1 requests with RSA-SHA1.
	Secret string `json:"secret,omitempty"`

	// Path to a PEM file with the RSA public key verifying the client's
	// OAuth 1 RSA-SHA1 signatures: SPKI, PKCS#1 or a certificate. Read when
	// the config loads.
	RSAPublicKey string `json:"rsa_public_key,omitempty"`
}

// Token formats.
const (
	tokenFormatOpaque = "opaque"
	tokenFormatJWT    = "jwt"
)

// validate checks what needs no I/O; errors name the offending field.
func (c *ServerConfig) validate() error {
	if c.Issuer == "" {
		return errors.New("issuer is required (e.g. https://auth.example.com)")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("issuer %q must be an absolute http(s) URL without query or fragment", c.Issuer)
	}
	for name, d := range map[string]caddy.Duration{
		"access_token_ttl": c.AccessTokenTTL, "code_ttl": c.CodeTTL, "timestamp_window": c.TimestampWindow,
		"jwt_key_rotation": c.JWTKeyRotation, "session_ttl": c.SessionTTL,
	} {
		if d < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
	}
	if err := c.validateTokenFormat(); err != nil {
		return err
	}
	if c.RefreshTokenTTL != nil && *c.RefreshTokenTTL < 0 {
		return errors.New("refresh_token_ttl must not be negative (0 disables refresh tokens)")
	}
	if c.Registration != nil {
		if err := c.Registration.validate(); err != nil {
			return err
		}
	}
	return c.validateSizes()
}

// maxCacheSize bounds the verification caches: ten million entries is
// already about 2.5 GiB, so a larger value is a typo.
const maxCacheSize = 10_000_000

// validateSizes checks the verification cache sizes.
func (c *ServerConfig) validateSizes() error {
	for name, n := range map[string]int{"verify_cache_size": c.VerifyCacheSize, "oauth1_cache_size": c.OAuth1CacheSize} {
		if n < -1 || n > maxCacheSize {
			return fmt.Errorf("%s %d: must be at most %d entries, or -1 to disable the cache", name, n, maxCacheSize)
		}
	}
	return nil
}

// validateTokenFormat checks token_format and the JWT options, which only
// mean something with token_format jwt.
func (c *ServerConfig) validateTokenFormat() error {
	switch c.TokenFormat {
	case "", tokenFormatOpaque:
		for opt, set := range map[string]bool{
			"jwt_algorithm": c.JWTAlgorithm != "", "jwt_key_rotation": c.JWTKeyRotation != 0, "audience": len(c.Audience) > 0,
		} {
			if set {
				return fmt.Errorf("%s only applies to JWT access tokens; set token_format jwt", opt)
			}
		}
		return nil
	case tokenFormatJWT:
	default:
		return fmt.Errorf("token_format %q: must be opaque or jwt", c.TokenFormat)
	}
	if !validJWTAlgorithm(c.JWTAlgorithm) {
		return fmt.Errorf("jwt_algorithm %q: must be EdDSA, ES256 or RS256", c.JWTAlgorithm)
	}
	rotation := time.Duration(c.JWTKeyRotation)
	if rotation == 0 {
		rotation = jwt.DefaultRotation
	}
	if rotation < jwt.MinRotation {
		return fmt.Errorf("jwt_key_rotation %v is shorter than %v", rotation, jwt.MinRotation)
	}
	access := time.Duration(c.AccessTokenTTL)
	if access == 0 {
		access = oauth2.DefaultAccessTokenTTL
	}
	// A JWT must expire while the key that signed it is still published.
	if access > rotation {
		return fmt.Errorf("access_token_ttl %v exceeds jwt_key_rotation %v; a token must expire before its signing key is retired", access, rotation)
	}
	for _, a := range c.Audience {
		if a == "" {
			return errors.New("audience: empty value")
		}
	}
	return nil
}

// validJWTAlgorithm: "" (EdDSA) or one the jwt package signs with.
func validJWTAlgorithm(alg string) bool {
	switch jwt.Algorithm(alg) {
	case "", jwt.EdDSA, jwt.ES256, jwt.RS256:
		return true
	}
	return false
}

// refreshTTL maps the config onto the engine's convention: unset is the
// default (0), an explicit 0 disables refresh tokens (negative).
func (c *ServerConfig) refreshTTL() time.Duration {
	switch {
	case c.RefreshTokenTTL == nil:
		return 0
	case *c.RefreshTokenTTL == 0:
		return -1
	}
	return time.Duration(*c.RefreshTokenTTL)
}

func (c *ServerConfig) oauth1Enabled() bool { return c.OAuth1 == nil || *c.OAuth1 }

// insecureIssuer reports an http issuer whose host is not a loopback
// address: tokens and codes would travel in clear text.
func insecureIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" {
		return false
	}
	return !isLoopbackHost(u.Hostname())
}

// isLoopbackHost: "localhost" (and its subdomains, RFC 6761 §6.3) and
// loopback IP literals.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
