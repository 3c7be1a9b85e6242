package login

import (
	"net/http"
	"net/url"
)

// maxReturnTo bounds return_to; an authorization request with many
// parameters fits, a URL meant to bloat the form does not.
const maxReturnTo = 8 << 10

// safeLocalPath returns p if it can only mean a path on this server, else
// "". A browser reads "//host" and "/\host" as another host, strips tabs
// and newlines before parsing (so "/\t/host" is "//host") and treats "\"
// as "/"; so p must start with one "/", hold printable ASCII only (a
// well-formed URI is escaped anyway), no backslash, and parse with no
// scheme, host or user info (RFC 9700 §4.11: no open redirector).
func safeLocalPath(p string) string {
	if len(p) == 0 || len(p) > maxReturnTo || p[0] != '/' {
		return ""
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return p
}

// returnTo is where to go after signing in: p if it is a safe local path
// other than the login and logout pages themselves, else "/".
func (m *Manager) returnTo(p string) string {
	p = safeLocalPath(p)
	if p == "" {
		return "/"
	}
	if u, _ := url.Parse(p); u.Path == m.cfg.LoginPath || u.Path == m.cfg.LogoutPath {
		return "/"
	}
	return p
}

// seeOther redirects with 303, which makes the browser follow with a GET
// after a form POST (SECURITY.md: never 307). target is a checked local
// path, written as is.
func seeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}
