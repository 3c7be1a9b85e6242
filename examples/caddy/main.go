// Command caddy is Caddy with its standard modules plus caddy-oauth: the
// same binary that `xcaddy build --with github.com/caddy-oauth/caddy-oauth`
// produces, so `go run ./examples/caddy run --config Caddyfile.example`
// works without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-oauth/caddy-oauth"
)

func main() {
	caddycmd.Main()
}
