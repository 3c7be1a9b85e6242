package caddyoauth

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"
)

// The browser test listens on 127.0.0.1:9550-9551 (its callback server on
// a free port).
const (
	browserAuth = "http://127.0.0.1:9550"
	browserAPI  = "http://127.0.0.1:9551"
)

// browserTestEnv set to "required" (CI) makes a missing browser a failure
// instead of a skip.
const browserTestEnv = "CADDY_OAUTH_BROWSER_TEST"

// chromiumPath finds a Chromium or Chrome, skipping the test without one
// unless the environment requires the browser test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(browserTestEnv) == "required" {
		t.Fatalf("no chromium found, and %s=required", browserTestEnv)
	}
	t.Skipf("no chromium found; set %s=required to make this a failure", browserTestEnv)
	return ""
}

// callbackHit is what the example client's redirect endpoint received.
type callbackHit struct {
	query   url.Values
	referer string
}

// startCallback plays the example client: an HTTP server whose /callback
// records the authorization response and shows a small page.
func startCallback(t *testing.T) (redirectURI string, hits <-chan callbackHit) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan callbackHit, 4)
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/callback" {
				http.NotFound(w, r)
				return
			}
			select {
			case ch <- callbackHit{r.URL.Query(), r.Header.Get("Referer")}:
			default:
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<!doctype html><title>Example client</title><p id="done">Back at the client.</p>`)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/callback", ch
}

func browserCaddyfile(t *testing.T, redirectURI, backendAddr string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+browserAuth+`
			storage badger `+t.TempDir()+`
			scopes openid read profile
			grants authorization_code refresh_token device_code
			device_interval 1s
			user `+testUser+` `+testPasswordHash(t)+`
			client example-app {
				name "Example app"
				secret example-secret
				redirect_uri `+redirectURI+`
				scopes openid read profile
			}
			client tv {
				name "Living room TV"
				public
				scopes read profile
				grants device_code
			}
		}
	}`) + `
` + browserAuth + ` {
	oauth_server
}

` + browserAPI + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}
`
}

// TestBrowserLoginAndConsent drives a real headless Chromium through the
// OpenID Connect authorization code flow (login form, consent page,
// redirect to the client, an ID token go-oidc verifies), then, in the same
// session, through the device flow's verification page for a real
// golang.org/x/oauth2 device client. It checks what only a browser
// enforces: the pages' CSP (form-action must let the consent POST
// redirect to the client), the cookies' attributes as a browser applies
// them, and the Referrer-Policy.
func TestBrowserLoginAndConsent(t *testing.T) {
	chrome := chromiumPath(t)
	be := newBackend(t)
	redirectURI, hits := startCallback(t)
	startCaddy(t, browserCaddyfile(t, redirectURI, be.addr()))

	conf := &xoauth2.Config{
		ClientID: "example-app", ClientSecret: "example-secret", RedirectURL: redirectURI,
		Scopes: []string{oidc.ScopeOpenID, "read", "profile"},
		Endpoint: xoauth2.Endpoint{
			AuthURL: browserAuth + "/oauth2/authorize", TokenURL: browserAuth + "/oauth2/token",
			AuthStyle: xoauth2.AuthStyleInHeader,
		},
	}
	verifier := xoauth2.GenerateVerifier()
	state := "browser-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	nonce := "nonce-" + xoauth2.GenerateVerifier()[:16]
	signInFrom := time.Now().Truncate(time.Second)
	authURL := conf.AuthCodeURL(state, oidc.Nonce(nonce), xoauth2.S256ChallengeOption(verifier))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	profile := t.TempDir()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Small /dev/shm in containers; loopback only, never a proxy.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(profile),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancelBrowser()
		cancelAlloc() // waits until the browser process has exited
		if n := killBrowserLeftovers(profile); n > 0 {
			t.Errorf("%d browser processes outlived the browser; killed them", n)
		}
	}
	// Registered after t.TempDir, so it runs before the profile is removed.
	t.Cleanup(stop)

	// The login page, reached through the redirect of the authorization
	// request; then the consent page after signing in.
	err := chromedp.Do(bctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), testUser),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[name="decision"][value="approve"]`)),
	)
	if err != nil {
		t.Fatalf("login in the browser: %v", err)
	}
	page, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := url.Parse(authURL); !strings.HasPrefix(page, browserAuth+want.Path+"?") {
		t.Fatalf("after login the browser is at %s, want back at the authorization request", page)
	}
	text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Example app") || !strings.Contains(text, testUser) {
		t.Fatalf("consent page text:\n%s", text)
	}
	// HttpOnly: the page's script sees no session cookie.
	cookies, err := chromedp.Run(bctx, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, sessionCookie) {
		t.Errorf("document.cookie shows the session cookie: %q", cookies)
	}

	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[name="decision"][value="approve"]`))); err != nil {
		t.Fatalf("approving: %v", err)
	}
	var hit callbackHit
	select {
	case hit = <-hits:
	case <-ctx.Done():
		t.Fatal("the browser never reached the callback")
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("callback page: %v", err)
	}
	if loc, err := chromedp.Run(bctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, redirectURI+"?") {
		t.Errorf("browser at %s (%v), want the callback", loc, err)
	}

	if hit.query.Get("state") != state || hit.query.Get("code") == "" || hit.query.Get("iss") != browserAuth {
		t.Fatalf("callback query %v: want the code, state %q and iss", hit.query, state)
	}
	if hit.referer != "" {
		t.Errorf("the callback got Referer %q; the pages say no-referrer", hit.referer)
	}
	hc := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	tok, err := conf.Exchange(hc, hit.query.Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	checkBrowserIDToken(t, hc, tok, nonce, signInFrom)
	req := newRequest(t, http.MethodGet, browserAPI+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, body := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
		t.Fatalf("API: %d %s", resp.StatusCode, body)
	}
	if got := be.last(t); got.Header.Get("X-OAuth-User") != testUser || got.Header.Get("X-OAuth-Scope") != "openid read profile" {
		t.Errorf("backend saw user %q scope %q", got.Header.Get("X-OAuth-User"), got.Header.Get("X-OAuth-Scope"))
	}

	// The device flow, approved in the same browser session: the user
	// opens verification_uri_complete, confirms the prefilled code and
	// answers the consent page while the device polls.
	tv := &xoauth2.Config{ClientID: "tv", Scopes: []string{"read", "profile"}, Endpoint: xoauth2.Endpoint{
		DeviceAuthURL: browserAuth + "/oauth2/device_authorization", TokenURL: browserAuth + "/oauth2/token",
		AuthStyle: xoauth2.AuthStyleInParams,
	}}
	da, err := tv.DeviceAuth(hc)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	polling := pollInBackground(ctx, tv, da)
	err = chromedp.Do(bctx,
		chromedp.Navigate(da.VerificationURIComplete),
		chromedp.WaitVisible(chromedp.CSS("#user_code")),
	)
	if err != nil {
		t.Fatalf("device page in the browser: %v", err)
	}
	code, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS("#user_code")))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[name="decision"][value="approve"]`)),
	)
	if err != nil {
		t.Fatalf("confirming the code in the browser: %v", err)
	}
	if code != da.UserCode {
		t.Errorf("the device page prefilled %q, want %q", code, da.UserCode)
	}
	if text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body"))); err != nil || !strings.Contains(text, "Living room TV") {
		t.Fatalf("device consent page (%v):\n%s", err, text)
	}
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`button[name="decision"][value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if err != nil {
		t.Fatalf("approving the device: %v", err)
	}
	// The consent page has an h1 too, so the wait above may have seen it
	// while the browser was still navigating to the result, and reading
	// it then fails with "Cannot find context": read until the result
	// page is there.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("h1")))
		if err == nil && text == "Device connected" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after approval the page says %q (%v)", text, err)
			break
		}
	}
	stop() // the browser's part is done

	p := waitPolled(t, polling)
	if p.err != nil {
		t.Fatalf("device polling: %v", p.err)
	}
	req = newRequest(t, http.MethodGet, browserAPI+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+p.tok.AccessToken)
	if resp, body := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the device token: %d %s", resp.StatusCode, body)
	}
	if got := be.last(t); got.Header.Get("X-OAuth-User") != testUser || got.Header.Get("X-OAuth-Client-Id") != "tv" {
		t.Errorf("backend saw user %q client %q", got.Header.Get("X-OAuth-User"), got.Header.Get("X-OAuth-Client-Id"))
	}
}

// checkBrowserIDToken verifies the ID token of tok as a relying party
// does (discovery, signature, iss, aud, nonce) and its claims: the sub
// UserInfo names for the signed-in user, and the sign-in time.
func checkBrowserIDToken(t *testing.T, ctx context.Context, tok *xoauth2.Token, nonce string, signInFrom time.Time) {
	t.Helper()
	op, err := oidc.NewProvider(ctx, browserAuth)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&oidc.Config{ClientID: "example-app"}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var c struct {
		AuthTime int64  `json:"auth_time"`
		Azp      string `json:"azp"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != nonce || c.Azp != "example-app" || c.AuthTime < signInFrom.Unix() || c.AuthTime > time.Now().Unix() {
		t.Errorf("ID token nonce %q azp %q auth_time %d (signed in from %d)", idt.Nonce, c.Azp, c.AuthTime, signInFrom.Unix())
	}
	info, err := op.UserInfo(ctx, xoauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
	}
	_ = info.Claims(&claims)
	if info.Subject == "" || info.Subject != idt.Subject || claims.PreferredUsername != testUser {
		t.Errorf("userinfo sub %q preferred_username %q, ID token sub %q", info.Subject, claims.PreferredUsername, idt.Subject)
	}
}

// killBrowserLeftovers kills processes still running with the test's
// profile directory (only this test's browser uses it) and returns how
// many there were. Linux only; elsewhere it finds none.
func killBrowserLeftovers(profile string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := "--user-data-dir=" + profile
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for arg := range strings.SplitSeq(string(cmdline), "\x00") {
			if arg == want {
				if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
					n++
				}
				break
			}
		}
	}
	return n
}
