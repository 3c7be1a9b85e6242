package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func TestTokenResponseShape(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code("web", "alice", url.Values{"redirect_uri": {webRedirect}})
	rec, tj := e.exchange("web", webSecret, code, url.Values{"redirect_uri": {webRedirect}})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d %s", rec.Code, rec.Body.String())
	}
	h := rec.Header()
	if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Fatalf("headers %v", h)
	}
	if tj.TokenType != "Bearer" || tj.ExpiresIn != 3600 || tj.Scope != "read" || len(tj.AccessToken) < 43 || len(tj.RefreshToken) < 43 {
		t.Fatalf("response %+v", tj)
	}
	// Stored by hash with the configured lifetimes.
	at, err := e.db.GetToken(context.Background(), provider.HashToken(tj.AccessToken))
	if err != nil || at.Kind != store.KindAccess || !at.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("access %+v %v", at, err)
	}
	rt, err := e.db.GetToken(context.Background(), provider.HashToken(tj.RefreshToken))
	if err != nil || rt.Kind != store.KindRefresh || rt.Family != at.Family || !rt.ExpiresAt.Equal(e.clock.Now().Add(720*time.Hour)) {
		t.Fatalf("refresh %+v %v", rt, err)
	}
	if !e.events.has("token_issued") || !e.events.has("code_issued") {
		t.Fatalf("events %v", e.events.names())
	}
	e.checkNoSecretsLogged()
}

func TestCodeGrant(t *testing.T) {
	chal := S256Challenge(testVerifier)
	tests := []struct {
		name      string
		client    string // who redeems
		authorize url.Values
		exchange  url.Values
		advance   time.Duration
		status    int
		errCode   string
		desc      string
	}{
		{"redeems with S256 and the right verifier", "web", url.Values{"code_challenge": {chal}, "code_challenge_method": {"S256"}},
			url.Values{"code_verifier": {testVerifier}}, 0, 200, "", ""},
		{"redeems with plain and the right verifier", "web", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}},
			url.Values{"code_verifier": {testVerifier}}, 0, 200, "", ""},
		{"refuses a wrong S256 verifier", "web", url.Values{"code_challenge": {chal}, "code_challenge_method": {"S256"}},
			url.Values{"code_verifier": {strings.Repeat("a", 43)}}, 0, 400, "invalid_grant", ""},
		{"refuses the challenge itself as verifier for S256", "web", url.Values{"code_challenge": {chal}, "code_challenge_method": {"S256"}},
			url.Values{"code_verifier": {chal}}, 0, 400, "invalid_grant", ""},
		{"refuses a missing verifier when a challenge was sent", "web", url.Values{"code_challenge": {chal}, "code_challenge_method": {"S256"}},
			nil, 0, 400, "invalid_grant", ""},
		{"refuses a verifier when no challenge was sent (downgrade)", "web", nil,
			url.Values{"code_verifier": {testVerifier}}, 0, 400, "invalid_grant", "no code_challenge"},
		{"refuses a malformed verifier", "web", url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}},
			url.Values{"code_verifier": {testVerifier + "!"}}, 0, 400, "invalid_grant", ""},
		{"refuses a code issued to another client", "norefresh", nil, nil, 0, 400, "invalid_grant", ""},
		{"refuses an expired code", "web", nil, nil, DefaultCodeTTL, 400, "invalid_grant", ""},
		{"accepts a code just before expiry", "web", nil, nil, DefaultCodeTTL - time.Second, 200, "", ""},
		{"refuses a redirect_uri different from the authorization request", "web", url.Values{"redirect_uri": {webRedirect}},
			url.Values{"redirect_uri": {webRedirect + "/other"}}, 0, 400, "invalid_grant", ""},
		{"refuses a missing redirect_uri when the authorization request had one", "web", url.Values{"redirect_uri": {webRedirect}},
			url.Values{"redirect_uri": nil}, 0, 400, "invalid_grant", ""},
		{"accepts an omitted redirect_uri when the request omitted it", "web", nil, url.Values{"redirect_uri": nil}, 0, 200, "", ""},
		{"accepts the single registered URI when the request omitted it", "web", nil, nil, 0, 200, "", ""},
		{"refuses another URI when the request omitted it", "web", nil, url.Values{"redirect_uri": {"https://evil.example/cb"}}, 0, 400, "invalid_grant", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			code := e.code("web", "alice", tc.authorize)
			ex := url.Values{"redirect_uri": {tc.authorize.Get("redirect_uri")}}
			if ex.Get("redirect_uri") == "" {
				ex.Set("redirect_uri", webRedirect)
			}
			for k, v := range tc.exchange {
				if v == nil {
					delete(ex, k)
				} else {
					ex[k] = v
				}
			}
			e.clock.Advance(tc.advance)
			rec, tj := e.exchange(tc.client, webSecret, code, ex)
			if tc.status == 200 {
				if rec.Code != 200 || tj.AccessToken == "" {
					t.Fatalf("status %d %s", rec.Code, rec.Body.String())
				}
				return
			}
			e.wantError(rec, tc.status, tc.errCode)
			if tc.desc != "" && !strings.Contains(rec.Body.String(), tc.desc) {
				t.Fatalf("description %s, want %q", rec.Body.String(), tc.desc)
			}
			if !e.events.has("token_refused") {
				t.Fatal("no token_refused event")
			}
			// A refused code (expired, foreign, ...) is still a code: not
			// in the answer, not in any event.
			if strings.Contains(rec.Body.String(), code) {
				t.Fatalf("answer echoes the code: %s", rec.Body.String())
			}
			e.checkNoSecretsLogged()
		})
	}
}

func TestCodeReplayRevokesTheFamily(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code("web", "alice", nil)
	_, first := e.exchange("web", webSecret, code, nil)
	if first.AccessToken == "" {
		t.Fatal("first redemption failed")
	}
	// An unrelated grant of the same user and client survives.
	_, other := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
	rec, _ := e.exchange("web", webSecret, code, nil)
	e.wantError(rec, 400, "invalid_grant")
	if e.active(first.AccessToken) {
		t.Fatal("access token from a replayed code still valid")
	}
	refresh := e.post(e.srv.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}, "web", webSecret)
	e.wantError(refresh, 400, "invalid_grant")
	if !e.active(other.AccessToken) {
		t.Fatal("an unrelated grant was revoked")
	}
	if !e.events.has("code_replayed") {
		t.Fatalf("events %v", e.events.names())
	}
	e.checkNoSecretsLogged()
}

func TestConcurrentCodeRedemptionHasOneWinner(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code("web", "alice", nil)
	const n = 8
	results := make(chan int, n)
	for range n {
		go func() {
			r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("web", url.QueryEscape(webSecret))
			rec := httptest.NewRecorder()
			e.srv.Token(rec, r)
			results <- rec.Code
		}()
	}
	ok := 0
	for range n {
		if <-results == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want 1", ok)
	}
}

func refreshWith(e *env, client, secret, token string, extra url.Values) (*httptest.ResponseRecorder, tokenJSON) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	for k, v := range extra {
		form[k] = v
	}
	rec := e.post(e.srv.Token, form, client, secret)
	return rec, e.decode(rec)
}

func TestRefreshGrant(t *testing.T) {
	grant := func(e *env) tokenJSON {
		_, tj := e.exchange("web", webSecret, e.code("web", "alice", url.Values{"scope": {"read write"}}), nil)
		if tj.RefreshToken == "" {
			e.t.Fatal("no refresh token")
		}
		return tj
	}
	t.Run("rotates and keeps the family", func(t *testing.T) {
		e := newEnv(t, nil)
		first := grant(e)
		rec, next := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
		if rec.Code != 200 || next.RefreshToken == "" || next.RefreshToken == first.RefreshToken || next.Scope != "read write" {
			t.Fatalf("%d %+v", rec.Code, next)
		}
		a, _ := e.db.GetToken(context.Background(), provider.HashToken(first.AccessToken))
		b, _ := e.db.GetToken(context.Background(), provider.HashToken(next.AccessToken))
		if a == nil || b == nil || a.Family != b.Family {
			t.Fatal("rotation changed the family")
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("cacheable")
		}
	})
	t.Run("reuse of a rotated token revokes the family", func(t *testing.T) {
		e := newEnv(t, nil)
		first := grant(e)
		_, next := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
		rec, _ := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
		e.wantError(rec, 400, "invalid_grant")
		if e.active(next.AccessToken) || e.active(first.AccessToken) {
			t.Fatal("family survived refresh token reuse")
		}
		rec, _ = refreshWith(e, "web", webSecret, next.RefreshToken, nil)
		e.wantError(rec, 400, "invalid_grant")
		if !e.events.has("refresh_reused") {
			t.Fatalf("events %v", e.events.names())
		}
		e.checkNoSecretsLogged()
	})
	t.Run("is bound to its client and another client cannot burn it", func(t *testing.T) {
		e := newEnv(t, nil)
		first := grant(e)
		rec, _ := refreshWith(e, "dyn", webSecret, first.RefreshToken, nil)
		e.wantError(rec, 400, "invalid_grant")
		if rec, _ := refreshWith(e, "web", webSecret, first.RefreshToken, nil); rec.Code != 200 {
			t.Fatalf("owner refused after foreign attempt: %d", rec.Code)
		}
	})
	t.Run("may narrow but not widen the scope", func(t *testing.T) {
		e := newEnv(t, nil)
		first := grant(e)
		rec, _ := refreshWith(e, "web", webSecret, first.RefreshToken, url.Values{"scope": {"read profile"}})
		e.wantError(rec, 400, "invalid_scope")
		rec, narrow := refreshWith(e, "web", webSecret, first.RefreshToken, url.Values{"scope": {"read"}})
		if rec.Code != 200 || narrow.Scope != "read" {
			t.Fatalf("%d %+v", rec.Code, narrow)
		}
		// The new refresh token keeps the original scope (RFC 6749 §6).
		rec, again := refreshWith(e, "web", webSecret, narrow.RefreshToken, nil)
		if rec.Code != 200 || again.Scope != "read write" {
			t.Fatalf("%d %+v", rec.Code, again)
		}
	})
	t.Run("expires when idle", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.RefreshTokenTTL = time.Hour })
		first := grant(e)
		e.clock.Advance(time.Hour)
		rec, _ := refreshWith(e, "web", webSecret, first.RefreshToken, nil)
		e.wantError(rec, 400, "invalid_grant")
	})
	t.Run("an access token is not a refresh token", func(t *testing.T) {
		e := newEnv(t, nil)
		first := grant(e)
		rec, _ := refreshWith(e, "web", webSecret, first.AccessToken, nil)
		e.wantError(rec, 400, "invalid_grant")
	})
}

func TestConcurrentRefreshHasOneWinnerAndRevokesTheFamily(t *testing.T) {
	e := newEnv(t, nil)
	_, first := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
	const n = 6
	type result struct {
		code int
		body string
	}
	results := make(chan result, n)
	for range n {
		go func() {
			r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("web", url.QueryEscape(webSecret))
			rec := httptest.NewRecorder()
			e.srv.Token(rec, r)
			results <- result{rec.Code, rec.Body.String()}
		}()
	}
	var winner string
	ok := 0
	for range n {
		r := <-results
		if r.code == 200 {
			ok++
			winner = r.body
		}
	}
	if ok != 1 {
		t.Fatalf("%d refreshes succeeded, want 1", ok)
	}
	// The losers presented a rotated token: the family, winner included, is gone.
	var tj tokenJSON
	_ = json.Unmarshal([]byte(winner), &tj)
	if e.active(tj.AccessToken) {
		t.Fatal("family survived concurrent reuse")
	}
}

func TestRefreshTokensOnlyWhenEnabled(t *testing.T) {
	t.Run("a negative TTL disables them", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.RefreshTokenTTL = -1 })
		_, tj := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
		if tj.AccessToken == "" || tj.RefreshToken != "" {
			t.Fatalf("%+v", tj)
		}
		rec, _ := refreshWith(e, "web", webSecret, "whatever", nil)
		e.wantError(rec, 400, "unsupported_grant_type")
	})
	t.Run("a server without the grant issues none", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Grants = []string{GrantAuthorizationCode} })
		_, tj := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
		if tj.AccessToken == "" || tj.RefreshToken != "" {
			t.Fatalf("%+v", tj)
		}
	})
	t.Run("a client without the grant gets none", func(t *testing.T) {
		e := newEnv(t, nil)
		_, tj := e.exchange("norefresh", webSecret, e.code("norefresh", "alice", nil), nil)
		if tj.AccessToken == "" || tj.RefreshToken != "" {
			t.Fatalf("%+v", tj)
		}
	})
}

func TestClientCredentialsGrant(t *testing.T) {
	e := newEnv(t, nil)
	cc := func(client, secret string, extra url.Values) *httptest.ResponseRecorder {
		form := url.Values{"grant_type": {"client_credentials"}}
		for k, v := range extra {
			form[k] = v
		}
		return e.post(e.srv.Token, form, client, secret)
	}
	rec := cc("svc", svcSecret, nil)
	tj := e.decode(rec)
	if rec.Code != 200 || tj.RefreshToken != "" || tj.Scope != "read" {
		t.Fatalf("%d %+v", rec.Code, tj)
	}
	// Not even for a client allowed the refresh_token grant (RFC 6749 §4.4.3).
	if rec := cc("web", webSecret, nil); rec.Code != 200 || e.decode(rec).RefreshToken != "" {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	at, _ := e.db.GetToken(context.Background(), provider.HashToken(tj.AccessToken))
	if at == nil || at.User != "" || at.ClientID != "svc" {
		t.Fatalf("%+v", at)
	}
	e.wantError(cc("svc", svcSecret, url.Values{"scope": {"nope"}}), 400, "invalid_scope")
	// A public client cannot authenticate for it.
	e.wantError(e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}, "client_id": {"spa"}}, "", ""), 401, "invalid_client")
	// svc may not use the code grant.
	e.wantError(e.post(e.srv.Token, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "svc", svcSecret), 400, "unauthorized_client")
	// Disabled on the server.
	e2 := newEnv(t, func(c *Config) { c.Grants = []string{GrantAuthorizationCode} })
	rec = e2.post(e2.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret)
	e2.wantError(rec, 400, "unsupported_grant_type")
}

type passwords map[string]string

func (p passwords) CheckPassword(_ context.Context, user, pass string) (bool, error) {
	want, ok := p[user]
	return ok && provider.Equal(want, pass), nil
}

func TestPasswordGrant(t *testing.T) {
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw"}}
	e := newEnv(t, nil)
	e.wantError(e.post(e.srv.Token, form, "web", webSecret), 400, "unsupported_grant_type")

	if _, err := New(Config{Issuer: testIssuer, Grants: []string{GrantPassword}}, e.db, provider.NewClients(e.db)); err == nil {
		t.Fatal("password grant enabled without a checker")
	}
	e = newEnv(t, func(c *Config) {
		c.Grants = append(DefaultGrants, GrantPassword)
		c.Passwords = passwords{"alice": "pw"}
	})
	rec := e.post(e.srv.Token, form, "web", webSecret)
	tj := e.decode(rec)
	if rec.Code != 200 || tj.AccessToken == "" || tj.RefreshToken == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	if id, err := e.srv.VerifyBearer(context.Background(), tj.AccessToken); err != nil || id.User != "alice" {
		t.Fatalf("%+v %v", id, err)
	}
	bad := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"nope"}}
	e.wantError(e.post(e.srv.Token, bad, "web", webSecret), 400, "invalid_grant")
	e.secrets = append(e.secrets, "nope")
	e.checkNoSecretsLogged()
}

func TestTokenEndpointClientAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(extra url.Values) url.Values {
		f := url.Values{}
		for k, v := range cc {
			f[k] = v
		}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	rawBasic := func(header string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(cc.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		e.srv.Token(rec, r)
		return rec
	}
	t.Run("Basic credentials are form-urlencoded (RFC 6749 §2.3.1)", func(t *testing.T) {
		e := e.on(t)
		// webSecret contains ':', '+', '&' and '%'; post() encodes it.
		rec := e.post(e.srv.Token, url.Values{"grant_type": {"authorization_code"}, "code": {"unknown"}}, "web", webSecret)
		e.wantError(rec, 400, "invalid_grant") // authenticated, then the code is unknown
		// The client id is form-urlencoded too.
		if rec := e.post(e.srv.Token, cc, "svc:two ü", svcSecret); rec.Code != 200 {
			t.Fatalf("encoded client id: %d %s", rec.Code, rec.Body.String())
		}
		// The raw, unencoded secret is not the secret.
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {"unknown"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("web", webSecret)
		rec = httptest.NewRecorder()
		e.srv.Token(rec, r)
		e.wantError(rec, 401, "invalid_client")
	})
	t.Run("client_secret_post works", func(t *testing.T) {
		e := e.on(t)
		rec := e.post(e.srv.Token, with(url.Values{"client_id": {"svc"}, "client_secret": {svcSecret}}), "", "")
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	// A wrong secret is still a secret (a typo of the real one, or another
	// client's): it must never reach an event or the answer.
	const wrongSecret = "wrong-s3cret-Hq8vLm2T"
	noWrongSecret := func(e *env, rec *httptest.ResponseRecorder) {
		e.t.Helper()
		if strings.Contains(rec.Body.String(), wrongSecret) {
			e.t.Fatalf("answer echoes the secret: %s", rec.Body.String())
		}
		if !e.events.has("client_auth_failed") {
			e.t.Fatalf("events %v", e.events.names())
		}
		e.secrets = append(e.secrets, wrongSecret)
		e.checkNoSecretsLogged()
	}
	t.Run("a bad secret with Basic is 401 with a Basic challenge", func(t *testing.T) {
		e := e.on(t)
		rec := e.post(e.srv.Token, cc, "svc", wrongSecret)
		e.wantError(rec, 401, "invalid_client")
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Basic realm="https://auth.example.com"`) {
			t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
		}
		noWrongSecret(e, rec)
	})
	t.Run("a bad secret in the body is 401", func(t *testing.T) {
		e := e.on(t)
		rec := e.post(e.srv.Token, with(url.Values{"client_id": {"svc"}, "client_secret": {wrongSecret}}), "", "")
		e.wantError(rec, 401, "invalid_client")
		noWrongSecret(e, rec)
	})
	t.Run("an unknown client is 401", func(t *testing.T) {
		e := e.on(t)
		rec := e.post(e.srv.Token, cc, "ghost", wrongSecret)
		e.wantError(rec, 401, "invalid_client")
		noWrongSecret(e, rec)
	})
	t.Run("two methods at once are invalid_request", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Token, with(url.Values{"client_secret": {svcSecret}}), "svc", svcSecret), 400, "invalid_request")
	})
	t.Run("a body client_id different from Basic is invalid_request", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Token, with(url.Values{"client_id": {"web"}}), "svc", svcSecret), 400, "invalid_request")
	})
	t.Run("no authentication is 401", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Token, cc, "", ""), 401, "invalid_client")
	})
	t.Run("a confidential client without its secret is 401", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Token, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"web"}}, "", ""), 401, "invalid_client")
	})
	t.Run("a public client presenting a secret is 401", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Token, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "spa", ""), 401, "invalid_client")
	})
	t.Run("malformed Basic is 401", func(t *testing.T) {
		e := e.on(t)
		for _, h := range []string{"Basic", "Basic !!!", "Basic " + "d2Vi", "basic JTpa"} {
			e.wantError(rawBasic(h), 401, "invalid_client")
		}
	})
	t.Run("another scheme is invalid_request", func(t *testing.T) {
		e := e.on(t)
		e.wantError(rawBasic("Bearer abc"), 400, "invalid_request")
	})
}

func TestTokenEndpointRejectsBadRequests(t *testing.T) {
	e := newEnv(t, nil)
	send := func(method, ctype, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, PathToken, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.SetBasicAuth("svc", svcSecret)
		rec := httptest.NewRecorder()
		e.srv.Token(rec, r)
		return rec
	}
	form := "grant_type=client_credentials"
	tests := []struct {
		name, method, ctype, body string
		status                    int
		code                      string
	}{
		{"GET", http.MethodGet, "", "", 405, "invalid_request"},
		{"a JSON body", http.MethodPost, "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"no content type", http.MethodPost, "", form, 400, "invalid_request"},
		{"a malformed content type", http.MethodPost, "application/x-www-form-urlencoded; ;;=", form, 400, "invalid_request"},
		{"a repeated grant_type", http.MethodPost, "application/x-www-form-urlencoded", form + "&grant_type=client_credentials", 400, "invalid_request"},
		{"a repeated scope", http.MethodPost, "application/x-www-form-urlencoded", form + "&scope=read&scope=read", 400, "invalid_request"},
		{"a body over 64 KiB", http.MethodPost, "application/x-www-form-urlencoded", form + "&pad=" + strings.Repeat("a", MaxBodyBytes), 413, "invalid_request"},
		{"a malformed body", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=%zz", 400, "invalid_request"},
		{"no grant_type", http.MethodPost, "application/x-www-form-urlencoded", "scope=read", 400, "invalid_request"},
		{"an unknown grant_type", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=urn:x", 400, "unsupported_grant_type"},
		{"the implicit grant", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=implicit", 400, "unsupported_grant_type"},
		{"a scope with forbidden characters", http.MethodPost, "application/x-www-form-urlencoded", form + "&scope=%22read%5C", 400, "invalid_scope"},
		{"charset parameter is fine", http.MethodPost, "application/x-www-form-urlencoded; charset=UTF-8", form, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.on(t)
			rec := send(tc.method, tc.ctype, tc.body)
			if tc.status == 200 {
				if rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
				return
			}
			e.wantError(rec, tc.status, tc.code)
		})
	}
}

func FuzzToken(f *testing.F) {
	e := newEnv(f, nil)
	f.Add("grant_type=client_credentials&scope=read", "svc", svcSecret)
	f.Add("grant_type=authorization_code&code=abc&code_verifier=x", "web", webSecret)
	f.Add("grant_type=refresh_token&refresh_token=%00", "", "")
	f.Fuzz(func(t *testing.T, body, user, pass string) {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		e.srv.Token(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
