package oauth1

import (
	"net/url"
	"strings"
)

const upperhex = "0123456789ABCDEF"

// unreserved reports whether c is left as is by the RFC 5849 §3.6
// percent-encoding: ALPHA / DIGIT / "-" / "." / "_" / "~".
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// Encode percent-encodes s per RFC 5849 §3.6: every byte of its UTF-8 form
// outside the unreserved set becomes %XX with uppercase hex. Unlike
// url.QueryEscape it encodes a space as %20 (never "+") and leaves "~"
// alone, which is what the signature base string needs.
func Encode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
	return b.String()
}

// decodeHeaderValue reverses the §3.6 encoding of an Authorization header
// name or value (§3.5.1). A "+" stays a "+": only form and query decoding
// (§3.4.1.3.1) turn it into a space.
func decodeHeaderValue(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	return url.PathUnescape(s)
}

// decodeFormValue decodes an application/x-www-form-urlencoded name or
// value, where "+" is a space (§3.4.1.3.1).
func decodeFormValue(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// appendEncode appends Encode(s) to dst.
func appendEncode(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
	}
	return dst
}

// writeParams writes params §3.6-encoded as name=value pairs joined by "&",
// as a query or a form body.
func writeParams(b *strings.Builder, params []Param) {
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(Encode(p.Name))
		b.WriteByte('=')
		b.WriteString(Encode(p.Value))
	}
}
