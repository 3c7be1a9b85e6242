package oauth2

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// ValidateRedirectURI checks a redirect URI for registration (RFC 6749
// §3.1.2, RFC 9700 §2.1): absolute, no fragment, no userinfo; plain http
// only for loopback hosts (RFC 8252 §7.3); private-use schemes (RFC 8252
// §7.1) are allowed for native apps. The authorization endpoint applies it
// again to every URI it would redirect to.
func ValidateRedirectURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return errors.New("redirect URI does not parse")
	}
	if !u.IsAbs() {
		return errors.New("redirect URI must be absolute")
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return errors.New("redirect URI must not contain a fragment")
	}
	if u.User != nil {
		return errors.New("redirect URI must not contain user information")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		if u.Host == "" {
			return errors.New("redirect URI has no host")
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return errors.New("http redirect URIs are only allowed for loopback hosts; use https")
		}
	case "javascript", "data", "file", "vbscript", "about", "blob":
		return errors.New("redirect URI scheme not allowed")
	}
	return nil
}

// isLoopbackHost: "localhost" and loopback IP literals.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// matchRedirectURI returns the registered URI of client that requested
// matches: the same string (RFC 9700 §2.1, §4.1.3: exact match), or, for a
// public client only, the same http loopback IP literal URI (127.0.0.1,
// [::1]) on any port. RFC 8252 §7.3 grants that leeway to native apps,
// which bind an ephemeral port at run time; a confidential client is a web
// server with a fixed port, and giving it the leeway would let any local
// process listening on another port receive its codes. "localhost" gets no
// port leeway (RFC 8252 §8.3).
func matchRedirectURI(client *store.Client, requested string) (string, bool) {
	for _, r := range client.RedirectURIs {
		if r == requested {
			return r, true
		}
	}
	if !client.Public {
		return "", false
	}
	req, ok := loopbackWithoutPort(requested)
	if !ok {
		return "", false
	}
	for _, r := range client.RedirectURIs {
		if reg, ok := loopbackWithoutPort(r); ok && reg == req {
			return requested, true
		}
	}
	return "", false
}

// loopbackWithoutPort returns uri with its port removed if it is an http
// URI on a loopback IP literal.
func loopbackWithoutPort(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return "", false
	}
	host := u.Hostname()
	if host != "127.0.0.1" && host != "::1" {
		return "", false
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "", false
			}
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	return u.String(), true
}
