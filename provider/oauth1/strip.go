package oauth1

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
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
	if !isFormBody(r) {
		return
	}
	limit := int64(maxStripBody)
	if b, ok := r.Body.(bodyReader); ok && b.full != nil && int64(len(b.full)) > limit {
		limit = int64(len(b.full))
	}
	body, tooBig, err := readBody(r, limit)
	if err != nil || tooBig {
		return
	}
	nb, changed := stripProtocolParams(string(body))
	if !changed {
		return
	}
	orig := r.Body.(bodyReader).Closer
	data := []byte(nb)
	if len(data) == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = bodyReader{bytes.NewReader(data), orig, data}
	}
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) {
		if len(data) == 0 {
			return http.NoBody, nil
		}
		return io.NopCloser(bytes.NewReader(data)), nil
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
