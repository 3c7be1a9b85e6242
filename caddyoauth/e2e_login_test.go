package caddyoauth

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"

	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

// The login tests listen on 127.0.0.1:9540-9559.
const (
	loginAuth       = "http://127.0.0.1:9540"
	loginAPI        = "http://127.0.0.1:9541"
	loginDelegated  = "http://127.0.0.1:9542"
	loginTenant     = "http://127.0.0.1:9543"
	loginO1Callback = "http://127.0.0.1:9548/oauth1/callback"
	loginRedirect   = "http://127.0.0.1:9549/callback"

	sessionCookie  = login.DefaultCookieName
	preLoginCookie = login.DefaultCookieName + "_login"
)

// customLoginTemplate replaces the tenant server's login page; the form
// keeps the fields the login handler reads.
const customLoginTemplate = `{{define "login.html"}}<!doctype html><title>Tenant sign-in</title>
<h1>Welcome to the tenant portal</h1>{{if .Error}}<p>{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<input name="username"><input name="password" type="password"><button>Go</button>
</form>{{end}}`

// loginCaddyfile: the default server with the built-in login (no
// authentication handler in front) on loginAuth, the same server behind
// basic_auth on loginDelegated, a gateway, and a second server "tenant"
// mounted under /auth with its own login template.
func loginCaddyfile(t *testing.T, dir, tenantDir, templates, backendAddr string) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+loginAuth+`
			storage badger `+dir+`
			session_ttl 2h
			scopes read write profile
			default_scopes read
			user `+testUser+` `+h+`
			client trusted-app {
				name "Trusted app"
				secret trusted-secret
				redirect_uri `+loginRedirect+`
				scopes read write profile
				trusted
			}
			client plain-app {
				name "Plain app"
				secret plain-secret
				redirect_uri `+loginRedirect+`
				scopes read profile
				grants authorization_code refresh_token
			}
			client consumer {
				name "OAuth 1 consumer"
				secret consumer-secret
				callback_uri `+loginO1Callback+`
				scopes read
			}
		}
		server tenant {
			issuer `+loginTenant+`
			storage badger `+tenantDir+`
			user `+testUser+` `+h+`
			client tenant-app {
				secret tenant-secret
				redirect_uri `+loginRedirect+`
				trusted
			}
		}
	}`) + `
` + loginAuth + ` {
	oauth_server
	respond "not an oauth endpoint" 404
}

` + loginDelegated + ` {
	@authorize path /oauth2/authorize /oauth1/authorize
	basic_auth @authorize {
		` + testUser + ` ` + h + `
	}
	oauth_server
}

` + loginAPI + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}

` + loginTenant + ` {
	oauth_server tenant {
		prefix /auth
		templates ` + templates + `
	}
}
`
}

// webClient stands in for a browser: it keeps cookies and shows each
// redirect instead of following it.
type webClient struct {
	jar *cookiejar.Jar
	c   *http.Client
}

func newWebClient(t *testing.T) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (wc *webClient) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	return do(t, wc.c, newRequest(t, http.MethodGet, u, nil))
}

func (wc *webClient) post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	return do(t, wc.c, postForm(t, u, form))
}

// cookie is the value the browser would send to u under name, "" if none.
func (wc *webClient) cookie(t *testing.T, u, name string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range wc.jar.Cookies(pu) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie is a response's Set-Cookie for name, nil if none.
func setCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// framingDenied checks the anti-clickjacking headers of a page
// (RFC 9700 §4.16, SECURITY.md 10).
func framingDenied(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", got)
	}
}

// toLogin checks that resp sends the browser to the login page at
// loginPath and returns that redirect's URL, return_to included.
func toLogin(t *testing.T, resp *http.Response, body, loginPath string) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the login page; body:\n%s", resp.StatusCode, body)
	}
	loc := location(t, resp)
	if loc.Path != loginPath || loc.Query().Get("return_to") == "" {
		t.Fatalf("redirected to %s, want %s?return_to=...", loc, loginPath)
	}
	return loc
}

// signIn opens the login page at loginURL and submits it with the given
// credentials, returning the answer to the POST.
func signIn(t *testing.T, wc *webClient, loginURL, user, password string) (*http.Response, string) {
	t.Helper()
	resp, page := wc.get(t, loginURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	action, form := consentForm(t, page)
	form.Set("username", user)
	form.Set("password", password)
	u, _ := url.Parse(loginURL)
	return wc.post(t, u.Scheme+"://"+u.Host+action, form)
}

// signedInAt goes through the login a request to authURL needs: the
// redirect to the login page, the form, and back to authURL. It returns
// the answer to authURL once signed in.
func signedInAt(t *testing.T, wc *webClient, authURL, loginPath string) (*http.Response, string) {
	t.Helper()
	resp, body := wc.get(t, authURL)
	loginURL := toLogin(t, resp, body, loginPath)
	resp, body = signIn(t, wc, loginURL.String(), testUser, testPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303; body:\n%s", resp.StatusCode, body)
	}
	back := location(t, resp)
	want, _ := url.Parse(authURL)
	if back.RequestURI() != want.RequestURI() {
		t.Fatalf("login returned to %s, want %s", back.RequestURI(), want.RequestURI())
	}
	return wc.get(t, back.String())
}

// codeRedirect checks an authorization response that redirects to the
// client with a code, state and iss, and returns the code.
func codeRedirect(t *testing.T, resp *http.Response, body, state string) string {
	t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want a redirect with a code; body:\n%s", resp.StatusCode, body)
	}
	loc := location(t, resp)
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loginRedirect {
		t.Fatalf("redirected to %s, want %s", got, loginRedirect)
	}
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") == "" {
		t.Fatalf("authorization response %v: want a code, state %q and iss", q, state)
	}
	return q.Get("code")
}

func TestLoginEndToEnd(t *testing.T) {
	be := newBackend(t)
	dir, tenantDir, templates := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(templates, "login.html"), []byte(customLoginTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loginCaddyfile(t, dir, tenantDir, templates, be.addr())
	startCaddy(t, cfg)

	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	endpoint := xoauth2.Endpoint{
		AuthURL:   loginAuth + "/oauth2/authorize",
		TokenURL:  loginAuth + "/oauth2/token",
		AuthStyle: xoauth2.AuthStyleInHeader,
	}
	plain := &xoauth2.Config{
		ClientID: "plain-app", ClientSecret: "plain-secret",
		Endpoint: endpoint, RedirectURL: loginRedirect, Scopes: []string{"read"},
	}
	plainProfile := *plain
	plainProfile.Scopes = []string{"read", "profile"}
	trusted := &xoauth2.Config{
		ClientID: "trusted-app", ClientSecret: "trusted-secret",
		Endpoint: endpoint, RedirectURL: loginRedirect, Scopes: []string{"read"},
	}
	apiUser := func(t *testing.T, token string) string {
		t.Helper()
		req := newRequest(t, http.MethodGet, loginAPI+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, body := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		return be.last(t).Header.Get("X-OAuth-User")
	}

	wc := newWebClient(t) // alice's browser, signed in by the first subtest
	var sessionValue string

	t.Run("login, consent and the code flow reach the API as the signed-in user", func(t *testing.T) {
		verifier := xoauth2.GenerateVerifier()
		authURL := plain.AuthCodeURL("st-login", xoauth2.S256ChallengeOption(verifier))
		resp, body := wc.get(t, authURL)
		loginURL := toLogin(t, resp, body, "/oauth/login")

		resp, page := wc.get(t, loginURL.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/oauth/login"`) {
			t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
		}
		framingDenied(t, resp)
		pre := setCookie(resp, preLoginCookie)
		if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/oauth/login" {
			t.Fatalf("pre-login cookie %+v: want HttpOnly, SameSite=Lax, Path=/oauth/login", pre)
		}
		action, form := consentForm(t, page)
		if form.Get("return_to") != loginURL.Query().Get("return_to") {
			t.Fatalf("form return_to %q, want %q", form.Get("return_to"), loginURL.Query().Get("return_to"))
		}
		form.Set("username", testUser)
		form.Set("password", testPassword)
		resp, body = wc.post(t, loginAuth+action, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: status %d, want 303; body:\n%s", resp.StatusCode, body)
		}
		session := setCookie(resp, sessionCookie)
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over http", session)
		}
		if session.MaxAge != int((2 * time.Hour).Seconds()) {
			t.Errorf("session cookie Max-Age %d, want the configured session_ttl 2h", session.MaxAge)
		}
		sessionValue = session.Value
		if want, _ := url.Parse(authURL); location(t, resp).RequestURI() != want.RequestURI() {
			t.Fatalf("login returned to %s, want the authorization request", location(t, resp))
		}

		resp, page = wc.get(t, location(t, resp).String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Plain app") || !strings.Contains(page, testUser) {
			t.Fatalf("consent page: %d\n%s", resp.StatusCode, page)
		}
		framingDenied(t, resp)
		action, form = consentForm(t, page)
		form.Set("decision", "approve")
		resp, body = wc.post(t, loginAuth+action, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("approval: status %d, want 303; body:\n%s", resp.StatusCode, body)
		}
		code := codeRedirect(t, resp, body, "st-login")
		if iss := location(t, resp).Query().Get("iss"); iss != loginAuth {
			t.Errorf("iss %q, want %s", iss, loginAuth)
		}
		tok, err := plain.Exchange(ctx, code, xoauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if u := apiUser(t, tok.AccessToken); u != testUser {
			t.Errorf("X-OAuth-User = %q, want %s", u, testUser)
		}
	})
	if sessionValue == "" {
		t.FailNow()
	}

	t.Run("remembered consent skips the page for the same scopes, not for more", func(t *testing.T) {
		resp, body := wc.get(t, plain.AuthCodeURL("st-again", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		codeRedirect(t, resp, body, "st-again")
		resp, page := wc.get(t, plainProfile.AuthCodeURL("st-more", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "profile") {
			t.Fatalf("asking for more scopes: %d, want the consent page\n%s", resp.StatusCode, page)
		}
	})

	t.Run("a trusted client skips the consent page", func(t *testing.T) {
		resp, body := wc.get(t, trusted.AuthCodeURL("st-trusted", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		codeRedirect(t, resp, body, "st-trusted")
	})

	t.Run("a consent form with a bad CSRF token or without the session issues no code", func(t *testing.T) {
		resp, page := wc.get(t, plainProfile.AuthCodeURL("st-csrf", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("consent page: %d\n%s", resp.StatusCode, page)
		}
		action, form := consentForm(t, page)
		form.Set("decision", "approve")
		forged := url.Values{}
		for k, v := range form {
			forged[k] = v
		}
		forged.Set("csrf_token", form.Get("csrf_token")+"x")
		resp, body := wc.post(t, loginAuth+action, forged)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("forged consent: status %d, Location %q, want 403 and no redirect; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		// The genuine form posted from another site: SameSite=Lax keeps
		// the session cookie out of a cross-site POST.
		resp, body = do(t, noRedirect(), postForm(t, loginAuth+action, form))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Fatalf("consent without the session: status %d, Location %q, want 401 and no redirect; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	})

	t.Run("denying consent redirects with access_denied, state and iss", func(t *testing.T) {
		resp, page := wc.get(t, plainProfile.AuthCodeURL("st-deny", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("consent page: %d\n%s", resp.StatusCode, page)
		}
		action, form := consentForm(t, page)
		form.Set("decision", "deny")
		resp, body := wc.post(t, loginAuth+action, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("deny: status %d, want 303; body:\n%s", resp.StatusCode, body)
		}
		q := location(t, resp).Query()
		if q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Get("iss") != loginAuth || q.Get("code") != "" {
			t.Fatalf("deny redirect %v: want error=access_denied, state, iss and no code", q)
		}
		// Denial remembers nothing: the next request asks again.
		if resp, _ := wc.get(t, plainProfile.AuthCodeURL("st-deny2", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier()))); resp.StatusCode != http.StatusOK {
			t.Fatalf("after a denial: status %d, want the consent page again", resp.StatusCode)
		}
	})

	t.Run("a login form with a bad CSRF token or without its cookie starts no session", func(t *testing.T) {
		victim := newWebClient(t)
		resp, page := victim.get(t, loginAuth+"/oauth/login")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login page: %d", resp.StatusCode)
		}
		action, form := consentForm(t, page)
		form.Set("username", testUser)
		form.Set("password", testPassword)
		forged := url.Values{}
		for k, v := range form {
			forged[k] = v
		}
		forged.Set("csrf_token", "1.AAAA")
		resp, body := victim.post(t, loginAuth+action, forged)
		if resp.StatusCode != http.StatusForbidden || setCookie(resp, sessionCookie) != nil {
			t.Fatalf("forged login: status %d, session cookie %v, want 403 and none; body:\n%s", resp.StatusCode, setCookie(resp, sessionCookie), body)
		}
		// A valid token but from another browser (no pre-login cookie):
		// login CSRF, where an attacker signs the victim in as himself.
		resp, body = do(t, noRedirect(), postForm(t, loginAuth+action, form))
		if resp.StatusCode != http.StatusForbidden || setCookie(resp, sessionCookie) != nil {
			t.Fatalf("login without the pre-login cookie: status %d, want 403 and no session; body:\n%s", resp.StatusCode, body)
		}
		if victim.cookie(t, loginAuth, sessionCookie) != "" {
			t.Fatal("the browser holds a session after refused logins")
		}
		resp, body = victim.get(t, trusted.AuthCodeURL("s", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		toLogin(t, resp, body, "/oauth/login")
	})

	t.Run("a wrong password shows the form again with 401", func(t *testing.T) {
		other := newWebClient(t)
		resp, page := signIn(t, other, loginAuth+"/oauth/login", testUser, "not-the-password")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Invalid username or password") || setCookie(resp, sessionCookie) != nil {
			t.Fatalf("wrong password: status %d, session %v; page:\n%s", resp.StatusCode, setCookie(resp, sessionCookie), page)
		}
		framingDenied(t, resp)
		if strings.Contains(page, "not-the-password") {
			t.Error("the page echoes the password")
		}
	})

	t.Run("the session survives a config reload, and so does an open login form", func(t *testing.T) {
		late := newWebClient(t)
		resp, page := late.get(t, loginAuth+"/oauth/login")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login page: %d", resp.StatusCode)
		}
		forceLoad(t, cfg)
		resp, body := wc.get(t, trusted.AuthCodeURL("st-reload", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		codeRedirect(t, resp, body, "st-reload")

		action, form := consentForm(t, page)
		form.Set("username", testUser)
		form.Set("password", testPassword)
		if resp, body := late.post(t, loginAuth+action, form); resp.StatusCode != http.StatusSeeOther || setCookie(resp, sessionCookie) == nil {
			t.Fatalf("login form from before the reload: %d\n%s", resp.StatusCode, body)
		}
	})

	t.Run("with basic_auth in front the delegated user needs no login form", func(t *testing.T) {
		delegated := *trusted
		delegated.Endpoint.AuthURL = loginDelegated + "/oauth2/authorize"
		req := newRequest(t, http.MethodGet, delegated.AuthCodeURL("st-basic", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())), nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, body := do(t, noRedirect(), req) // no cookies at all
		codeRedirect(t, resp, body, "st-basic")
		// Without credentials basic_auth answers, never the login page.
		resp, _ = do(t, noRedirect(), newRequest(t, http.MethodGet, delegated.AuthCodeURL("s"), nil))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Fatalf("anonymous delegated request: %d Location %q, want basic_auth's 401", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("OAuth 1 authorization uses the login session", func(t *testing.T) {
		creds := oauth1.ClientCreds{ConsumerKey: "consumer", ConsumerSecret: "consumer-secret", SignatureMethod: oauth1.HMACSHA1}
		c := creds
		c.Callback = loginO1Callback
		resp, body := do(t, noRedirect(), signedRequest(t, http.MethodPost, loginAuth+"/oauth1/request_token", "", c))
		temp := formResponse(t, resp, body)

		o1 := newWebClient(t)
		resp, page := signedInAt(t, o1, loginAuth+"/oauth1/authorize?oauth_token="+url.QueryEscape(temp.Get("oauth_token")), "/oauth/login")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "OAuth 1 consumer") {
			t.Fatalf("OAuth 1 consent page: %d\n%s", resp.StatusCode, page)
		}
		framingDenied(t, resp)
		action, form := consentForm(t, page)
		form.Set("decision", "approve")
		resp, body = o1.post(t, loginAuth+action, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("OAuth 1 approval: %d\n%s", resp.StatusCode, body)
		}
		loc := location(t, resp)
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loginO1Callback || loc.Query().Get("oauth_verifier") == "" {
			t.Fatalf("OAuth 1 approval redirected to %s", loc)
		}
		c = creds
		c.Token, c.TokenSecret, c.Verifier = temp.Get("oauth_token"), temp.Get("oauth_token_secret"), loc.Query().Get("oauth_verifier")
		resp, body = do(t, noRedirect(), signedRequest(t, http.MethodPost, loginAuth+"/oauth1/access_token", "", c))
		tc := formResponse(t, resp, body)
		c = creds
		c.Token, c.TokenSecret = tc.Get("oauth_token"), tc.Get("oauth_token_secret")
		resp, body = do(t, noRedirect(), signedRequest(t, http.MethodGet, loginAPI+"/api/me", "", c))
		if resp.StatusCode != http.StatusOK || be.last(t).Header.Get("X-OAuth-User") != testUser {
			t.Fatalf("API with OAuth 1 credentials: %d %s, user %q", resp.StatusCode, body, be.last(t).Header.Get("X-OAuth-User"))
		}
	})

	t.Run("a deleted user's session no longer authorizes", func(t *testing.T) {
		fastPasswordHashing(t)
		adminJSON(t, http.MethodPost, "/oauth/default/users", `{"username":"bob","password":"bob-password-1"}`, http.StatusCreated, nil)
		bob := newWebClient(t)
		if resp, body := signIn(t, bob, loginAuth+"/oauth/login", "bob", "bob-password-1"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("bob's login: %d\n%s", resp.StatusCode, body)
		}
		resp, body := bob.get(t, trusted.AuthCodeURL("st-bob", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		codeRedirect(t, resp, body, "st-bob")
		adminJSON(t, http.MethodDelete, "/oauth/default/users/bob", "", http.StatusOK, nil)
		resp, body = bob.get(t, trusted.AuthCodeURL("st-bob2", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		toLogin(t, resp, body, "/oauth/login")
	})

	t.Run("a server under a prefix with its own login template returns through the prefix", func(t *testing.T) {
		tenant := &xoauth2.Config{
			ClientID: "tenant-app", ClientSecret: "tenant-secret", RedirectURL: loginRedirect,
			Endpoint: xoauth2.Endpoint{AuthURL: loginTenant + "/auth/oauth2/authorize", TokenURL: loginTenant + "/auth/oauth2/token", AuthStyle: xoauth2.AuthStyleInHeader},
		}
		verifier := xoauth2.GenerateVerifier()
		authURL := tenant.AuthCodeURL("st-tenant", xoauth2.S256ChallengeOption(verifier))
		// wc is signed in to the default server; that is no session here.
		resp, body := wc.get(t, authURL)
		loginURL := toLogin(t, resp, body, "/auth/oauth/login")
		if rt := loginURL.Query().Get("return_to"); !strings.HasPrefix(rt, "/auth/oauth2/authorize?") {
			t.Fatalf("return_to %q, want the prefixed authorize path", rt)
		}
		resp, page := wc.get(t, loginURL.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Welcome to the tenant portal") || !strings.Contains(page, `action="/auth/oauth/login"`) {
			t.Fatalf("tenant login page: %d, want the custom template\n%s", resp.StatusCode, page)
		}
		framingDenied(t, resp)
		resp, body = signedInAt(t, wc, authURL, "/auth/oauth/login")
		code := codeRedirect(t, resp, body, "st-tenant")
		if _, err := tenant.Exchange(ctx, code, xoauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("tenant exchange: %v", err)
		}
		if wc.cookie(t, loginTenant, sessionCookie) != sessionValue {
			t.Error("signing in to the tenant replaced the default server's session cookie")
		}
	})

	t.Run("logout asks first, refuses a bad CSRF token, then ends the session", func(t *testing.T) {
		resp, page := wc.get(t, loginAuth+"/oauth/logout")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Fatalf("logout page: %d\n%s", resp.StatusCode, page)
		}
		framingDenied(t, resp)
		action, form := consentForm(t, page)
		resp, _ = wc.post(t, loginAuth+action, url.Values{"csrf_token": {form.Get("csrf_token") + "x"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("logout with a bad CSRF token: %d, want 403", resp.StatusCode)
		}
		resp, body := wc.get(t, trusted.AuthCodeURL("st-still", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		codeRedirect(t, resp, body, "st-still")

		resp, page = wc.post(t, loginAuth+action, form)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Signed out") {
			t.Fatalf("logout: %d\n%s", resp.StatusCode, page)
		}
		if c := setCookie(resp, sessionCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("logout did not clear the session cookie: %+v", c)
		}
		resp, body = wc.get(t, trusted.AuthCodeURL("s", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		toLogin(t, resp, body, "/oauth/login")
		// The old cookie value is dead on the server too.
		req := newRequest(t, http.MethodGet, trusted.AuthCodeURL("s", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())), nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionValue})
		resp, body = do(t, noRedirect(), req)
		toLogin(t, resp, body, "/oauth/login")
	})
}

// TestLoginLockout runs on a fresh config, since a lockout also locks the
// address every test request comes from.
func TestLoginLockout(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, loginCaddyfile(t, t.TempDir(), t.TempDir(), t.TempDir(), be.addr()))
	wc := newWebClient(t)
	resp, page := wc.get(t, loginAuth+"/oauth/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	action, form := consentForm(t, page)
	attempt := func(password string) (*http.Response, string) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("username", testUser)
		f.Set("password", password)
		return wc.post(t, loginAuth+action, f)
	}
	for i := 1; i <= login.DefaultMaxFailures; i++ {
		if resp, body := attempt("wrong-" + string(rune('0'+i))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed attempt %d: status %d, want 401\n%s", i, resp.StatusCode, body)
		}
	}
	resp, body := attempt(testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password after %d failures: status %d, Retry-After %q, want 429 with Retry-After\n%s",
			login.DefaultMaxFailures, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if setCookie(resp, sessionCookie) != nil || wc.cookie(t, loginAuth, sessionCookie) != "" {
		t.Fatal("a locked-out login started a session")
	}
}
