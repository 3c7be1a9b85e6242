package oauth1

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"github.com/caddy-oauth/caddy-oauth/provider/formbody"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClientCreds is what a client signs a request with (RFC 5849 §3.1).
type ClientCreds struct {
	// ConsumerKey and ConsumerSecret are the client credentials.
	ConsumerKey, ConsumerSecret string
	// Token and TokenSecret are the temporary or token credentials; empty
	// for a temporary-credentials request.
	Token, TokenSecret string
	// SignatureMethod is HMACSHA1 (the default), HMACSHA256, RSASHA1 or
	// PLAINTEXT.
	SignatureMethod string
	// PrivateKey signs RSA-SHA1.
	PrivateKey *rsa.PrivateKey
	// Callback is oauth_callback (§2.1), Verifier oauth_verifier (§2.3).
	Callback, Verifier string
	// Realm, if set, is sent as the header's realm (not signed).
	Realm string
	// Timestamp is oauth_timestamp, zero for the current time; Nonce is
	// oauth_nonce, empty for a random one.
	Timestamp int64
	Nonce     string
	// Version sends oauth_version="1.0" (optional in §3.1).
	Version bool
}

// Sign signs req as an RFC 5849 client and sets its Authorization header
// (§3.5.1). The signature covers the query, an
// application/x-www-form-urlencoded body (read and put back) and the
// protocol parameters (§3.4.1.3.1); the base string URI comes from
// req.URL's scheme, req.Host (or req.URL.Host) and req.URL's escaped path.
// Test code, the end-to-end tests and the example client share it.
func Sign(req *http.Request, c ClientCreds) error {
	method := c.SignatureMethod
	if method == "" {
		method = HMACSHA1
	}
	ts := c.Timestamp
	if ts == 0 {
		ts = time.Now().Unix()
	}
	nonce := c.Nonce
	if nonce == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		nonce = hex.EncodeToString(b)
	}

	oauth := []Param{
		{paramConsumerKey, c.ConsumerKey},
		{paramSignatureMethod, method},
		{paramTimestamp, strconv.FormatInt(ts, 10)},
		{paramNonce, nonce},
	}
	if c.Token != "" {
		oauth = append(oauth, Param{paramToken, c.Token})
	}
	if c.Callback != "" {
		oauth = append(oauth, Param{paramCallback, c.Callback})
	}
	if c.Verifier != "" {
		oauth = append(oauth, Param{paramVerifier, c.Verifier})
	}
	if c.Version {
		oauth = append(oauth, Param{paramVersion, "1.0"})
	}

	params := append([]Param(nil), oauth...)
	query, err := parseForm(req.URL.RawQuery)
	if err != nil {
		return err
	}
	params = append(params, query...)
	if formbody.IsForm(req) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, err := parseForm(string(body))
		if err != nil {
			return err
		}
		params = append(params, form...)
	}

	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	uri, err := BaseStringURI(req.URL.Scheme, host, req.URL.EscapedPath())
	if err != nil {
		return err
	}
	base := BaseString(req.Method, uri, NormalizeParameters(params))

	var sig string
	switch method {
	case HMACSHA1, HMACSHA256:
		sig, err = SignHMAC(method, base, c.ConsumerSecret, c.TokenSecret)
	case RSASHA1:
		if c.PrivateKey == nil {
			return errors.New("oauth1: RSA-SHA1 needs a private key")
		}
		sig, err = SignRSA(base, c.PrivateKey)
	case PLAINTEXT:
		sig = SignPlaintext(c.ConsumerSecret, c.TokenSecret)
	default:
		return errors.New("oauth1: unsupported signature method " + method)
	}
	if err != nil {
		return err
	}
	oauth = append(oauth, Param{paramSignature, sig})

	var h strings.Builder
	h.WriteString("OAuth ")
	if c.Realm != "" {
		h.WriteString(`realm="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.Realm) + `", `)
	}
	for i, p := range oauth {
		if i > 0 {
			h.WriteString(", ")
		}
		h.WriteString(Encode(p.Name) + `="` + Encode(p.Value) + `"`)
	}
	req.Header.Set("Authorization", h.String())
	return nil
}
