package oauth1

import (
	"errors"
	"slices"
	"strings"
)

// BaseStringURI builds the base string URI of RFC 5849 §3.4.1.2 from the
// scheme and authority the client used and the path exactly as sent
// (still percent-encoded, e.g. from url.URL.EscapedPath): scheme and host
// lowercased, the default port (80 for http, 443 for https) dropped, an
// empty path written as "/", no query or fragment.
func BaseStringURI(scheme, host, escapedPath string) (string, error) {
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("oauth1: scheme must be http or https")
	}
	host = strings.ToLower(host)
	if host == "" {
		return "", errors.New("oauth1: empty host")
	}
	// A port follows the last colon, unless that colon is inside an IPv6
	// literal's brackets.
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		port := host[i+1:]
		if scheme == "http" && port == "80" || scheme == "https" && port == "443" || port == "" {
			host = host[:i]
		}
	}
	if escapedPath == "" {
		escapedPath = "/"
	}
	return scheme + "://" + host + escapedPath, nil
}

// NormalizeParameters is §3.4.1.3.2: every name and value §3.6-encoded,
// sorted by encoded name, then by encoded value (ascending byte order),
// each pair joined with "=", the pairs with "&". params must already
// exclude oauth_signature and realm.
func NormalizeParameters(params []Param) string {
	enc := make([]Param, len(params))
	n := 0
	for i, p := range params {
		enc[i] = Param{Name: Encode(p.Name), Value: Encode(p.Value)}
		n += len(enc[i].Name) + len(enc[i].Value) + 2
	}
	slices.SortFunc(enc, func(a, b Param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	var b strings.Builder
	b.Grow(n)
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// BaseString is the signature base string of §3.4.1.1: the uppercase
// method, the base string URI and the normalized parameters, each
// §3.6-encoded, joined with "&".
func BaseString(method, baseURI, normalizedParams string) string {
	return Encode(strings.ToUpper(method)) + "&" + Encode(baseURI) + "&" + Encode(normalizedParams)
}
