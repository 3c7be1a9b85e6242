// Package caddyoauthplugin is what `xcaddy build --with
// github.com/caddy-oauth/caddy-oauth` imports: importing it registers the
// Caddy modules of caddy-oauth (the `oauth` app, the `oauth_server` and
// `require_oauth` handlers, their Caddyfile syntax, admin routes and CLI
// commands), which live in package caddyoauth.
package caddyoauthplugin

import (
	// Registers every Caddy module of caddy-oauth.
	_ "github.com/caddy-oauth/caddy-oauth/caddyoauth"
)
