// Package oauth2 is the OAuth 2 authorization server engine: the
// authorization endpoint (RFC 6749 §4.1 with PKCE, RFC 7636, and the iss
// response parameter, RFC 9207), the token endpoint with the
// authorization_code, refresh_token, client_credentials and (opt-in)
// password grants, revocation (RFC 7009), introspection (RFC 7662),
// metadata (RFC 8414) and bearer token verification for protected
// resources (RFC 6750). It follows the OAuth 2.0 Security BCP (RFC 9700).
//
// It works on net/http types and the store interfaces only; the Caddy glue
// routes requests to it and authenticates the resource owner.
package oauth2
