package caddyoauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

const (
	o1Auth       = "http://127.0.0.1:9485"
	o1API        = "http://127.0.0.1:9486"
	o1OAuth2Only = "http://127.0.0.1:9487"
	o1Callback   = "http://127.0.0.1:9489/oauth1/callback"
)

// oauth1Caddyfile: an authorization server with an HMAC consumer and an
// RSA-SHA1 consumer (PLAINTEXT allowed on loopback), a gateway accepting
// both protocols and one accepting OAuth 2 only.
func oauth1Caddyfile(t *testing.T, backendAddr, rsaPEMFile string) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+o1Auth+`
			storage badger `+t.TempDir()+`
			scopes read write
			default_scopes read
			allow_insecure_plaintext
			user `+testUser+` `+h+`
			client consumer {
				name "OAuth 1 consumer"
				secret consumer-secret
				callback_uri `+o1Callback+`
				scopes read write
				trusted
			}
			client rsa-consumer {
				rsa_public_key `+rsaPEMFile+`
				callback_uri `+o1Callback+`
				scopes read
				trusted
			}
		}
	}`) + `
` + o1Auth + ` {
	@authorize path /oauth1/authorize
	basic_auth @authorize {
		` + testUser + ` ` + h + `
	}
	oauth_server
}

` + o1API + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}

` + o1OAuth2Only + ` {
	require_oauth read {
		protocols oauth2
	}
	reverse_proxy ` + backendAddr + `
}
`
}

// rsaKeyFile makes an RSA key and writes its public half as PEM (SPKI).
func rsaKeyFile(t *testing.T) (*rsa.PrivateKey, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "consumer.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, file
}

// signedRequest builds a request, signs it as the client and returns it.
func signedRequest(t *testing.T, method, u, form string, creds oauth1.ClientCreds) *http.Request {
	t.Helper()
	var req *http.Request
	if form != "" {
		req = newRequest(t, method, u, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = newRequest(t, method, u, nil)
	}
	if err := oauth1.Sign(req, creds); err != nil {
		t.Fatalf("signing: %v", err)
	}
	return req
}

// formResponse parses a form-encoded OAuth 1 endpoint answer.
func formResponse(t *testing.T, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	v, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}

func TestOAuth1EndToEnd(t *testing.T) {
	be := newBackend(t)
	rsaKey, rsaFile := rsaKeyFile(t)
	startCaddy(t, oauth1Caddyfile(t, be.addr(), rsaFile))
	httpc := noRedirect()

	// threeLegged runs RFC 5849 §2 through Caddy and returns the token
	// credentials.
	threeLegged := func(t *testing.T, base oauth1.ClientCreds) oauth1.ClientCreds {
		t.Helper()
		// §2.1 temporary credentials.
		c := base
		c.Callback = o1Callback
		resp, body := do(t, httpc, signedRequest(t, http.MethodPost, o1Auth+"/oauth1/request_token", "", c))
		temp := formResponse(t, resp, body)
		if temp.Get("oauth_callback_confirmed") != "true" || temp.Get("oauth_token") == "" {
			t.Fatalf("request token answer %v", temp)
		}
		// §2.2 resource owner authorization (trusted: no consent page).
		req := newRequest(t, http.MethodGet, o1Auth+"/oauth1/authorize?oauth_token="+url.QueryEscape(temp.Get("oauth_token")), nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, body = do(t, httpc, req)
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("authorize: %d %s", resp.StatusCode, body)
		}
		loc := location(t, resp)
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != o1Callback {
			t.Fatalf("authorize redirected to %s", got)
		}
		if loc.Query().Get("oauth_token") != temp.Get("oauth_token") || loc.Query().Get("oauth_verifier") == "" {
			t.Fatalf("callback query %v", loc.Query())
		}
		// §2.3 token credentials.
		c = base
		c.Token, c.TokenSecret = temp.Get("oauth_token"), temp.Get("oauth_token_secret")
		c.Verifier = loc.Query().Get("oauth_verifier")
		resp, body = do(t, httpc, signedRequest(t, http.MethodPost, o1Auth+"/oauth1/access_token", "", c))
		creds := formResponse(t, resp, body)
		if creds.Get("oauth_token") == "" || creds.Get("oauth_token_secret") == "" {
			t.Fatalf("access token answer %v", creds)
		}
		out := base
		out.Token, out.TokenSecret = creds.Get("oauth_token"), creds.Get("oauth_token_secret")
		return out
	}

	methods := []struct {
		name  string
		creds oauth1.ClientCreds
	}{
		{"HMAC-SHA1", oauth1.ClientCreds{ConsumerKey: "consumer", ConsumerSecret: "consumer-secret", SignatureMethod: oauth1.HMACSHA1}},
		{"HMAC-SHA256", oauth1.ClientCreds{ConsumerKey: "consumer", ConsumerSecret: "consumer-secret", SignatureMethod: oauth1.HMACSHA256}},
		{"RSA-SHA1", oauth1.ClientCreds{ConsumerKey: "rsa-consumer", SignatureMethod: oauth1.RSASHA1, PrivateKey: rsaKey}},
		{"PLAINTEXT", oauth1.ClientCreds{ConsumerKey: "consumer", ConsumerSecret: "consumer-secret", SignatureMethod: oauth1.PLAINTEXT}},
	}
	var hmacCreds oauth1.ClientCreds
	for _, m := range methods {
		t.Run(m.name+" three-legged flow reaches the API as the user", func(t *testing.T) {
			creds := threeLegged(t, m.creds)
			if m.name == "HMAC-SHA1" {
				hmacCreds = creds
			}
			req := signedRequest(t, http.MethodPost, o1API+"/api/items?page=2&sort=asc", "a=1&b=two+words&c=%C3%A9", creds)
			req.Header.Set("X-OAuth-User", "mallory")
			resp, body := do(t, httpc, req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("API: %d %s", resp.StatusCode, body)
			}
			got := be.last(t)
			if v := headerValues(got.Header, "X-OAuth-User"); len(v) != 1 || v[0] != testUser {
				t.Errorf("X-OAuth-User = %q", v)
			}
			if v := got.Header.Get("X-OAuth-Client-Id"); v != m.creds.ConsumerKey {
				t.Errorf("X-OAuth-Client-Id = %q", v)
			}
			if v := got.Header.Get("X-OAuth-Scope"); v != "read" {
				t.Errorf("X-OAuth-Scope = %q, want the default scope", v)
			}
			if v := got.Header.Values("Authorization"); len(v) != 0 {
				t.Errorf("backend got Authorization %q", v)
			}
			if got.Body != "a=1&b=two+words&c=%C3%A9" || got.Query != "page=2&sort=asc" {
				t.Errorf("backend got body %q query %q, want them intact", got.Body, got.Query)
			}
		})
	}

	t.Run("oauth_* parameters in the body and query are verified and stripped", func(t *testing.T) {
		if hmacCreds.Token == "" {
			t.Skip("no HMAC token credentials")
		}
		// Sign as usual, then move the protocol parameters from the header
		// into the form body and the query: the signature covers all three
		// sources alike (RFC 5849 §3.4.1.3.1), so it stays valid.
		req := signedRequest(t, http.MethodPost, o1API+"/api/items?keep=1", "x=1", hmacCreds)
		params, err := oauth1.ParseAuthorizationHeader(req.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Del("Authorization")
		body, query := url.Values{}, req.URL.Query()
		for i, p := range params {
			if i%2 == 0 {
				body.Add(p.Name, p.Value)
			} else {
				query.Add(p.Name, p.Value)
			}
		}
		req = newRequest(t, http.MethodPost, o1API+"/api/items?"+query.Encode(), strings.NewReader("x=1&"+body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, respBody := do(t, httpc, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, respBody)
		}
		got := be.last(t)
		if got.Body != "x=1" || got.Query != "keep=1" {
			t.Errorf("backend got body %q query %q, want the oauth_* parameters removed", got.Body, got.Query)
		}
	})

	t.Run("a replayed nonce and a tampered body are refused", func(t *testing.T) {
		if hmacCreds.Token == "" {
			t.Skip("no HMAC token credentials")
		}
		c := hmacCreds
		c.Nonce, c.Timestamp = "fixed-nonce-1", time.Now().Unix()
		before := be.count()
		req := signedRequest(t, http.MethodPost, o1API+"/api/items", "n=1", c)
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("first use: %d %s", resp.StatusCode, body)
		}
		replay := signedRequest(t, http.MethodPost, o1API+"/api/items", "n=1", c)
		resp, body := do(t, httpc, replay)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "nonce_used") || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `OAuth realm="127.0.0.1"`) {
			t.Fatalf("replay: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		// Signed over "n=2", sent with "n=3".
		signed := signedRequest(t, http.MethodPost, o1API+"/api/items", "n=2", hmacCreds)
		tampered := newRequest(t, http.MethodPost, o1API+"/api/items", strings.NewReader("n=3"))
		tampered.Header = signed.Header.Clone()
		resp, body = do(t, httpc, tampered)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "signature_invalid") {
			t.Fatalf("tampered body: %d %s", resp.StatusCode, body)
		}
		if be.count() != before+1 {
			t.Fatalf("the backend saw %d requests, want only the first", be.count()-before)
		}
	})

	t.Run("a gateway limited to OAuth 2 refuses an OAuth 1 request", func(t *testing.T) {
		if hmacCreds.Token == "" {
			t.Skip("no HMAC token credentials")
		}
		before := be.count()
		resp, body := do(t, httpc, signedRequest(t, http.MethodGet, o1OAuth2Only+"/api/me", "", hmacCreds))
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
			t.Fatalf("status %d, WWW-Authenticate %q, body %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		if be.count() != before {
			t.Fatal("the backend was called")
		}
	})

	t.Run("no credentials get both challenges", func(t *testing.T) {
		resp, _ := do(t, httpc, newRequest(t, http.MethodGet, o1API+"/api/me", nil))
		got := strings.Join(resp.Header.Values("WWW-Authenticate"), " | ")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(got, `Bearer realm="127.0.0.1"`) || !strings.Contains(got, `OAuth realm="127.0.0.1"`) {
			t.Fatalf("status %d, challenges %q", resp.StatusCode, got)
		}
	})
}
