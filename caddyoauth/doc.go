// Package caddyoauth is the Caddy glue of caddy-oauth: the `oauth` app, the
// `oauth_server` and `require_oauth` HTTP handlers, their Caddyfile syntax,
// admin API routes and CLI commands. Protocol logic lives in provider/ and
// persistence in store/; this package only translates Caddy config and types
// into calls on them.
package caddyoauth
