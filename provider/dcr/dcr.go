// Package dcr is OAuth 2.0 Dynamic Client Registration (RFC 7591) and its
// management protocol (RFC 7592): a client registers itself at
// <prefix>/oauth2/register, with an initial access token or, if the
// operator allows it, openly, and then reads, updates and deletes its
// registration with the registration access token it was given.
//
// Registered clients are ordinary clients: they go through the same
// registry.Manager as the admin API and CLI (the same validation of
// redirect URIs, grants and scopes), live in the same store, and the
// admin API, CLI and revocation see them. A registration can never make a
// client trusted (skipping consent) or allowed to introspect other
// clients' tokens; that stays the operator's decision.
//
// The registration access token is not stored: it is an HMAC, under a key
// derived from the server key, of the client id and its registration
// time, so it dies with the client (a client registered again under the
// same id gets another), and a reader of the store cannot compute it.
package dcr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
)

// Path is where the endpoint is served, under the server's prefix.
const Path = "/oauth2/register"

// Config configures the registration endpoint.
type Config struct {
	// Issuer and Prefix make the absolute registration_client_uri.
	Issuer, Prefix string
	// InitialAccessToken, if set, must be presented as a bearer token to
	// register (RFC 7591 §3). Empty with Open: anyone may register.
	InitialAccessToken string
	// Open allows registration without an initial access token.
	Open bool
	// Key (at least 32 bytes) derives the registration access tokens.
	Key []byte
	// Manager registers, reads, updates and deletes the clients; Clients
	// finds them (with their secret hashes) as the engines do.
	Manager *registry.Manager
	Clients *provider.Clients
	// Audit receives the refusals (nil: discarded); the Manager reports
	// the changes.
	Audit provider.Auditor
}

// Server serves the registration endpoint.
type Server struct {
	cfg Config
}

// New checks cfg and returns the server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Manager == nil || cfg.Clients == nil:
		return nil, errors.New("dcr: Manager and Clients are required")
	case len(cfg.Key) < 32:
		return nil, errors.New("dcr: Key must be at least 32 bytes")
	case cfg.Open == (cfg.InitialAccessToken != ""):
		return nil, errors.New("dcr: registration needs exactly one of an initial access token or open")
	}
	return &Server{cfg: cfg}, nil
}

// Endpoints returns the registration endpoint: POST registers; GET, PUT
// and DELETE with ?client_id= manage a registration (RFC 7592).
func (s *Server) Endpoints() []provider.Endpoint {
	return []provider.Endpoint{{
		Path:    Path,
		Methods: []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete},
		Serve:   s.serve,
	}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.register(w, r)
		return
	}
	s.manage(w, r)
}

// registrationToken is the registration access token of the client id
// registered at created.
func (s *Server) registrationToken(id string, created time.Time) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("caddy-oauth registration access token\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(created.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// clientURI is the registration_client_uri of id.
func (s *Server) clientURI(id string) string {
	return s.cfg.Issuer + s.cfg.Prefix + Path + "?client_id=" + url.QueryEscape(id)
}

// equalTokens compares two tokens in constant time, by their hashes, so
// that the length of the expected one (a configured initial access token)
// leaks nothing either.
func equalTokens(a, b string) bool {
	return provider.EqualBytes(provider.HashToken(a), provider.HashToken(b))
}
