// Package oauth1 is the OAuth 1.0a (RFC 5849) server engine: temporary
// credentials (§2.1), resource owner authorization (§2.2), token
// credentials (§2.3) and verification of signed protected-resource requests
// (§3), over plain net/http types and the store interfaces.
//
// Signature methods: HMAC-SHA1, HMAC-SHA256, RSA-SHA1 and PLAINTEXT (the
// last only over TLS unless Config.AllowInsecurePlaintext allows it on a
// loopback connection). Errors follow the OAuth Problem Reporting
// extension: a form-encoded oauth_problem body, 400 for malformed requests
// and 401 with WWW-Authenticate: OAuth for credentials that do not verify.
//
// Client and token secrets are HMAC keys, so they are kept sealed
// (provider.Sealer, purposes PurposeClientSecret and PurposeTokenSecret),
// never hashed and never plain. Token identifiers are stored only as
// provider.HashToken values.
//
// client.go holds a small RFC-faithful client signer (Sign) that tests,
// end-to-end tests and the example client share.
package oauth1
