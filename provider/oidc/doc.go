// Package oidc adds OpenID Connect Core 1.0 (the authorization code flow)
// and Discovery 1.0 to the OAuth 2 engine (package oauth2): ID tokens
// signed RS256 with their own rotating keys (Core §3.1.3.6, §15.1), the
// discovery document at /.well-known/openid-configuration, the UserInfo
// endpoint (Core §5.3), the id_token_hint check the authorization
// endpoint and logout share (hint.go), and RP-Initiated Logout 1.0
// (end_session.go).
//
// A Provider is made first and given to oauth2.Config.OpenID, which calls
// it for the ID token of every code grant with scope openid (and of the
// refreshes of such a grant); its Endpoints then serve over that server.
//
// The subject (sub) is the username. It is stable while the user exists,
// but a user deleted and added again under the same name gets the same
// sub: relying parties see the same person.
package oidc
