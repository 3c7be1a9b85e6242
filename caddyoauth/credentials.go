package caddyoauth

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

// maxFormBody bounds the urlencoded body read for an RFC 6750 §2.2 token.
// A larger body is passed on unread (and cannot carry the token).
const maxFormBody = 1 << 20

// paramAccessToken is the RFC 6750 §2.2/§2.3 parameter name.
const paramAccessToken = "access_token"

// credSource says where an OAuth 2 token came from, so exactly that is
// removed before the request goes upstream.
type credSource uint8

const (
	fromHeader credSource = iota + 1
	fromBody
	fromQuery
)

// credential is what a protected-resource request presents.
type credential struct {
	// protocol is protocolOAuth1, protocolOAuth2, or "" for none.
	protocol string
	// token is the OAuth 2 bearer token and source where it was found.
	token  string
	source credSource
	// hint explains a missing credential in the 401 body.
	hint string
}

// findCredential picks the request's one credential. RFC 6750 §2: a client
// must not send a token in more than one way (400 invalid_request); an
// OAuth 1 request is recognized by its Authorization scheme or its oauth_*
// parameters (RFC 5849 §3.5).
func (h *RequireOAuth) findCredential(r *http.Request, v verifiers) (credential, *provider.Error) {
	var c credential
	switch auth := r.Header["Authorization"]; len(auth) {
	case 0:
	case 1:
		scheme, rest, _ := strings.Cut(auth[0], " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			if v.o2 == nil {
				return credential{hint: "OAuth 2 bearer tokens are not accepted here"}, nil
			}
			tok := strings.TrimSpace(rest)
			if tok == "" {
				return c, provider.ErrInvalidRequest("empty bearer token")
			}
			c = credential{protocol: protocolOAuth2, token: tok, source: fromHeader}
		case strings.EqualFold(scheme, "OAuth"):
			if v.o1 == nil {
				return credential{hint: "OAuth 1 requests are not accepted here"}, nil
			}
			return credential{protocol: protocolOAuth1}, nil
		}
	default:
		return c, provider.ErrInvalidRequest("more than one Authorization header")
	}
	if c.protocol == "" && v.o1 != nil && v.o1.HasCredentials(r) {
		return credential{protocol: protocolOAuth1}, nil
	}
	if v.o2 == nil {
		return c, nil
	}

	if isFormRequest(r) {
		body, ok, err := readFormBody(r)
		if err != nil {
			return c, provider.ErrInvalidRequest("the request body could not be read")
		}
		if ok {
			tok, n := findParam(string(body), paramAccessToken)
			switch {
			case n > 1:
				return c, provider.ErrInvalidRequest("access_token repeated")
			case n == 1 && c.protocol != "":
				return c, provider.ErrInvalidRequest("the access token was sent in more than one way")
			case n == 1:
				c = credential{protocol: protocolOAuth2, token: tok, source: fromBody}
			}
		}
	}

	if q := r.URL.RawQuery; q != "" && (strings.Contains(q, "access") || strings.IndexByte(q, '%') >= 0) {
		tok, n := findParam(q, paramAccessToken)
		switch {
		case n == 0:
		case !h.AllowQueryToken && c.protocol == "":
			return c, provider.ErrInvalidRequest("an access_token in the query is not accepted; send it in the Authorization header")
		case n > 1:
			return c, provider.ErrInvalidRequest("access_token repeated")
		case c.protocol != "":
			return c, provider.ErrInvalidRequest("the access token was sent in more than one way")
		default:
			c = credential{protocol: protocolOAuth2, token: tok, source: fromQuery}
		}
	}
	return c, nil
}

// stripCredentials removes the credential so the backend never sees it.
func (h *RequireOAuth) stripCredentials(r *http.Request, c credential) {
	if c.protocol == protocolOAuth1 {
		oauth1.StripParams(r)
		return
	}
	switch c.source {
	case fromHeader:
		delete(r.Header, "Authorization")
	case fromQuery:
		r.URL.RawQuery = removeParam(r.URL.RawQuery, paramAccessToken)
		if r.RequestURI != "" {
			r.RequestURI = r.URL.RequestURI()
		}
	case fromBody:
		body, ok, err := readFormBody(r)
		if err != nil || !ok {
			return // read once already; cannot happen short of a broken reader
		}
		setBody(r, []byte(removeParam(string(body), paramAccessToken)))
	}
}

// isFormRequest: a request whose body may carry an RFC 6750 §2.2 token,
// an application/x-www-form-urlencoded entity of a method with body
// semantics (never GET).
func isFormRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
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
	return len(v) == len(form) || v[len(form)] == ';' || v[len(form)] == ' '
}

// bodyCloser is a body read into memory, still closing the original.
type bodyCloser struct {
	*bytes.Reader
	orig io.Closer
	data []byte
}

// Close closes the original body.
func (b bodyCloser) Close() error { return b.orig.Close() }

// readFormBody returns the body (ok) if it is at most maxFormBody bytes,
// and always puts back a body yielding the same bytes, so the request is
// proxied intact.
func readFormBody(r *http.Request) (body []byte, ok bool, err error) {
	if b, isOurs := r.Body.(bodyCloser); isOurs {
		r.Body = bodyCloser{bytes.NewReader(b.data), b.orig, b.data}
		return b.data, true, nil
	}
	if r.ContentLength > maxFormBody {
		return nil, false, nil
	}
	orig := r.Body
	body, err = io.ReadAll(io.LimitReader(orig, maxFormBody+1))
	if err != nil || len(body) > maxFormBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		return nil, false, err
	}
	r.Body = bodyCloser{bytes.NewReader(body), orig, body}
	return body, true, nil
}

// setBody replaces a read body, fixing the length headers.
func setBody(r *http.Request, data []byte) {
	orig := io.Closer(r.Body)
	if b, ok := r.Body.(bodyCloser); ok {
		orig = b.orig
	}
	r.Body = bodyCloser{bytes.NewReader(data), orig, data}
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.Form, r.PostForm = nil, nil
}

// findParam returns the decoded value of name in a urlencoded string and
// how many times name occurs.
func findParam(s, name string) (value string, n int) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if !paramNameIs(k, name) {
			continue
		}
		n++
		if n == 1 {
			if dv, err := url.QueryUnescape(v); err == nil {
				value = dv
			} else {
				value = v
			}
		}
	}
	return value, n
}

// paramNameIs compares a raw (possibly percent-encoded) name.
func paramNameIs(raw, name string) bool {
	if raw == name {
		return true
	}
	if !strings.ContainsAny(raw, "%+") {
		return false
	}
	d, err := url.QueryUnescape(raw)
	return err == nil && d == name
}

// removeParam drops every name=... pair, keeping the others byte for byte.
func removeParam(s, name string) string {
	var kept []string
	for _, pair := range strings.Split(s, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if !paramNameIs(k, name) {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}
