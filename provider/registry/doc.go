// Package registry is the one place client and user registrations are
// described, validated and changed: the Caddyfile/JSON config, the admin
// API, the `caddy oauth` CLI and, later, dynamic client registration all go
// through ClientMetadata, Policy.CheckClient and Manager. It returns typed
// errors (Error); which HTTP status or exit code a refusal becomes is the
// caller's choice.
package registry
