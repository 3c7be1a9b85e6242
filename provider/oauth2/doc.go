// Package oauth2 is the OAuth 2 authorization server engine: the
// authorization endpoint (RFC 6749 §4.1 with PKCE, RFC 7636, and the iss
// response parameter, RFC 9207), the token endpoint with the
// authorization_code, refresh_token, client_credentials and (opt-in)
// password grants, revocation (RFC 7009), introspection (RFC 7662),
// metadata (RFC 8414) and bearer token verification for protected
// resources (RFC 6750). It follows the OAuth 2.0 Security BCP (RFC 9700).
//
// Access tokens are opaque random values by default. With
// Config.TokenFormat "jwt" they are RFC 9068 JWTs signed with rotating
// keys kept in the store and published as a JWK Set (Server.JWKS, the
// jwks_uri of the metadata). Other gateways and resource servers can then
// verify them with the JWK Set alone, without calling this server; they
// cannot see revocations, so to them a revoked token stays valid until its
// exp (at most the access token lifetime), as is normal for RFC 9068
// tokens. This server records every JWT in the store like an opaque token,
// so its own VerifyBearer, revocation (RFC 7009, code replay, refresh
// token reuse, RevokeUser, RevokeClient) and introspection treat both
// formats alike, and revocations take effect here at once.
//
// It works on net/http types and the store interfaces only; the Caddy glue
// routes requests to it and authenticates the resource owner.
package oauth2
