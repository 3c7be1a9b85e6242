package oauth1

import (
	"net/http"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider/formbody"
)

// maxStripBody bounds a form body StripParams reads that Verify has not
// read already.
const maxStripBody = DefaultMaxBodyBytes

// StripParams removes the OAuth 1 credentials from a verified request before
// it is proxied (DESIGN §2): the Authorization header, and every oauth_*
// parameter of the query and of an application/x-www-form-urlencoded body.
// Other parameters keep their exact bytes; the body is replaced and its
// Content-Length fixed. A form body too large to read is left as is.
func StripParams(r *http.Request) {
	r.Header.Del("Authorization")
	if r.URL.RawQuery != "" {
		if q, changed := stripProtocolParams(r.URL.RawQuery); changed {
			r.URL.RawQuery = q
			if r.RequestURI != "" {
				r.RequestURI = r.URL.RequestURI()
			}
		}
	}
	if !formbody.IsForm(r) {
		return
	}
	body, ok := formbody.Kept(r)
	if !ok {
		var tooBig bool
		var err error
		if body, tooBig, err = formbody.Read(r, maxStripBody); err != nil || tooBig {
			return
		}
	}
	if nb, changed := stripProtocolParams(string(body)); changed {
		formbody.Replace(r, []byte(nb))
	}
}

// stripProtocolParams drops the pairs of a form-encoded string whose decoded
// name starts with oauth_, keeping the others byte for byte.
func stripProtocolParams(s string) (string, bool) {
	var kept []string
	changed := false
	for _, pair := range strings.Split(s, "&") {
		rawName, _, _ := strings.Cut(pair, "=")
		if name, err := decodeFormValue(rawName); err == nil && strings.HasPrefix(name, protocolPrefix) {
			changed = true
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&"), changed
}
