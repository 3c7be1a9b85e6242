package registry

import (
	"fmt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Credentials are a static client's secrets as the config gives them, with
// placeholders and files already resolved by the caller.
type Credentials struct {
	// Secret is the client secret (OAuth 1: the consumer secret).
	Secret string
	// RSAPublicKeyPEM verifies OAuth 1 RSA-SHA1 signatures.
	RSAPublicKeyPEM string
}

// StaticClient validates a client from the config and returns the entry
// engines resolve it to: the secret kept only as its SHA-256 (OAuth 2
// authentication) and sealed (the OAuth 1 HMAC key), never in plaintext.
func (p Policy) StaticClient(md ClientMetadata, cred Credentials, sealer *provider.Sealer) (*store.Client, error) {
	if err := p.CheckClient(&md); err != nil {
		return nil, err
	}
	switch {
	case md.Public && cred.Secret != "":
		return nil, invalid("a public client has no secret")
	case !md.Public && cred.Secret == "" && cred.RSAPublicKeyPEM == "":
		return nil, invalid("secret is required (or mark the client public)")
	}
	c := md.record()
	if cred.Secret != "" {
		if err := setSecret(c, cred.Secret, sealer); err != nil {
			return nil, err
		}
	}
	if cred.RSAPublicKeyPEM != "" {
		if _, err := oauth1.ParseRSAPublicKey(cred.RSAPublicKeyPEM); err != nil {
			return nil, invalid("rsa_public_key: %v", err)
		}
		c.RSAPublicKeyPEM = cred.RSAPublicKeyPEM
	}
	return c, nil
}

// setSecret gives c the secret: its SHA-256 for OAuth 2 client
// authentication, sealed for OAuth 1 HMAC, which needs it back.
func setSecret(c *store.Client, secret string, sealer *provider.Sealer) error {
	sealed, err := sealer.Seal(oauth1.PurposeClientSecret, []byte(secret))
	if err != nil {
		return fmt.Errorf("sealing the client secret: %v", err)
	}
	c.SecretHash, c.SealedSecret = provider.HashToken(secret), sealed
	return nil
}
