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
// The subject (sub) is the user's stored Subject: random, opaque, made
// when the user is created and kept through every change, so a user
// deleted and added again under the same name is another sub (Core §2:
// never reassigned). A user stored before subjects existed, or known
// only by name (authenticated by an earlier handler), has the username
// as sub. UserInfo answers the standard claims of the granted scopes
// (Core §5.4); the ID token carries none of them.
package oidc
