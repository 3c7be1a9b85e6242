package oauth1

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// oauth_problem values of the OAuth Problem Reporting extension
// (oauth.pbworks.com/ProblemReporting), the de facto vocabulary for RFC 5849
// errors. A provider.Error from this package carries one of them as Code.
const (
	ProblemParameterAbsent         = "parameter_absent"
	ProblemParameterRejected       = "parameter_rejected"
	ProblemSignatureMethodRejected = "signature_method_rejected"
	ProblemVersionRejected         = "version_rejected"
	ProblemSignatureInvalid        = "signature_invalid"
	ProblemConsumerKeyUnknown      = "consumer_key_unknown"
	ProblemTokenRejected           = "token_rejected"
	ProblemNonceUsed               = "nonce_used"
	ProblemTimestampRefused        = "timestamp_refused"
	ProblemVerifierInvalid         = "verifier_invalid"
	ProblemPermissionDenied        = "permission_denied"
)

// missingPrefix starts the description of a parameter_absent error that
// lists the missing names (space-separated).
const missingPrefix = "missing "

// badRequest is RFC 5849 §3.2's 400: unsupported, missing or duplicated
// parameters, or an unsupported signature method.
func badRequest(problem, desc string) *provider.Error {
	return provider.NewError(http.StatusBadRequest, problem, desc)
}

// unauthorized is §3.2's 401: a client, token, signature, nonce, timestamp
// or verifier that does not check out.
func unauthorized(problem, desc string) *provider.Error {
	return provider.NewError(http.StatusUnauthorized, problem, desc)
}

// WriteError answers an OAuth 1 error the way RFC 5849 §3.2 and the Problem
// Reporting extension describe: the status, a form-encoded body with
// oauth_problem and oauth_problem_advice, on a 401 a
// `WWW-Authenticate: OAuth realm="..."` challenge, and for
// timestamp_refused the oauth_acceptable_timestamps range, for
// parameter_absent the oauth_parameters_absent list.
func (s *Server) WriteError(w http.ResponseWriter, e *provider.Error) { s.writeError(w, s.realm, e) }

// writeError is WriteError under realm (require_oauth's differs).
func (s *Server) writeError(w http.ResponseWriter, realm string, e *provider.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", Scheme+` realm="`+realm+`"`)
	}
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", provider.RetryAfter)
	}
	var b strings.Builder
	b.WriteString("oauth_problem=")
	b.WriteString(Encode(e.Code))
	if e.Description != "" {
		b.WriteString("&oauth_problem_advice=")
		b.WriteString(Encode(e.Description))
	}
	if names, ok := strings.CutPrefix(e.Description, missingPrefix); ok && e.Code == ProblemParameterAbsent {
		// Problem Reporting: the absent names, "&"-separated, encoded.
		b.WriteString("&oauth_parameters_absent=")
		b.WriteString(Encode(strings.ReplaceAll(names, " ", "&")))
	}
	if e.Code == ProblemTimestampRefused {
		now := s.clock.Now().Unix()
		w := int64(s.window.Seconds())
		b.WriteString("&oauth_acceptable_timestamps=")
		b.WriteString(strconv.FormatInt(now-w, 10))
		b.WriteString("-")
		b.WriteString(strconv.FormatInt(now+w, 10))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(b.String()))
}
