package remote

// isIDToken reports whether a JWT is an OpenID Connect ID token: at_hash
// or c_hash (Core §3.1.3.6, §3.3.2.11) appear in no access token. An
// issuer publishes its ID token keys in the same JWK Set as its access
// token keys (this server does), and ID tokens go to clients, not
// resource servers; without token_type or audience configured, the
// signature and iss alone would let one pass as an access token.
func (c claims) isIDToken() bool {
	_, at := c["at_hash"]
	_, ch := c["c_hash"]
	return at || ch
}
