package oauth2

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// MaxBodyBytes bounds every request body the engine reads; OAuth requests
// are small, so anything bigger is refused before it costs memory.
const MaxBodyBytes = 64 << 10

// readForm reads a POST application/x-www-form-urlencoded body, as the
// token, revocation and introspection endpoints require (RFC 6749 §3.2,
// RFC 7009 §2.1, RFC 7662 §2.1). Parameters in the URL query are ignored:
// credentials have no business there. A repeated parameter is
// invalid_request (RFC 6749 §3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *provider.Error) {
	if r.Method != http.MethodPost {
		return nil, provider.NewError(http.StatusMethodNotAllowed, "invalid_request", "the method must be POST")
	}
	form, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if k := repeated(form); k != "" {
		return nil, provider.ErrInvalidRequest("parameter " + k + " is repeated")
	}
	return form, nil
}

// readBody parses a size-limited urlencoded body.
func readBody(w http.ResponseWriter, r *http.Request) (url.Values, *provider.Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, provider.ErrInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if r.Body == nil {
		return url.Values{}, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, provider.NewError(http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
		}
		return nil, provider.ErrInvalidRequest("cannot read request body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, provider.ErrInvalidRequest("malformed form body")
	}
	return form, nil
}

// repeated returns the name of a parameter given more than once, or "".
// Empty values count: "a=&a=x" is still two values (RFC 6749 §3.1).
func repeated(form url.Values) string {
	for k, vs := range form {
		if len(vs) > 1 {
			return provider.SafeText(k)
		}
	}
	return ""
}
