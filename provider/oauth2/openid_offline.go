package oauth2

import "slices"

// ScopeOfflineAccess asks for a refresh token in an OpenID Connect
// request (Core §11).
const ScopeOfflineAccess = "offline_access"

// offlineAccess reports whether a code grant of scopes gets a refresh
// token. A plain OAuth 2 grant always may (the client's and server's
// grants decide); an OpenID Connect one only with offline_access granted,
// so that signing in to an app does not by itself leave it access after
// the user leaves (Core §11). Core wants offline_access consented to
// (prompt=consent) "unless other conditions ... are in place": here the
// scope must pass the ordinary consent, which is the consent page itself,
// a stored consent the user gave on that page for this scope, or a client
// the operator marked trusted.
func (s *Server) offlineAccess(scopes []string) bool {
	return !s.openID(scopes) || slices.Contains(scopes, ScopeOfflineAccess)
}
