package oauth1

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Bounds on protocol parameter values; nothing legitimate comes close.
const (
	maxNonceLen     = 255
	maxTimestampLen = 18
)

// verified is a request whose signature, timestamp, nonce, client and token
// all checked out.
type verified struct {
	params *requestParams
	client *store.Client
	// token is the temporary credentials of an access token request; nil
	// for a temporary-credentials request (§2.1) and for a protected
	// resource request, whose token credentials are access.
	token  *store.Token
	access *accessEntry
}

// verifyRequest authenticates a signed request (RFC 5849 §3.2). kind is the
// token kind the request must carry, or 0 for a request that is signed by
// the client alone (temporary credentials); required names protocol
// parameters the endpoint needs beyond the §3.1 set.
func (s *Server) verifyRequest(ctx context.Context, r *http.Request, u RequestURL, kind store.TokenKind, required ...string) (*verified, *provider.Error) {
	p, e := collectParams(r, s.maxBody)
	if e != nil {
		return nil, e
	}
	if len(p.oauth) == 0 {
		// No credentials at all: the §3.2 challenge, like RFC 6750's
		// answer to a request without a token.
		return nil, unauthorized(ProblemParameterAbsent, "no OAuth credentials")
	}
	// §3.1: oauth_version is optional, but if present it must be "1.0".
	if v, ok := p.oauth[paramVersion]; ok && v != "1.0" {
		return nil, badRequest(ProblemVersionRejected, "oauth_version must be 1.0")
	}

	method := p.oauth[paramSignatureMethod]
	need := []string{paramConsumerKey, paramSignatureMethod, paramSignature}
	_, hasTS := p.oauth[paramTimestamp]
	_, hasNonce := p.oauth[paramNonce]
	// §3.3: timestamp and nonce may be omitted with PLAINTEXT only.
	if method != PLAINTEXT || hasTS || hasNonce {
		need = append(need, paramTimestamp, paramNonce)
	}
	if kind != 0 {
		need = append(need, paramToken)
	}
	need = append(need, required...)
	var missing []string
	for _, n := range need {
		if p.oauth[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, badRequest(ProblemParameterAbsent, missingPrefix+strings.Join(missing, " "))
	}
	if kind == 0 && p.oauth[paramToken] != "" {
		// §2.1: a temporary-credentials request carries no token (an
		// empty oauth_token may be sent).
		return nil, badRequest(ProblemParameterRejected, "oauth_token not allowed here")
	}

	if !supportedMethod(method) {
		return nil, badRequest(ProblemSignatureMethodRejected, "unsupported signature method")
	}
	if method == PLAINTEXT && !u.Secure && !(u.Loopback && s.cfg.AllowInsecurePlaintext) {
		// §3.4.4: PLAINTEXT sends the secrets; only over TLS.
		return nil, badRequest(ProblemSignatureMethodRejected, "PLAINTEXT requires TLS")
	}

	var ts int64
	if ts, e = s.checkTimestamp(p); e != nil {
		return nil, e
	}
	nonce := p.oauth[paramNonce]
	if len(nonce) > maxNonceLen {
		return nil, badRequest(ProblemParameterRejected, "oauth_nonce too long")
	}

	v := &verified{params: p}
	var key string
	var ks keyState
	if kind == store.KindOAuth1Access {
		// Protected resource requests: every one of them gets here, so
		// the client and token credentials come from the cache.
		ent, e := s.accessCredentials(ctx, p.oauth[paramConsumerKey], p.oauth[paramToken])
		if e != nil {
			return nil, e
		}
		v.client, v.access, key, ks = ent.client, ent, ent.key, ent.keyState
	} else {
		client, e := s.lookupClient(ctx, p.oauth[paramConsumerKey])
		if e != nil {
			return nil, e
		}
		v.client = client
		tokenSecret := ""
		if kind != 0 {
			tok, e := s.lookupToken(ctx, provider.HashToken(p.oauth[paramToken]), kind, client.ID)
			if e != nil {
				return nil, e
			}
			v.token = tok
			secret, err := s.cfg.Sealer.Open(PurposeTokenSecret, tok.SealedSecret)
			if err != nil {
				return nil, provider.ErrStore(err)
			}
			tokenSecret = string(secret)
		}
		key, ks = s.clientKey(client, tokenSecret)
	}

	if e := s.checkSignature(r, u, p, method, v.client, key, ks); e != nil {
		return nil, e
	}

	// §3.3: the nonce is checked after the signature, so that only the
	// client can fill the nonce store, and atomically in the store so a
	// replay is refused on every instance and after a restart.
	if hasNonce || hasTS {
		fresh, err := s.st.UseNonce(ctx, nonceKey(v.client.ID, p.oauth[paramToken], ts, nonce), 2*s.window)
		if err != nil {
			return nil, provider.ErrStore(err)
		}
		if !fresh {
			// A replayed request (or a client reusing nonces): worth an
			// operator's attention, unlike a bad signature.
			ev := provider.Event{Name: "nonce_replayed", Protocol: provider.ProtocolOAuth1, ClientID: v.client.ID,
				Reason: "oauth_nonce already used with this timestamp and token"}
			if v.access != nil {
				ev.User = v.access.id.User
			}
			s.cfg.Audit.Emit(ev)
			return nil, unauthorized(ProblemNonceUsed, "nonce already used")
		}
	}
	return v, nil
}

// checkTimestamp parses oauth_timestamp (seconds since the epoch, §3.3) and
// refuses it outside the window around the server's clock. PLAINTEXT
// requests without one pass.
func (s *Server) checkTimestamp(p *requestParams) (int64, *provider.Error) {
	raw, ok := p.oauth[paramTimestamp]
	if !ok {
		return 0, nil
	}
	if raw == "" || len(raw) > maxTimestampLen {
		return 0, badRequest(ProblemParameterRejected, "malformed oauth_timestamp")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return 0, badRequest(ProblemParameterRejected, "malformed oauth_timestamp")
		}
	}
	ts, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, badRequest(ProblemParameterRejected, "malformed oauth_timestamp")
	}
	now := s.clock.Now().Unix()
	w := int64(s.window.Seconds())
	if ts < now-w || ts > now+w {
		return 0, unauthorized(ProblemTimestampRefused, "timestamp outside the accepted window")
	}
	return ts, nil
}

// lookupToken finds the live token whose value hashes to hash, of the given
// kind and issued to clientID. A
// token of another kind is refused exactly like an unknown one, so
// temporary credentials never work as token credentials and vice versa.
func (s *Server) lookupToken(ctx context.Context, hash []byte, kind store.TokenKind, clientID string) (*store.Token, *provider.Error) {
	tok, err := s.st.GetToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized(ProblemTokenRejected, "unknown or expired token")
	}
	if err != nil {
		return nil, provider.ErrStore(err)
	}
	if tok.Kind != kind || tok.ClientID != clientID {
		return nil, unauthorized(ProblemTokenRejected, "unknown or expired token")
	}
	if !tok.ExpiresAt.IsZero() && !s.clock.Now().Before(tok.ExpiresAt) {
		return nil, unauthorized(ProblemTokenRejected, "unknown or expired token")
	}
	return tok, nil
}

// checkSignature recomputes the signature over the §3.4.1 base string and
// compares it in constant time. key is the client's HMAC key (and
// PLAINTEXT signature) with the token secret, ks why it is missing.
func (s *Server) checkSignature(r *http.Request, u RequestURL, p *requestParams, method string, client *store.Client, key string, ks keyState) *provider.Error {
	sig := p.oauth[paramSignature]
	if method == RSASHA1 {
		if client.RSAPublicKeyPEM == "" {
			return badRequest(ProblemSignatureMethodRejected, "client has no RSA key")
		}
		pub, err := s.rsaKey(client.RSAPublicKeyPEM)
		if err != nil {
			// A registered key that does not parse: refuse the method
			// rather than fail the server (the glue validates keys too).
			return badRequest(ProblemSignatureMethodRejected, "client RSA key is unusable")
		}
		base, e := requestBaseString(nil, r, u, p)
		if e != nil {
			return e
		}
		if !verifyRSA(base, sig, pub) {
			return unauthorized(ProblemSignatureInvalid, "signature does not verify")
		}
		return nil
	}

	if e := ks.err(); e != nil {
		return e
	}
	var ok bool
	if method == PLAINTEXT {
		ok = verifyPlaintext(sig, key)
	} else {
		var buf [512]byte
		base, e := requestBaseString(buf[:0], r, u, p)
		if e != nil {
			return e
		}
		ok = verifyHMAC(method, base, sig, key)
	}
	if !ok {
		return unauthorized(ProblemSignatureInvalid, "signature does not verify")
	}
	return nil
}

// requestBaseString rebuilds the §3.4.1 base string of r as the client saw
// it, appended to dst.
func requestBaseString(dst []byte, r *http.Request, u RequestURL, p *requestParams) ([]byte, *provider.Error) {
	scheme, host, path := u.Scheme, u.Host, u.Path
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	if host == "" {
		host = r.Host
	}
	if path == "" {
		path = r.URL.EscapedPath()
	}
	base, err := appendBaseString(dst, r.Method, scheme, host, path, p.all)
	if err != nil {
		return nil, badRequest(ProblemParameterRejected, "request URI cannot be rebuilt")
	}
	return base, nil
}

// nonceKey names a nonce record: §3.3 makes a nonce unique per client,
// token, timestamp and nonce. Each part is §3.6-encoded (so "&" cannot
// occur inside one) and the whole hashed, so the key is bounded and holds
// no token identifier in the clear.
func nonceKey(clientID, token string, ts int64, nonce string) string {
	// Built on the stack: every signed request makes one.
	var buf [256]byte
	b := appendEncode(buf[:0], clientID)
	b = append(b, '&')
	b = appendEncode(b, token)
	b = append(b, '&')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '&')
	b = appendEncode(b, nonce)
	sum := sha256.Sum256(b)
	const prefix = "oauth1/"
	var key [len(prefix) + 43]byte // 43: unpadded base64 of 32 bytes
	copy(key[:], prefix)
	base64.RawURLEncoding.Encode(key[len(prefix):], sum[:])
	return string(key[:])
}

// Verify authenticates a protected-resource request signed with token
// credentials (§3) and returns who it acts for. It reads a form body for
// its parameters and puts back the same bytes, so the request can be
// proxied unchanged. Render its error with WriteError.
//
// The client and token credentials are cached in memory after the first
// request (Config.TokenCacheSize; see accessCredentials): a revocation,
// however made, takes effect on the next request. The signature, the
// timestamp and the nonce are checked on every request; the nonce is
// durable in the store before Verify returns. The Identity returned is the
// caller's own copy.
func (s *Server) Verify(r *http.Request, u RequestURL) (*provider.Identity, *provider.Error) {
	v, e := s.verifyRequest(r.Context(), r, u, store.KindOAuth1Access)
	if e != nil {
		return nil, e
	}
	return v.access.identity(), nil
}
