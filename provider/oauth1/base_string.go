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
	scheme, host, escapedPath, err := baseURIParts(strings.ToLower(scheme), strings.ToLower(host), escapedPath)
	if err != nil {
		return "", err
	}
	return scheme + "://" + host + escapedPath, nil
}

// baseURIParts checks and normalizes the already lowercased scheme and
// host and the path of a base string URI (§3.4.1.2): default port
// dropped, empty path written as "/".
func baseURIParts(scheme, host, escapedPath string) (string, string, string, error) {
	if scheme != "http" && scheme != "https" {
		return "", "", "", errors.New("oauth1: scheme must be http or https")
	}
	if host == "" {
		return "", "", "", errors.New("oauth1: empty host")
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
	return scheme, host, escapedPath, nil
}

// sortParams sorts encoded parameters as §3.4.1.3.2 says: by name, then
// by value, in ascending byte order.
func sortParams(enc []Param) {
	slices.SortFunc(enc, func(a, b Param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
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
	sortParams(enc)
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

// appendBaseString appends the §3.4.1.1 base string of a request to dst,
// byte for byte what BaseString(method, BaseStringURI(scheme, host,
// escapedPath), NormalizeParameters(params)) returns, but built in place:
// the server computes one for every signed request, and the three-step
// version allocates a string per step and per escaped value.
func appendBaseString(dst []byte, method, scheme, host, escapedPath string, params []Param) ([]byte, error) {
	scheme, host, escapedPath, err := baseURIParts(lowerASCII(scheme), lowerASCII(host), escapedPath)
	if err != nil {
		return dst, err
	}
	dst = appendEncode(dst, upperASCII(method))
	dst = append(dst, '&')
	dst = append(dst, scheme...) // "http" or "https": nothing to escape
	dst = append(dst, "%3A%2F%2F"...)
	dst = appendEncode(dst, host)
	dst = appendEncode(dst, escapedPath)
	dst = append(dst, '&')

	// §3.4.1.3.2: sort by encoded name, then encoded value. Encode
	// returns its argument when nothing needs escaping, so the usual
	// parameters cost no allocation; a few fit the array on the stack.
	var arr [16]Param
	enc := arr[:0]
	for _, p := range params {
		enc = append(enc, Param{Name: Encode(p.Name), Value: Encode(p.Value)})
	}
	sortParams(enc)
	// The normalized parameters are encoded once more as the base
	// string's third part: "=" is %3D, "&" is %26.
	for i, p := range enc {
		if i > 0 {
			dst = append(dst, "%26"...)
		}
		dst = appendEncode(dst, p.Name)
		dst = append(dst, "%3D"...)
		dst = appendEncode(dst, p.Value)
	}
	return dst, nil
}

// lowerASCII and upperASCII are strings.ToLower and ToUpper without the
// allocation when there is nothing to change: ASCII strings of the
// right case come back as they are; anything else goes to strings.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' || c >= 0x80 {
			return strings.ToUpper(s)
		}
	}
	return s
}
