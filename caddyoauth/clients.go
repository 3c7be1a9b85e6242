package caddyoauth

import (
	"fmt"
	"io"
	"os"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// maxPEMFile bounds an rsa_public_key file; a public key or certificate is
// a few kilobytes.
const maxPEMFile = 64 << 10

// knownGrants are the OAuth 2 grant types a config may name: those the
// engine's grant registry implements.
var knownGrants = oauth2.KnownGrants()

// staticClients turns the configured clients into registry entries, after
// the registry's checks (the same as for registration through the admin
// API): the secret kept as a SHA-256 hash for OAuth 2 authentication and
// sealed for OAuth 1 HMAC, never in plaintext.
func staticClients(cfg *ServerConfig, sealer *provider.Sealer) ([]*store.Client, error) {
	policy := cfg.policy()
	if err := policy.CheckScopesKnown("default_scopes", cfg.DefaultScopes); err != nil {
		return nil, err
	}
	if err := policy.CheckGrants(cfg.Grants); err != nil {
		return nil, err
	}
	repl := caddy.NewReplacer()
	seen := make(map[string]bool, len(cfg.Clients))
	out := make([]*store.Client, 0, len(cfg.Clients))
	for i, cc := range cfg.Clients {
		c, err := staticClient(cc, policy, sealer, repl)
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

// staticClient resolves what only the config has (placeholders in the
// secret, the RSA key file) and lets the registry check the rest.
func staticClient(cc ClientConfig, policy registry.Policy, sealer *provider.Sealer, repl *caddy.Replacer) (*store.Client, error) {
	var cred registry.Credentials
	if cc.Secret != "" {
		var err error
		if cred.Secret, err = repl.ReplaceOrErr(cc.Secret, true, true); err != nil {
			return nil, fmt.Errorf("secret: %v", err)
		}
	}
	if cc.RSAPublicKey != "" {
		pemText, err := readPEMFile(cc.RSAPublicKey)
		if err != nil {
			return nil, fmt.Errorf("rsa_public_key %s: %v", cc.RSAPublicKey, err)
		}
		cred.RSAPublicKeyPEM = pemText
	}
	return policy.StaticClient(cc.ClientMetadata, cred, sealer)
}

// readPEMFile reads a small PEM file.
func readPEMFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPEMFile {
		return "", fmt.Errorf("file too large")
	}
	return string(b), nil
}
