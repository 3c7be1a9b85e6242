// Package formbody reads an application/x-www-form-urlencoded request body
// once, bounded, and puts back a body that yields the same bytes, so that
// the request can still be proxied intact. The OAuth 1 signature base
// string (RFC 5849 §3.4.1.3.1) and RFC 6750 §2.2 body tokens both read
// it, and stripping credentials rewrites it.
package formbody

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// body is a request body read into memory; it still closes the original.
type body struct {
	*bytes.Reader
	orig io.Closer
	data []byte
}

func (b *body) Close() error { return b.orig.Close() }

// IsForm reports whether r's body is a single-part
// application/x-www-form-urlencoded entity (parameters after ';' allowed).
func IsForm(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	ct := r.Header["Content-Type"]
	if len(ct) != 1 {
		return false
	}
	const form = "application/x-www-form-urlencoded"
	v := strings.TrimSpace(ct[0])
	if len(v) < len(form) || !strings.EqualFold(v[:len(form)], form) {
		return false
	}
	return len(v) == len(form) || v[len(form)] == ';' || v[len(form)] == ' ' || v[len(form)] == '\t'
}

// Read returns r's body if it is at most limit bytes; tooBig reports a
// longer one. Either way r.Body is put back yielding the same bytes (what
// was read, then anything unread). A body read before is handed out again
// without reading.
func Read(r *http.Request, limit int64) (data []byte, tooBig bool, err error) {
	if b, ok := r.Body.(*body); ok {
		if int64(len(b.data)) > limit {
			return nil, true, nil
		}
		r.Body = &body{bytes.NewReader(b.data), b.orig, b.data}
		return b.data, false, nil
	}
	if r.ContentLength > limit {
		return nil, true, nil
	}
	orig := r.Body
	data, err = io.ReadAll(io.LimitReader(orig, limit+1))
	if err != nil || int64(len(data)) > limit {
		// What was read goes back in front of the rest; after an error
		// the request cannot be forwarded faithfully anyway.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), orig), orig}
		return nil, err == nil, err
	}
	r.Body = &body{bytes.NewReader(data), orig, data}
	return data, false, nil
}

// Kept returns the body a Read kept in memory, if any.
func Kept(r *http.Request) ([]byte, bool) {
	if b, ok := r.Body.(*body); ok {
		return b.data, true
	}
	return nil, false
}

// Replace makes data the body of r (http.NoBody when empty), fixing the
// length headers and dropping any parsed form.
func Replace(r *http.Request, data []byte) {
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
	r.TransferEncoding = nil
	r.Form, r.PostForm = nil, nil
	if len(data) == 0 {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	orig := io.Closer(r.Body)
	if b, ok := r.Body.(*body); ok {
		orig = b.orig
	}
	r.Body = &body{bytes.NewReader(data), orig, data}
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
