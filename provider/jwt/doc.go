// Package jwt issues and verifies the JWT access tokens of `token_format jwt`:
// JSON Web Tokens in the RFC 9068 profile ("at+jwt"), signed with JWS
// compact serialization (RFC 7515 §7.1) and published as a JWK Set
// (RFC 7517 §5) for resource servers to verify offline.
//
// It supports one asymmetric algorithm per server: EdDSA with Ed25519
// (RFC 8037, the default), ES256 (ECDSA P-256, RFC 7518 §3.4) or RS256
// (RSASSA-PKCS1-v1_5 with 2048-bit keys, RFC 7518 §3.3). Symmetric
// algorithms and "none" are never accepted, so no key can be confused for
// an HMAC secret.
//
// Keys rotate: one key per rotation period, the current one signs, the
// previous one still verifies (a token signed at the end of a period stays
// valid in the next), and the next one is created and published ahead of
// use so that verifiers caching the JWK Set learn it before it signs.
// The access token lifetime must therefore be at most the rotation period;
// Sign refuses longer ones.
//
// Private keys are kept through store.KeyStore as unencrypted PKCS#8 DER, so
// with the Badger backend they live in the store directory beside the other
// server secrets (the key OAuth 1 secrets are sealed with): whoever can read
// that directory can sign tokens, and it must be protected accordingly.
package jwt
