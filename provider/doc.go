// Package provider holds what the OAuth 1.0a and OAuth 2 engines share:
// typed protocol errors, scopes, token minting and hashing, sealing of
// recoverable secrets, the client registry (static clients from config in
// front of the store), and the identity a verified request carries.
//
// The engines (provider/oauth1, provider/oauth2) work on plain net/http
// types and the store interfaces; nothing here imports Caddy.
package provider
