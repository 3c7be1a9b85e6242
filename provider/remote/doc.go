// Package remote verifies access tokens issued by another authorization
// server, for require_oauth in front of any OAuth/OpenID issuer (our own
// oauth_server elsewhere, Hydra, Keycloak, Auth0, Okta, Entra ID, Google).
//
// The issuer's metadata comes from RFC 8414 or OpenID Connect Discovery
// (both tried; its issuer must match exactly). JWT access tokens (RFC 9068
// and plain OIDC-style JWTs) are verified against the issuer's jwks_uri;
// the key set is cached, refreshed on its Cache-Control max-age and on an
// unknown kid (rate-limited). Opaque tokens are introspected (RFC 7662),
// with a bounded cache of answers and one remote call for concurrent
// misses of the same token. Metadata and keys are fetched in the
// background; while the issuer cannot be reached, verification fails
// closed with 503 temporarily_unavailable.
package remote
