package oauth1

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

var apiURL = RequestURL{Scheme: "http", Host: "api.example"}

// signedReq builds a request to http://api.example and signs it with creds
// at the env's clock (unless creds.Timestamp is set).
func (e *env) signedReq(t *testing.T, method, target string, form url.Values, creds ClientCreds) *http.Request {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, "http://api.example"+target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "http://api.example"+target, nil)
	}
	if creds.Timestamp == 0 {
		creds.Timestamp = e.clock.Now().Unix()
	}
	if err := Sign(r, creds); err != nil {
		t.Fatal(err)
	}
	return r
}

// refusalEnv has client c1 (secret sec1) with access token at1 (bob) and
// authorized temporary credentials rt1 (verifier ver1), and client c2 with
// access token at2.
func refusalEnv(t *testing.T, mutate func(*Config)) *env {
	e := newEnv(t, mutate)
	e.addClient(t, "c1", "sec1", func(c *store.Client) { c.CallbackURIs = []string{"https://c1.example/cb"} })
	e.addClient(t, "c2", "sec2", nil)
	e.addClient(t, "rsaonly", "", func(c *store.Client) { c.Public = true })
	e.seedToken(t, store.KindOAuth1Access, "c1", "at1", "ats1", func(tok *store.Token) { tok.User = "bob"; tok.Scopes = []string{"read"} })
	e.seedToken(t, store.KindOAuth1Access, "c2", "at2", "ats2", func(tok *store.Token) { tok.User = "bob" })
	e.seedToken(t, store.KindOAuth1Request, "c1", "rt1", "rts1", func(tok *store.Token) {
		tok.User = "bob"
		tok.Callback = "https://c1.example/cb"
		tok.VerifierHash = provider.HashToken("ver1")
		tok.ExpiresAt = e.clock.Now().Add(10 * time.Minute)
	})
	return e
}

var c1Access = ClientCreds{ConsumerKey: "c1", ConsumerSecret: "sec1", Token: "at1", TokenSecret: "ats1"}

func TestVerifyRefusals(t *testing.T) {
	type tc struct {
		name    string
		setup   func(*testing.T, *env)
		req     func(*testing.T, *env) *http.Request
		u       *RequestURL
		status  int
		problem string
	}
	with := func(mut func(*ClientCreds)) ClientCreds {
		c := c1Access
		mut(&c)
		return c
	}
	cases := []tc{
		{name: "a correctly signed request passes", status: 200, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r?a=1", nil, c1Access)
		}},
		{name: "oauth_version 1.0 passes", status: 200, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Version = true }))
		}},
		{name: "a timestamp at the edge of the window passes", status: 200, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Timestamp = e.clock.Now().Unix() - 300 }))
		}},
		{name: "a replayed nonce is refused", status: 401, problem: ProblemNonceUsed, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Nonce = "n-once" }))
			if id, _ := e.srv.Verify(r.Clone(context.Background()), apiURL); id == nil {
				t.Fatal("first use refused")
			}
			return r
		}},
		{name: "a stale timestamp is refused", status: 401, problem: ProblemTimestampRefused, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Timestamp = e.clock.Now().Unix() - 301 }))
		}},
		{name: "a future timestamp is refused", status: 401, problem: ProblemTimestampRefused, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Timestamp = e.clock.Now().Unix() + 301 }))
		}},
		{name: "a malformed timestamp is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), `oauth_timestamp="`+ts, `oauth_timestamp="-`+ts, 1))
			return r
		}},
		{name: "a wrong client secret is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.ConsumerSecret = "sec2" }))
		}},
		{name: "a wrong token secret is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.TokenSecret = "" }))
		}},
		{name: "a tampered query parameter is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r?amount=1", nil, c1Access)
			r.URL.RawQuery = "amount=1000"
			return r
		}},
		{name: "a tampered form parameter is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodPost, "/r", url.Values{"amount": {"1"}}, c1Access)
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("amount=1000")).Body
			return r
		}},
		{name: "a tampered path is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.URL.Path = "/admin"
			return r
		}},
		{name: "a tampered method is refused", status: 401, problem: ProblemSignatureInvalid, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Method = http.MethodDelete
			return r
		}},
		{name: "temporary credentials are not an access token", status: 401, problem: ProblemTokenRejected, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Token, c.TokenSecret = "rt1", "rts1" }))
		}},
		{name: "an unknown token is refused", status: 401, problem: ProblemTokenRejected, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Token = "nope" }))
		}},
		{name: "another client's token is refused", status: 401, problem: ProblemTokenRejected, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Token, c.TokenSecret = "at2", "ats2" }))
		}},
		{name: "an unknown client is refused", status: 401, problem: ProblemConsumerKeyUnknown, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.ConsumerKey = "c9" }))
		}},
		{name: "an expired access token is refused", status: 401, problem: ProblemTokenRejected,
			setup: func(t *testing.T, e *env) {
				e.seedToken(t, store.KindOAuth1Access, "c1", "at-exp", "s", func(tok *store.Token) { tok.ExpiresAt = e.clock.Now().Add(time.Hour) })
				e.clock.Advance(time.Hour)
			},
			req: func(t *testing.T, e *env) *http.Request {
				return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Token, c.TokenSecret = "at-exp", "s" }))
			}},
		{name: "a protocol parameter twice in the header is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+`, oauth_nonce="other"`)
			return r
		}},
		{name: "a protocol parameter in header and query is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.URL.RawQuery = "oauth_token=at1"
			return r
		}},
		{name: "a protocol parameter twice in the query is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Del("Authorization")
			r.URL.RawQuery = "oauth_consumer_key=c1&oauth_consumer_key=c1"
			return r
		}},
		{name: "a protocol parameter in header and form body is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodPost, "/r", url.Values{"oauth_signature_method": {"HMAC-SHA1"}}, c1Access)
			return r
		}},
		{name: "two OAuth Authorization headers are a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Add("Authorization", `OAuth oauth_verifier="x"`)
			return r
		}},
		{name: "oauth_version other than 1.0 is refused", status: 400, problem: ProblemVersionRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+`, oauth_version="2.0"`)
			return r
		}},
		{name: "a missing nonce is a bad request", status: 400, problem: ProblemParameterAbsent, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Nonce = "abc" }))
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), `oauth_nonce="abc", `, "", 1))
			return r
		}},
		{name: "a missing token is a bad request", status: 400, problem: ProblemParameterAbsent, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.Token = "" }))
		}},
		{name: "an unsupported signature method is a bad request", status: 400, problem: ProblemSignatureMethodRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "HMAC-SHA1", "HMAC-MD5", 1))
			return r
		}},
		{name: "HMAC for a client without a secret is refused", status: 400, problem: ProblemSignatureMethodRejected, req: func(t *testing.T, e *env) *http.Request {
			e.seedToken(t, store.KindOAuth1Access, "rsaonly", "at-rsa", "s", nil)
			return e.signedReq(t, http.MethodGet, "/r", nil, ClientCreds{ConsumerKey: "rsaonly", Token: "at-rsa", TokenSecret: "s"})
		}},
		{name: "RSA-SHA1 for a client without a key is refused", status: 400, problem: ProblemSignatureMethodRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "HMAC-SHA1", "RSA-SHA1", 1))
			return r
		}},
		{name: "PLAINTEXT over plain HTTP is refused", status: 400, problem: ProblemSignatureMethodRejected, req: func(t *testing.T, e *env) *http.Request {
			return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.SignatureMethod = PLAINTEXT }))
		}},
		{name: "PLAINTEXT over plain HTTP from loopback without the option is refused", status: 400, problem: ProblemSignatureMethodRejected,
			u: &RequestURL{Scheme: "http", Host: "api.example", Loopback: true},
			req: func(t *testing.T, e *env) *http.Request {
				return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.SignatureMethod = PLAINTEXT }))
			}},
		{name: "PLAINTEXT over TLS passes", status: 200, u: &RequestURL{Scheme: "https", Host: "api.example", Secure: true},
			req: func(t *testing.T, e *env) *http.Request {
				return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.SignatureMethod = PLAINTEXT }))
			}},
		{name: "a wrong PLAINTEXT signature is refused", status: 401, problem: ProblemSignatureInvalid, u: &RequestURL{Scheme: "https", Host: "api.example", Secure: true},
			req: func(t *testing.T, e *env) *http.Request {
				return e.signedReq(t, http.MethodGet, "/r", nil, with(func(c *ClientCreds) { c.SignatureMethod = PLAINTEXT; c.TokenSecret = "x" }))
			}},
		{name: "no credentials at all is a challenge", status: 401, problem: ProblemParameterAbsent, req: func(t *testing.T, e *env) *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://api.example/r?a=1", nil)
		}},
		{name: "a malformed Authorization header is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://api.example/r", nil)
			r.Header.Set("Authorization", `OAuth oauth_consumer_key="c1`)
			return r
		}},
		{name: "a bad percent escape in the header is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+`, x="%zz"`)
			return r
		}},
		{name: "a bad percent escape in the query is a bad request", status: 400, problem: ProblemParameterRejected, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
			r.URL.RawQuery = "a=%G1"
			return r
		}},
		{name: "an oversized form body is refused without reading it all", status: 413, problem: ProblemParameterRejected,
			req: func(t *testing.T, e *env) *http.Request {
				return e.signedReq(t, http.MethodPost, "/r", url.Values{"big": {strings.Repeat("x", DefaultMaxBodyBytes)}}, c1Access)
			}},
		{name: "a non-form body is not signed", status: 200, req: func(t *testing.T, e *env) *http.Request {
			r := e.signedReq(t, http.MethodPost, "/r", nil, c1Access)
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("oauth_token=zzz&a=1")).Body
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := refusalEnv(t, nil)
			if c.setup != nil {
				c.setup(t, e)
			}
			u := apiURL
			if c.u != nil {
				u = *c.u
			}
			id, rec := e.verifyRec(c.req(t, e), u)
			if c.status == 200 {
				if id == nil {
					t.Fatalf("refused: %d %s", rec.Code, rec.Body)
				}
				return
			}
			if id != nil {
				t.Fatal("accepted")
			}
			wantProblem(t, rec, c.status, c.problem)
		})
	}
}

func TestPlaintextOverLoopbackWhenAllowed(t *testing.T) {
	e := refusalEnv(t, func(c *Config) { c.AllowInsecurePlaintext = true })
	creds := c1Access
	creds.SignatureMethod = PLAINTEXT
	if id, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, creds), RequestURL{Scheme: "http", Host: "api.example", Loopback: true}); id == nil {
		t.Fatalf("refused: %s", rec.Body)
	}
	_, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, creds), RequestURL{Scheme: "http", Host: "api.example"})
	wantProblem(t, rec, http.StatusBadRequest, ProblemSignatureMethodRejected)
}

func TestTimestampRefusedAdvertisesWindow(t *testing.T) {
	e := refusalEnv(t, nil)
	creds := c1Access
	creds.Timestamp = 1000
	_, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, creds), apiURL)
	now := e.clock.Now().Unix()
	want := strconv.FormatInt(now-300, 10) + "-" + strconv.FormatInt(now+300, 10)
	if got := mustQuery(t, rec.Body.String()).Get("oauth_acceptable_timestamps"); got != want {
		t.Fatalf("oauth_acceptable_timestamps = %q, want %q", got, want)
	}
}

func TestAccessTokenRefusals(t *testing.T) {
	temp := ClientCreds{ConsumerKey: "c1", ConsumerSecret: "sec1", Token: "rt1", TokenSecret: "rts1", Verifier: "ver1"}
	exchange := func(t *testing.T, e *env, c ClientCreds) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.srv.AccessToken(rec, e.signedReq(t, http.MethodPost, "/oauth1/access_token", nil, c), apiURL)
		return rec
	}

	t.Run("a verifier works once", func(t *testing.T) {
		e := refusalEnv(t, nil)
		if rec := exchange(t, e, temp); rec.Code != http.StatusOK {
			t.Fatalf("first exchange: %d %s", rec.Code, rec.Body)
		}
		wantProblem(t, exchange(t, e, temp), http.StatusUnauthorized, ProblemTokenRejected)
	})
	t.Run("a wrong verifier is refused and does not burn the credentials", func(t *testing.T) {
		e := refusalEnv(t, nil)
		bad := temp
		bad.Verifier = "ver2"
		wantProblem(t, exchange(t, e, bad), http.StatusUnauthorized, ProblemVerifierInvalid)
		if rec := exchange(t, e, temp); rec.Code != http.StatusOK {
			t.Fatalf("right verifier after a wrong one: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a missing verifier is a bad request", func(t *testing.T) {
		e := refusalEnv(t, nil)
		c := temp
		c.Verifier = ""
		wantProblem(t, exchange(t, e, c), http.StatusBadRequest, ProblemParameterAbsent)
	})
	t.Run("token credentials are not temporary credentials", func(t *testing.T) {
		e := refusalEnv(t, nil)
		c := temp
		c.Token, c.TokenSecret = "at1", "ats1"
		wantProblem(t, exchange(t, e, c), http.StatusUnauthorized, ProblemTokenRejected)
	})
	t.Run("temporary credentials not yet authorized are refused", func(t *testing.T) {
		e := refusalEnv(t, nil)
		e.seedToken(t, store.KindOAuth1Request, "c1", "rt-new", "s", func(tok *store.Token) { tok.Callback = "oob" })
		c := temp
		c.Token, c.TokenSecret = "rt-new", "s"
		wantProblem(t, exchange(t, e, c), http.StatusUnauthorized, ProblemTokenRejected)
	})
	t.Run("another client's temporary credentials are refused", func(t *testing.T) {
		e := refusalEnv(t, nil)
		c := temp
		c.ConsumerKey, c.ConsumerSecret = "c2", "sec2"
		wantProblem(t, exchange(t, e, c), http.StatusUnauthorized, ProblemTokenRejected)
		if rec := exchange(t, e, temp); rec.Code != http.StatusOK {
			t.Fatal("the rightful client was locked out")
		}
	})
	t.Run("expired temporary credentials are refused", func(t *testing.T) {
		e := refusalEnv(t, nil)
		e.clock.Advance(10 * time.Minute)
		wantProblem(t, exchange(t, e, temp), http.StatusUnauthorized, ProblemTokenRejected)
	})
	t.Run("a bad signature does not burn the credentials", func(t *testing.T) {
		e := refusalEnv(t, nil)
		c := temp
		c.TokenSecret = "wrong"
		wantProblem(t, exchange(t, e, c), http.StatusUnauthorized, ProblemSignatureInvalid)
		if rec := exchange(t, e, temp); rec.Code != http.StatusOK {
			t.Fatal("credentials burnt by a forged request")
		}
	})
	t.Run("GET is not allowed", func(t *testing.T) {
		e := refusalEnv(t, nil)
		rec := httptest.NewRecorder()
		e.srv.AccessToken(rec, e.signedReq(t, http.MethodGet, "/oauth1/access_token", nil, temp), apiURL)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Fatalf("GET: %d", rec.Code)
		}
	})
	t.Run("the issued token has the configured lifetime", func(t *testing.T) {
		e := refusalEnv(t, func(c *Config) { c.AccessTokenTTL = time.Hour })
		rec := exchange(t, e, temp)
		tok, err := e.db.GetToken(t.Context(), provider.HashToken(mustQuery(t, rec.Body.String()).Get("oauth_token")))
		if err != nil || !tok.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) || tok.User != "bob" || tok.Family != "fam-rt1" {
			t.Fatalf("token %+v, %v", tok, err)
		}
	})
}

func TestRequestTokenRules(t *testing.T) {
	reqTok := func(t *testing.T, e *env, c ClientCreds, form url.Values) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		method := http.MethodPost
		e.srv.RequestToken(rec, e.signedReq(t, method, "/oauth1/request_token", form, c), apiURL)
		return rec
	}
	base := ClientCreds{ConsumerKey: "c1", ConsumerSecret: "sec1", Callback: "https://c1.example/cb"}
	scoped := func(e *env) {
		e.addClient(t, "sc", "s", func(c *store.Client) { c.Scopes = []string{"read", "write"} })
	}
	cfg := func(c *Config) {
		c.Scopes = []string{"read", "write", "admin"}
		c.DefaultScopes = []string{"read", "admin"}
	}
	for _, tc := range []struct {
		name    string
		creds   func(*ClientCreds)
		form    url.Values
		status  int
		problem string
		scopes  string
	}{
		{name: "a registered callback passes", status: 200},
		{name: "oob passes", creds: func(c *ClientCreds) { c.Callback = "oob" }, status: 200},
		{name: "a missing callback is a bad request", creds: func(c *ClientCreds) { c.Callback = "" }, status: 400, problem: ProblemParameterAbsent},
		{name: "an unregistered callback is refused", creds: func(c *ClientCreds) { c.Callback = "https://evil.example/cb" }, status: 400, problem: ProblemParameterRejected},
		{name: "a callback differing in case is refused", creds: func(c *ClientCreds) { c.Callback = "https://C1.example/cb" }, status: 400, problem: ProblemParameterRejected},
		{name: "OOB in another case is not oob", creds: func(c *ClientCreds) { c.Callback = "OOB" }, status: 400, problem: ProblemParameterRejected},
		{name: "a token in a temporary-credentials request is refused", creds: func(c *ClientCreds) { c.Token = "at1"; c.TokenSecret = "ats1" }, status: 400, problem: ProblemParameterRejected},
		{name: "without scope the defaults the client may have are granted", creds: func(c *ClientCreds) { c.ConsumerKey, c.ConsumerSecret, c.Callback = "sc", "s", "oob" }, status: 200, scopes: "read"},
		{name: "a requested allowed scope is granted", creds: func(c *ClientCreds) { c.ConsumerKey, c.ConsumerSecret, c.Callback = "sc", "s", "oob" }, form: url.Values{"scope": {"read write"}}, status: 200, scopes: "read write"},
		{name: "a scope the client may not have is refused", creds: func(c *ClientCreds) { c.ConsumerKey, c.ConsumerSecret, c.Callback = "sc", "s", "oob" }, form: url.Values{"scope": {"admin"}}, status: 400, problem: ProblemParameterRejected},
		{name: "an unknown scope is refused", form: url.Values{"scope": {"root"}}, status: 400, problem: ProblemParameterRejected},
		{name: "a repeated scope parameter is refused", form: url.Values{"scope": {"read", "write"}}, status: 400, problem: ProblemParameterRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := refusalEnv(t, cfg)
			scoped(e)
			c := base
			if tc.creds != nil {
				tc.creds(&c)
			}
			rec := reqTok(t, e, c, tc.form)
			if tc.status != 200 {
				wantProblem(t, rec, tc.status, tc.problem)
				return
			}
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			v := mustQuery(t, rec.Body.String())
			tok, err := e.db.GetToken(t.Context(), provider.HashToken(v.Get("oauth_token")))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Kind != store.KindOAuth1Request || tok.Callback != c.Callback || tok.User != "" || len(tok.VerifierHash) != 0 ||
				!tok.ExpiresAt.Equal(e.clock.Now().Add(DefaultRequestTokenTTL)) {
				t.Fatalf("stored %+v", tok)
			}
			if tc.scopes != "" && provider.FormatScope(tok.Scopes) != tc.scopes {
				t.Fatalf("scopes %v, want %s", tok.Scopes, tc.scopes)
			}
			// The secret is sealed at rest, not plain and not the client's purpose.
			if strings.Contains(string(tok.SealedSecret), v.Get("oauth_token_secret")) {
				t.Fatal("token secret stored in clear")
			}
			if s, err := e.sealer.Open(PurposeTokenSecret, tok.SealedSecret); err != nil || string(s) != v.Get("oauth_token_secret") {
				t.Fatal("token secret not sealed for its purpose")
			}
			if _, err := e.sealer.Open(PurposeClientSecret, tok.SealedSecret); err == nil {
				t.Fatal("token secret opens as a client secret")
			}
		})
	}
	t.Run("callbacks must be registered absolute http(s) URIs without fragment", func(t *testing.T) {
		bad := []string{"/relative", "javascript:alert(1)", "https://x.example/cb#frag", "ftp://x.example/", "https://user:pw@x.example/", "http:///nohost"}
		// Even registered, a malformed callback is refused.
		reg := &store.Client{ID: "reg", CallbackURIs: append([]string{"http://127.0.0.1:8080/cb", "https://x.example/cb?a=1"}, bad...)}
		for _, cb := range bad {
			if e := checkCallback(cb, reg); e == nil {
				t.Errorf("callback %q accepted", cb)
			}
		}
		for _, cb := range []string{"oob", "http://127.0.0.1:8080/cb", "https://x.example/cb?a=1"} {
			if e := checkCallback(cb, reg); e != nil {
				t.Errorf("callback %q refused: %v", cb, e)
			}
		}
		// Without registered callbacks only oob is allowed: no open
		// redirector for the verifier.
		none := &store.Client{ID: "none"}
		if e := checkCallback("oob", none); e != nil {
			t.Errorf("oob refused for a client without callbacks: %v", e)
		}
		for _, cb := range []string{"http://127.0.0.1:8080/cb", "https://attacker.example/cb"} {
			if e := checkCallback(cb, none); e == nil {
				t.Errorf("callback %q accepted for a client without registered callbacks", cb)
			}
		}
	})
	t.Run("GET is not allowed", func(t *testing.T) {
		e := refusalEnv(t, nil)
		rec := httptest.NewRecorder()
		e.srv.RequestToken(rec, e.signedReq(t, http.MethodGet, "/oauth1/request_token", nil, base), apiURL)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", rec.Code)
		}
	})
}

// TestNonceSurvivesRestart: nonces live in the store, not in memory.
func TestNonceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(badger.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, db, nil)
	e.addClient(t, "c1", "sec1", nil)
	e.seedToken(t, store.KindOAuth1Access, "c1", "at1", "ats1", nil)
	r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
	replay := r.Clone(context.Background())
	if id, rec := e.verifyRec(r, apiURL); id == nil {
		t.Fatalf("refused: %s", rec.Body)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = badger.Open(badger.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e2 := newEnvOn(t, db, nil)
	e2.clock.Set(e.clock.Now())
	_, rec := e2.verifyRec(replay, apiURL)
	wantProblem(t, rec, http.StatusUnauthorized, ProblemNonceUsed)
}

// TestNonceScope: the same nonce and timestamp with another token is a
// different request (§3.3 scopes nonces per client, token and timestamp).
func TestNonceScope(t *testing.T) {
	e := refusalEnv(t, nil)
	e.seedToken(t, store.KindOAuth1Access, "c1", "at1b", "s", nil)
	c := c1Access
	c.Nonce = "shared"
	if id, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, c), apiURL); id == nil {
		t.Fatal(rec.Body)
	}
	c.Token, c.TokenSecret = "at1b", "s"
	if id, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, c), apiURL); id == nil {
		t.Fatalf("same nonce, other token refused: %s", rec.Body)
	}
	c.Timestamp = e.clock.Now().Unix() - 1
	if id, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil, c), apiURL); id == nil {
		t.Fatalf("same nonce, other timestamp refused: %s", rec.Body)
	}
}

func TestMissingParametersAreListed(t *testing.T) {
	e := refusalEnv(t, nil)
	r := httptest.NewRequest(http.MethodGet, "http://api.example/r", nil)
	r.Header.Set("Authorization", `OAuth oauth_consumer_key="c1", oauth_signature_method="HMAC-SHA1", oauth_signature="x", oauth_token="at1"`)
	_, rec := e.verifyRec(r, apiURL)
	wantProblem(t, rec, http.StatusBadRequest, ProblemParameterAbsent)
	if got := mustQuery(t, rec.Body.String()).Get("oauth_parameters_absent"); got != "oauth_timestamp&oauth_nonce" {
		t.Fatalf("oauth_parameters_absent = %q", got)
	}
}

// TestConcurrentExchange: of simultaneous exchanges of one verifier (each
// with its own nonce), exactly one gets token credentials.
func TestConcurrentExchange(t *testing.T) {
	e := refusalEnv(t, nil)
	const n = 8
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = e.signedReq(t, http.MethodPost, "/oauth1/access_token", nil,
			ClientCreds{ConsumerKey: "c1", ConsumerSecret: "sec1", Token: "rt1", TokenSecret: "rts1", Verifier: "ver1"})
	}
	codes := make(chan int, n)
	var start sync.WaitGroup
	start.Add(1)
	for _, r := range reqs {
		go func() {
			start.Wait()
			rec := httptest.NewRecorder()
			e.srv.AccessToken(rec, r, apiURL)
			codes <- rec.Code
		}()
	}
	start.Done()
	ok := 0
	for range n {
		c := <-codes
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d exchanges succeeded, want 1", ok)
	}
}

// TestStaticClient: a client from config, its secret sealed by the glue
// with PurposeClientSecret, signs like a stored one; a secret sealed for
// another purpose does not open.
func TestStaticClient(t *testing.T) {
	sealer, err := provider.NewSealer(testServerKey)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := sealer.Seal(PurposeClientSecret, []byte("static-secret"))
	wrong, _ := sealer.Seal(PurposeTokenSecret, []byte("static-secret"))
	e := newEnv(t, nil,
		&store.Client{ID: "static", SealedSecret: good},
		&store.Client{ID: "misfiled", SealedSecret: wrong})
	e.seedToken(t, store.KindOAuth1Access, "static", "at-s", "s", func(tok *store.Token) { tok.User = "carol" })
	e.seedToken(t, store.KindOAuth1Access, "misfiled", "at-m", "s", nil)
	id, rec := e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil,
		ClientCreds{ConsumerKey: "static", ConsumerSecret: "static-secret", Token: "at-s", TokenSecret: "s"}), apiURL)
	if id == nil || id.User != "carol" {
		t.Fatalf("static client refused: %s", rec.Body)
	}
	_, rec = e.verifyRec(e.signedReq(t, http.MethodGet, "/r", nil,
		ClientCreds{ConsumerKey: "misfiled", ConsumerSecret: "static-secret", Token: "at-m", TokenSecret: "s"}), apiURL)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("a secret sealed for tokens opened as a client secret: %d", rec.Code)
	}
}
