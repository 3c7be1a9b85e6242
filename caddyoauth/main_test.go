package caddyoauth

import (
	// The standard modules, for the directives the tests' Caddyfiles use
	// next to ours (reverse_proxy, basic_auth, respond, ...).
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)
