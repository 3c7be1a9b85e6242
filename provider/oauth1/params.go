package oauth1

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/formbody"
)

// Param is one name/value pair of a request, decoded.
type Param struct {
	Name, Value string
}

// Protocol parameter names (RFC 5849 §3.1, §2).
const (
	paramConsumerKey     = "oauth_consumer_key"
	paramToken           = "oauth_token"
	paramSignatureMethod = "oauth_signature_method"
	paramSignature       = "oauth_signature"
	paramTimestamp       = "oauth_timestamp"
	paramNonce           = "oauth_nonce"
	paramVersion         = "oauth_version"
	paramCallback        = "oauth_callback"
	paramVerifier        = "oauth_verifier"
)

// protocolPrefix marks the reserved protocol parameter names (§3.1).
const protocolPrefix = "oauth_"

// DefaultMaxBodyBytes bounds a form body read for its parameters.
const DefaultMaxBodyBytes = 1 << 20

// maxHeaderParams bounds the pairs an Authorization header may carry.
const maxHeaderParams = 64

// ErrNotOAuth is ParseAuthorizationHeader's error for a header of another
// scheme (Basic, Bearer).
var ErrNotOAuth = errors.New("not an OAuth authorization header")

// requestParams is what §3.4.1.3.1 collects from a request.
type requestParams struct {
	// all holds every parameter that enters the base string: header
	// (without realm), form body and query, oauth_signature excluded.
	all []Param
	// oauth holds each protocol parameter, oauth_signature included; a
	// name appearing twice is refused while collecting.
	oauth map[string]string
}

// get returns the single value of a non-protocol parameter (e.g. scope), or
// an error if it appears more than once.
func (p *requestParams) get(name string) (string, *provider.Error) {
	var v string
	n := 0
	for _, q := range p.all {
		if q.Name == name {
			v = q.Value
			n++
		}
	}
	if n > 1 {
		return "", badRequest(ProblemParameterRejected, "parameter "+name+" repeated")
	}
	return v, nil
}

// ParseAuthorizationHeader parses an RFC 5849 §3.5.1 Authorization header
// value: the case-insensitive scheme "OAuth" followed by comma-separated
// name="value" pairs (optional whitespace around them, as RFC 2617 allows),
// names and values §3.6-encoded (realm excepted). It returns the decoded pairs in order,
// realm included (callers drop it from the base string). Quoted values may
// use RFC 2617 quoted-pairs; unquoted token values are tolerated.
func ParseAuthorizationHeader(v string) ([]Param, error) {
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return nil, ErrNotOAuth
	}
	// One slot per comma-separated element at most (a comma inside a
	// quoted value only overestimates).
	out := make([]Param, 0, min(strings.Count(rest, ",")+1, maxHeaderParams))
	i := 0
	for {
		// Skip whitespace and empty list elements (RFC 7230 §7).
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == ',') {
			i++
		}
		if i == len(rest) {
			if len(out) == 0 {
				return nil, nil
			}
			return out, nil
		}
		if len(out) == maxHeaderParams {
			return nil, errors.New("too many parameters")
		}
		start := i
		for i < len(rest) && isTokenChar(rest[i]) {
			i++
		}
		rawName := rest[start:i]
		if rawName == "" {
			return nil, errors.New("malformed parameter name")
		}
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		if i == len(rest) || rest[i] != '=' {
			return nil, errors.New("parameter " + rawName + " has no value")
		}
		i++
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		var rawValue string
		if i < len(rest) && rest[i] == '"' {
			i++
			end := i
			for end < len(rest) && rest[end] != '"' && rest[end] != '\\' {
				end++
			}
			if end < len(rest) && rest[end] == '"' {
				// No quoted-pair: the value is the text between the
				// quotes, no copy needed.
				rawValue = rest[i:end]
				i = end + 1
			} else {
				var b []byte
				closed := false
				for i < len(rest) {
					c := rest[i]
					i++
					if c == '"' {
						closed = true
						break
					}
					if c == '\\' {
						if i == len(rest) {
							break
						}
						c = rest[i]
						i++
					}
					b = append(b, c)
				}
				if !closed {
					return nil, errors.New("unterminated quoted value")
				}
				rawValue = string(b)
			}
		} else {
			start := i
			for i < len(rest) && isTokenChar(rest[i]) {
				i++
			}
			rawValue = rest[start:i]
		}
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		if i < len(rest) && rest[i] != ',' {
			return nil, errors.New("expected a comma after parameter " + rawName)
		}
		name, err := decodeHeaderValue(rawName)
		if err != nil {
			return nil, err
		}
		value := rawValue
		// realm is an RFC 2617 quoted-string, not §3.6-encoded (§3.5.1).
		if name != "realm" {
			if value, err = decodeHeaderValue(rawValue); err != nil {
				return nil, err
			}
		}
		out = append(out, Param{Name: name, Value: value})
	}
}

// isTokenChar reports whether c is an RFC 7230 tchar.
func isTokenChar(c byte) bool {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseForm splits an application/x-www-form-urlencoded string into decoded
// pairs, keeping order and empty values ("c2" is c2=""), "+" as a space
// (§3.4.1.3.1). Unlike url.ParseQuery it fails on any bad escape instead of
// dropping the pair, so the server never signs something else than the
// client did.
func parseForm(s string) ([]Param, error) {
	var out []Param
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := decodeFormValue(rawName)
		if err != nil {
			return nil, err
		}
		value, err := decodeFormValue(rawValue)
		if err != nil {
			return nil, err
		}
		out = append(out, Param{Name: name, Value: value})
	}
	return out, nil
}

// collectParams gathers the request parameters from the three sources of
// §3.4.1.3.1 (Authorization header without realm, form body, query) and
// checks the §3.1 rule that no protocol parameter appears twice, in one
// source or across them. The body is restored for whoever reads it next.
func collectParams(r *http.Request, maxBody int64) (*requestParams, *provider.Error) {
	// Sized for the usual request: the seven protocol parameters of
	// §3.1 and a few of the query's.
	p := &requestParams{all: make([]Param, 0, 12), oauth: make(map[string]string, 8)}
	add := func(list []Param) *provider.Error {
		for _, q := range list {
			if strings.HasPrefix(q.Name, protocolPrefix) {
				if _, dup := p.oauth[q.Name]; dup {
					return badRequest(ProblemParameterRejected, "parameter "+q.Name+" repeated")
				}
				p.oauth[q.Name] = q.Value
				if q.Name == paramSignature {
					continue
				}
			}
			p.all = append(p.all, q)
		}
		return nil
	}

	found := false
	for _, h := range r.Header.Values("Authorization") {
		list, err := ParseAuthorizationHeader(h)
		if errors.Is(err, ErrNotOAuth) {
			continue
		}
		if err != nil {
			return nil, badRequest(ProblemParameterRejected, "malformed Authorization header")
		}
		if found {
			return nil, badRequest(ProblemParameterRejected, "more than one OAuth Authorization header")
		}
		found = true
		kept := list[:0]
		for _, q := range list {
			// §3.4.1.3.1: realm is not a request parameter.
			if q.Name != "realm" {
				kept = append(kept, q)
			}
		}
		if e := add(kept); e != nil {
			return nil, e
		}
	}

	if formbody.IsForm(r) {
		body, tooBig, err := formbody.Read(r, maxBody)
		if err != nil {
			return nil, badRequest(ProblemParameterRejected, "request body could not be read")
		}
		if tooBig {
			return nil, provider.NewError(http.StatusRequestEntityTooLarge, ProblemParameterRejected, "form body too large")
		}
		list, perr := parseForm(string(body))
		if perr != nil {
			return nil, badRequest(ProblemParameterRejected, "malformed form body")
		}
		if e := add(list); e != nil {
			return nil, e
		}
	}

	list, err := parseForm(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest(ProblemParameterRejected, "malformed query")
	}
	if e := add(list); e != nil {
		return nil, e
	}
	return p, nil
}

// HasCredentials reports whether r carries OAuth 1 protocol parameters at
// all: an Authorization header with the OAuth scheme, or an oauth_* name in
// the query or form body. The glue uses it to pick the protocol of a
// protected-resource request; a form body read for it is restored.
func (s *Server) HasCredentials(r *http.Request) bool {
	for _, h := range r.Header.Values("Authorization") {
		if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "OAuth") {
			return true
		}
	}
	if list, err := parseForm(r.URL.RawQuery); err == nil && hasProtocolParam(list) {
		return true
	}
	if formbody.IsForm(r) {
		body, tooBig, err := formbody.Read(r, s.maxBody)
		if err == nil && !tooBig {
			if list, err := parseForm(string(body)); err == nil && hasProtocolParam(list) {
				return true
			}
		}
	}
	return false
}

func hasProtocolParam(list []Param) bool {
	for _, q := range list {
		if strings.HasPrefix(q.Name, protocolPrefix) {
			return true
		}
	}
	return false
}
