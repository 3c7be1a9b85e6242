package provider

import "net/http"

// Endpoint is one path an engine serves; the Caddy glue only mounts what
// the engines return, and answers 405 with Allow for other methods.
type Endpoint struct {
	// Path is relative to the server's prefix, unless Absolute (the RFC
	// 8414 metadata lives at the root whatever the prefix).
	Path     string
	Absolute bool
	// Methods are the accepted request methods.
	Methods []string
	// Serve handles a request. Exactly one of Serve and ServeOwner is set.
	Serve http.HandlerFunc
	// ServeOwner handles a request made by a resource owner (authorization
	// endpoints): the glue authenticates the owner first, or answers for
	// itself (e.g. the login page) when nobody is signed in.
	ServeOwner func(w http.ResponseWriter, r *http.Request, user string)
}

// Method sets for endpoints.
var (
	MethodsGet     = []string{http.MethodGet, http.MethodHead}
	MethodsPost    = []string{http.MethodPost}
	MethodsGetPost = []string{http.MethodGet, http.MethodPost}
	MethodsAll     = []string{http.MethodGet, http.MethodHead, http.MethodPost}
)
