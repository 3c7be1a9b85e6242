package oauth1

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

var (
	csrfField     = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	tokenField    = regexp.MustCompile(`name="oauth_token" value="([^"]+)"`)
	verifierValue = regexp.MustCompile(`<span class="value"[^>]*>([^<]+)</span>`)
)

// flowServer mounts the engine like the glue would, with "alice" logged
// in, and a protected /api/me that echoes the identity and what reaches
// the backend after StripParams.
func flowServer(t *testing.T, e *env, useTLS bool) *httptest.Server {
	t.Helper()
	reqURL := func(r *http.Request) RequestURL {
		u := RequestURL{Scheme: "http", Host: r.Host, Loopback: true}
		if r.TLS != nil {
			u.Scheme, u.Secure = "https", true
		}
		return u
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth1/request_token", func(w http.ResponseWriter, r *http.Request) { e.srv.RequestToken(w, r, reqURL(r)) })
	mux.HandleFunc("/oauth1/authorize", func(w http.ResponseWriter, r *http.Request) { e.srv.Authorize(w, r, reqURL(r), "alice") })
	mux.HandleFunc("/oauth1/access_token", func(w http.ResponseWriter, r *http.Request) { e.srv.AccessToken(w, r, reqURL(r)) })
	mux.HandleFunc("/api/me", func(w http.ResponseWriter, r *http.Request) {
		id, perr := e.srv.Verify(r, reqURL(r))
		if perr != nil {
			e.srv.WriteError(w, perr)
			return
		}
		StripParams(r)
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, url.Values{
			"user": {id.User}, "client": {id.ClientID}, "scope": {provider.FormatScope(id.Scopes)},
			"query": {r.URL.RawQuery}, "body": {string(body)}, "authorization": {r.Header.Get("Authorization")},
		}.Encode())
	})
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv
}

// flowClient drives a server as an RFC 5849 client would.
type flowClient struct {
	t     *testing.T
	srv   *httptest.Server
	hc    *http.Client
	creds ClientCreds
	clock *testClock
}

func newFlowClient(t *testing.T, srv *httptest.Server, clock *testClock, creds ClientCreds) *flowClient {
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &flowClient{t: t, srv: srv, hc: hc, creds: creds, clock: clock}
}

// do signs and sends a request; body, if set, is a form.
func (c *flowClient) do(method, path string, body url.Values, mutate func(*ClientCreds)) (*http.Response, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	creds := c.creds
	creds.Timestamp = c.clock.Now().Unix()
	if mutate != nil {
		mutate(&creds)
	}
	if err := Sign(req, creds); err != nil {
		c.t.Fatal(err)
	}
	return c.send(req)
}

func (c *flowClient) send(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// threeLegged runs §2.1-§2.3 and returns the token credentials.
func (c *flowClient) threeLegged(callback string) (token, secret string) {
	t := c.t
	t.Helper()
	resp, body := c.do(http.MethodPost, "/oauth1/request_token", nil, func(cr *ClientCreds) { cr.Callback = callback })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request_token: %d %s", resp.StatusCode, body)
	}
	v := mustQuery(t, body)
	if v.Get("oauth_callback_confirmed") != "true" {
		t.Fatalf("request_token response %q", body)
	}
	temp, tempSecret := v.Get("oauth_token"), v.Get("oauth_token_secret")

	// The resource owner's browser: GET shows the consent form.
	resp, page := c.send(mustReq(t, http.MethodGet, c.srv.URL+"/oauth1/authorize?oauth_token="+url.QueryEscape(temp), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize GET: %d %s", resp.StatusCode, page)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("consent page can be framed")
	}
	csrf := csrfField.FindStringSubmatch(page)
	tf := tokenField.FindStringSubmatch(page)
	if csrf == nil || tf == nil || html.UnescapeString(tf[1]) != temp {
		t.Fatalf("consent page lacks the form fields:\n%s", page)
	}
	form := url.Values{"oauth_token": {temp}, "csrf_token": {html.UnescapeString(csrf[1])}, "decision": {"approve"}}
	req := mustReq(t, http.MethodPost, c.srv.URL+"/oauth1/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, page = c.send(req)
	var verifier string
	if callback == callbackOOB {
		m := verifierValue.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("oob page: %d %s", resp.StatusCode, page)
		}
		verifier = html.UnescapeString(m[1])
	} else {
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("authorize POST: %d %s", resp.StatusCode, page)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(loc.String(), callback) {
			t.Fatalf("Location %q", resp.Header.Get("Location"))
		}
		if loc.Query().Get("oauth_token") != temp {
			t.Fatalf("callback lacks oauth_token: %s", loc)
		}
		verifier = loc.Query().Get("oauth_verifier")
	}
	if len(verifier) < 43 {
		t.Fatalf("verifier %q is not 256 bits", verifier)
	}

	resp, body = c.do(http.MethodPost, "/oauth1/access_token", nil, func(cr *ClientCreds) {
		cr.Token, cr.TokenSecret, cr.Verifier = temp, tempSecret, verifier
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("access_token: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("token response cacheable")
	}
	v = mustQuery(t, body)
	return v.Get("oauth_token"), v.Get("oauth_token_secret")
}

func mustReq(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rsaPEM(t testing.TB, key *rsa.PrivateKey, kind string) string {
	t.Helper()
	switch kind {
	case "PUBLIC KEY":
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
	case "RSA PUBLIC KEY":
		return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}))
	case "CERTIFICATE":
		tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
	}
	t.Fatalf("unknown PEM kind %s", kind)
	return ""
}

func TestThreeLeggedFlowEverySignatureMethod(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method string
		tls    bool
	}{
		{HMACSHA1, false},
		{HMACSHA256, false},
		{RSASHA1, false},
		{PLAINTEXT, true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.Scopes = []string{"read", "write", "admin"}
				c.DefaultScopes = []string{"read"}
			})
			const cb = "http://client.example/cb?session=1"
			e.addClient(t, "printer", "s3cret with space&amp", func(c *store.Client) {
				c.CallbackURIs = []string{cb}
				c.Scopes = []string{"read", "write"}
				if tc.method == RSASHA1 {
					c.SealedSecret = nil // RSA clients need no secret
					c.RSAPublicKeyPEM = rsaPEM(t, key, "PUBLIC KEY")
				}
			})
			srv := flowServer(t, e, tc.tls)
			c := newFlowClient(t, srv, e.clock, ClientCreds{
				ConsumerKey: "printer", ConsumerSecret: "s3cret with space&amp",
				SignatureMethod: tc.method, PrivateKey: key,
			})
			token, secret := c.threeLegged(cb)

			c.creds.Token, c.creds.TokenSecret = token, secret
			// A form POST with its own parameters, some of them in the query.
			resp, body := c.do(http.MethodPost, "/api/me?x=1&y=a+b", url.Values{"msg": {"héllo wörld"}, "z": {"1", "2"}}, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("resource: %d %s", resp.StatusCode, body)
			}
			v := mustQuery(t, body)
			if v.Get("user") != "alice" || v.Get("client") != "printer" || v.Get("scope") != "read" {
				t.Fatalf("identity %v", v)
			}
			if v.Get("query") != "x=1&y=a+b" || v.Get("authorization") != "" {
				t.Fatalf("credentials not stripped: %v", v)
			}
			if fb := mustQuery(t, v.Get("body")); fb.Get("msg") != "héllo wörld" || len(fb["z"]) != 2 || hasOAuth(fb) {
				t.Fatalf("body reaching the backend: %q", v.Get("body"))
			}

			// Temporary credentials are not access tokens; the token
			// credentials are not temporary credentials.
			resp, body = c.do(http.MethodGet, "/api/me", nil, func(cr *ClientCreds) { cr.Token = "nonsense" })
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, ProblemTokenRejected) {
				t.Fatalf("unknown token: %d %s", resp.StatusCode, body)
			}
			// No event (the audit log) carries a credential.
			for _, ev := range e.eventsCopy() {
				text := strings.Join(append([]string{ev.Name, ev.ClientID, ev.User, ev.Reason, ev.Grant, ev.Protocol}, ev.Scopes...), " ")
				for _, cred := range []string{token, secret, c.creds.ConsumerSecret} {
					if strings.Contains(text, cred) {
						t.Fatalf("event %+v carries a credential", ev)
					}
				}
			}
		})
	}
}

func hasOAuth(v url.Values) bool {
	for k := range v {
		if strings.HasPrefix(k, "oauth_") {
			return true
		}
	}
	return false
}

func TestThreeLeggedFlowOutOfBand(t *testing.T) {
	e := newEnv(t, nil)
	e.addClient(t, "cli", "secret", nil) // no callbacks registered: oob only is fine
	srv := flowServer(t, e, false)
	c := newFlowClient(t, srv, e.clock, ClientCreds{ConsumerKey: "cli", ConsumerSecret: "secret"})
	token, secret := c.threeLegged(callbackOOB)
	c.creds.Token, c.creds.TokenSecret = token, secret
	if resp, body := c.do(http.MethodGet, "/api/me", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("resource: %d %s", resp.StatusCode, body)
	}
}
