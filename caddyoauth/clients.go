package caddyoauth

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// maxPEMFile bounds an rsa_public_key file; a public key or certificate is
// a few kilobytes.
const maxPEMFile = 64 << 10

// knownGrants are the OAuth 2 grant types a config may name.
var knownGrants = []string{
	oauth2.GrantAuthorizationCode, oauth2.GrantRefreshToken,
	oauth2.GrantClientCredentials, oauth2.GrantPassword,
}

// staticClients turns the configured clients into registry entries: the
// secret kept as a SHA-256 hash for OAuth 2 authentication and sealed for
// OAuth 1 HMAC, never in plaintext.
func staticClients(cfg *ServerConfig, sealer *provider.Sealer) ([]*store.Client, error) {
	repl := caddy.NewReplacer()
	serverGrants := cfg.Grants
	if len(serverGrants) == 0 {
		serverGrants = oauth2.DefaultGrants
	}
	if err := checkScopesKnown(cfg.Scopes, cfg.DefaultScopes, "default_scopes"); err != nil {
		return nil, err
	}
	for _, g := range cfg.Grants {
		if !slices.Contains(knownGrants, g) {
			return nil, fmt.Errorf("grants: unknown grant type %q (known: %s)", g, strings.Join(knownGrants, ", "))
		}
	}
	seen := make(map[string]bool, len(cfg.Clients))
	out := make([]*store.Client, 0, len(cfg.Clients))
	for i, cc := range cfg.Clients {
		c, err := staticClient(cc, cfg, serverGrants, sealer, repl)
		if err != nil {
			if cc.ClientID == "" {
				return nil, fmt.Errorf("client %d: %v", i, err)
			}
			return nil, fmt.Errorf("client %q: %v", cc.ClientID, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("client %q: defined twice", c.ID)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, nil
}

func staticClient(cc ClientConfig, cfg *ServerConfig, serverGrants []string, sealer *provider.Sealer, repl *caddy.Replacer) (*store.Client, error) {
	if cc.ClientID == "" {
		return nil, errors.New("client_id is required")
	}
	for i := 0; i < len(cc.ClientID); i++ {
		if c := cc.ClientID[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("client_id must be printable ASCII without spaces")
		}
	}
	c := &store.Client{
		ID:           cc.ClientID,
		Name:         cc.Name,
		RedirectURIs: slices.Clone(cc.RedirectURIs),
		CallbackURIs: slices.Clone(cc.CallbackURIs),
		Scopes:       slices.Clone(cc.Scopes),
		Grants:       slices.Clone(cc.Grants),
		Public:       cc.Public,
		Trusted:      cc.Trusted,
		Introspect:   cc.Introspect,
	}

	var secret string
	if cc.Secret != "" {
		var err error
		secret, err = repl.ReplaceOrErr(cc.Secret, true, true)
		if err != nil {
			return nil, fmt.Errorf("secret: %v", err)
		}
	}
	switch {
	case cc.Public && secret != "":
		return nil, errors.New("a public client has no secret")
	case !cc.Public && secret == "" && cc.RSAPublicKey == "":
		return nil, errors.New("secret is required (or mark the client public)")
	}
	if secret != "" {
		c.SecretHash = provider.HashToken(secret)
		sealed, err := sealer.Seal(oauth1.PurposeClientSecret, []byte(secret))
		if err != nil {
			return nil, fmt.Errorf("sealing secret: %v", err)
		}
		c.SealedSecret = sealed
	}

	if cc.RSAPublicKey != "" {
		f, err := os.Open(cc.RSAPublicKey)
		if err != nil {
			return nil, fmt.Errorf("rsa_public_key: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("rsa_public_key: %v", err)
		}
		if len(b) > maxPEMFile {
			return nil, fmt.Errorf("rsa_public_key %s: file too large", cc.RSAPublicKey)
		}
		pemText := string(b)
		if _, err := oauth1.ParseRSAPublicKey(pemText); err != nil {
			return nil, fmt.Errorf("rsa_public_key %s: %v", cc.RSAPublicKey, err)
		}
		c.RSAPublicKeyPEM = pemText
	}

	for _, u := range c.RedirectURIs {
		if err := oauth2.ValidateRedirectURI(u); err != nil {
			return nil, fmt.Errorf("redirect_uri %q: %v", u, err)
		}
	}
	for _, u := range c.CallbackURIs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" {
			return nil, fmt.Errorf("callback_uri %q: must be an absolute http(s) URI without fragment", u)
		}
	}
	if err := checkScopesKnown(cfg.Scopes, c.Scopes, "scopes"); err != nil {
		return nil, err
	}
	for _, g := range c.Grants {
		if !slices.Contains(knownGrants, g) {
			return nil, fmt.Errorf("grants: unknown grant type %q", g)
		}
		if !slices.Contains(serverGrants, g) {
			return nil, fmt.Errorf("grants: %s is not enabled on this server", g)
		}
	}
	if c.Public && slices.Contains(c.Grants, oauth2.GrantClientCredentials) {
		return nil, errors.New("a public client cannot use client_credentials (it cannot authenticate)")
	}
	return c, nil
}
