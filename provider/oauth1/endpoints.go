package oauth1

import (
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Endpoint paths, relative to the server's prefix (DESIGN §3).
const (
	PathRequestToken = "/oauth1/request_token"
	PathAuthorize    = "/oauth1/authorize"
	PathAccessToken  = "/oauth1/access_token"
)

// Endpoints are the three RFC 5849 endpoints. requestURL gives the
// request as the client signed it (scheme and host as the client saw
// them, the path before any rewrite), which only the glue knows.
func (s *Server) Endpoints(requestURL func(*http.Request) RequestURL) []provider.Endpoint {
	return []provider.Endpoint{
		{Path: PathRequestToken, Methods: provider.MethodsPost, Serve: func(w http.ResponseWriter, r *http.Request) {
			s.RequestToken(w, r, requestURL(r))
		}},
		{Path: PathAuthorize, Methods: provider.MethodsGetPost, ServeOwner: func(w http.ResponseWriter, r *http.Request, user string) {
			s.Authorize(w, r, requestURL(r), user)
		}},
		{Path: PathAccessToken, Methods: provider.MethodsPost, Serve: func(w http.ResponseWriter, r *http.Request) {
			s.AccessToken(w, r, requestURL(r))
		}},
	}
}
