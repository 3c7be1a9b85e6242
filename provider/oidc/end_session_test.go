package oidc_test

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// signIn makes a login session for user in the store, as the login page
// does, and returns its cookie.
func (e *env) signIn(user string) *http.Cookie {
	e.t.Helper()
	value, err := provider.NewToken(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	if err := e.db.SaveSession(e.t.Context(), &store.Session{Hash: provider.HashToken(value), User: user,
		CSRF: "csrf-" + user, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: login.DefaultCookieName, Value: value}
}

// signedIn reports whether the session of cookie is still in the store.
func (e *env) signedIn(c *http.Cookie) bool {
	e.t.Helper()
	_, err := e.db.GetSession(e.t.Context(), provider.HashToken(c.Value))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

// logout sends a logout request (the query of a GET, the form of a POST).
func (e *env) logout(method string, params url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
	var r *http.Request
	if method == http.MethodPost {
		r = httptest.NewRequest(method, oidc.PathEndSession, strings.NewReader(params.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, oidc.PathEndSession+"?"+params.Encode(), nil)
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)
	return rec
}

// idToken is an ID token of client for user.
func (e *env) idToken(user, client, redirect string) string {
	e.t.Helper()
	secret := webSecret
	if client == "other" {
		secret = otherSecret
	}
	return e.exchange(client, secret, redirect, e.codeFor(user, client, redirect, "openid", "", time.Time{})).IDToken
}

// foreignToken is a well-formed ID token signed with another server's
// keys (same issuer).
func foreignToken(t *testing.T) string {
	t.Helper()
	other := newEnv(t, "")
	return other.idToken("alice", "web", webRedirect)
}

// claimsToken is a token signed with this server's ID token keys over
// the given claims: what only a bug or a key thief could make, to check
// the claim checks themselves.
func (e *env) claimsToken(claims string) string {
	e.t.Helper()
	tok, err := e.op.Keys()[0].SignJSON(e.t.Context(), []byte(claims))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestIDTokenHintVerification(t *testing.T) {
	e := newEnv(t, "")
	good := e.idToken("alice", "web", webRedirect)
	now := strconv.FormatInt(e.clock.Now().Unix(), 10)
	h, err := e.op.IDTokenHint(t.Context(), good)
	if err != nil || h.Subject != "alice" || h.ClientID != "web" {
		t.Fatalf("a good hint: %+v %v", h, err)
	}
	for name, tok := range map[string]string{
		"signed by another server's key": foreignToken(t),
		"an access token":                e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "", time.Time{})).AccessToken,
		"another issuer":                 e.claimsToken(`{"iss":"https://evil.example.com","sub":"alice","aud":"web","exp":` + now + `}`),
		"no subject":                     e.claimsToken(`{"iss":"` + testIssuer + `","aud":"web","exp":` + now + `}`),
		"no audience":                    e.claimsToken(`{"iss":"` + testIssuer + `","sub":"alice","exp":` + now + `}`),
		"two audiences, no azp":          e.claimsToken(`{"iss":"` + testIssuer + `","sub":"alice","aud":["web","other"],"exp":` + now + `}`),
		"azp not among the audiences":    e.claimsToken(`{"iss":"` + testIssuer + `","sub":"alice","aud":"web","azp":"other","exp":` + now + `}`),
		"garbage":                        "not.a.token",
	} {
		if _, err := e.op.IDTokenHint(t.Context(), tok); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	if h, err := e.op.IDTokenHint(t.Context(), e.claimsToken(`{"iss":"`+testIssuer+`","sub":"alice","aud":["web","other"],"azp":"other","exp":`+now+`}`)); err != nil || h.ClientID != "other" {
		t.Errorf("several audiences name the client by azp: %+v %v", h, err)
	}
	// Expired (the key is still published): still a hint.
	e.clock.Advance(3 * time.Hour)
	if h, err := e.op.IDTokenHint(t.Context(), good); err != nil || h.Subject != "alice" || !h.ExpiresAt.Before(e.clock.Now()) {
		t.Fatalf("an expired hint: %+v %v", h, err)
	}
}

func TestDiscoveryAdvertisesEndSession(t *testing.T) {
	e := newEnv(t, "")
	var d map[string]any
	if err := jsonDecode(e.get(oidc.PathDiscovery, "").Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d["end_session_endpoint"] != testIssuer+oidc.PathEndSession || d["claims_parameter_supported"] != false {
		t.Fatalf("end_session_endpoint %v claims_parameter_supported %v", d["end_session_endpoint"], d["claims_parameter_supported"])
	}
}

func TestEndSessionWithAHintForTheSignedInUser(t *testing.T) {
	e := newEnv(t, "")
	hint := e.idToken("alice", "web", webRedirect)
	cookie := e.signIn("alice")
	other := e.signIn("alice") // another browser of alice's
	rec := e.logout(http.MethodGet, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webBye}, "state": {"s 1&x"}}, cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webBye+"?state=s+1%26x" {
		t.Fatalf("%d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if e.signedIn(cookie) {
		t.Fatal("the session is still in the store")
	}
	if !e.signedIn(other) {
		t.Fatal("another session of the user was ended too")
	}
	if sc := rec.Header().Get("Set-Cookie"); !strings.Contains(sc, login.DefaultCookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("cookie not cleared: %q", sc)
	}
	if !e.events.has("logout") {
		t.Error("no logout event")
	}
	// The registered URI's own query is kept byte for byte; state after it.
	cookie = e.signIn("alice")
	rec = e.logout(http.MethodPost, url.Values{"id_token_hint": {hint}, "client_id": {"web"}, "post_logout_redirect_uri": {webByeQuery}, "state": {"st"}}, cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webByeQuery+"&state=st" || e.signedIn(cookie) {
		t.Fatalf("POST: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	// Without a redirect URI: the signed-out page.
	cookie = e.signIn("alice")
	rec = e.logout(http.MethodGet, url.Values{"id_token_hint": {hint}}, cookie)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "You are signed out") || e.signedIn(cookie) {
		t.Fatalf("no redirect URI: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAnExpiredHintStillSignsOut(t *testing.T) {
	e := newEnv(t, "")
	hint := e.idToken("alice", "web", webRedirect)
	e.clock.Advance(2 * time.Hour) // the ID token lives 1h
	cookie := e.signIn("alice")
	rec := e.logout(http.MethodGet, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webBye}}, cookie)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webBye || e.signedIn(cookie) {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestEndSessionRefusalsNeverRedirectNorSignOut(t *testing.T) {
	e := newEnv(t, "")
	hint := e.idToken("alice", "web", webRedirect)
	for _, tc := range []struct {
		name   string
		params url.Values
	}{
		{"a hint signed by another key", url.Values{"id_token_hint": {foreignToken(t)}, "post_logout_redirect_uri": {webBye}}},
		{"a hint with another issuer", url.Values{"id_token_hint": {e.claimsToken(`{"iss":"https://evil.example.com","sub":"alice","aud":"web","exp":1}`)}}},
		{"client_id not the hint's", url.Values{"id_token_hint": {hint}, "client_id": {"other"}}},
		{"client_id not the hint's, with the hint's URI", url.Values{"id_token_hint": {hint}, "client_id": {"other"}, "post_logout_redirect_uri": {webBye}}},
		{"client_id not the hint's, with its own URI", url.Values{"id_token_hint": {hint}, "client_id": {"other"}, "post_logout_redirect_uri": {otherBye}}},
		{"another client's URI", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {otherBye}}},
		{"a trailing slash", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webBye + "/"}}},
		{"another port", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com:8443/bye"}}},
		{"an extra query", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webBye + "?x=1"}}},
		{"a different case", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://APP.example.com/bye"}}},
		{"the login redirect URI", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webRedirect}}},
		{"a URI without any client", url.Values{"post_logout_redirect_uri": {webBye}}},
		{"an unknown client", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {webBye}}},
		{"client_id with a URI of another", url.Values{"client_id": {"other"}, "post_logout_redirect_uri": {webBye}}},
		{"a repeated parameter", url.Values{"id_token_hint": {hint}, "state": {"a", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				cookie := e.signIn("alice")
				rec := e.logout(method, tc.params, cookie)
				if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
					t.Fatalf("%s: %d Location %q", method, rec.Code, rec.Header().Get("Location"))
				}
				if !e.signedIn(cookie) || rec.Header().Get("Set-Cookie") != "" {
					t.Fatalf("%s: the refused request signed the user out", method)
				}
			}
		})
	}
	if !e.events.has("logout_refused") {
		t.Error("no logout_refused event")
	}
}

var csrfField = `name="csrf_token" value="`

func TestEndSessionWithoutAMatchingHintAsksFirst(t *testing.T) {
	e := newEnv(t, "")
	bobsHint := e.idToken("bob", "web", webRedirect)
	for name, params := range map[string]url.Values{
		"no hint":             {"client_id": {"web"}, "post_logout_redirect_uri": {webBye}, "state": {"st"}},
		"another user's hint": {"id_token_hint": {bobsHint}, "post_logout_redirect_uri": {webBye}, "state": {"st"}},
	} {
		t.Run(name, func(t *testing.T) {
			cookie := e.signIn("alice")
			page := e.logout(http.MethodGet, params, cookie)
			body := page.Body.String()
			if page.Code != http.StatusOK || !strings.Contains(body, csrfField+"csrf-alice") || !strings.Contains(body, "Web app") {
				t.Fatalf("confirmation page: %d %s", page.Code, body)
			}
			if !strings.Contains(page.Header().Get("Content-Security-Policy"), "form-action 'self' https://app.example.com") ||
				page.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", page.Header())
			}
			if !e.signedIn(cookie) {
				t.Fatal("a bare GET signed the user out")
			}
			// A forged form (another site cannot know the CSRF value).
			forged := url.Values{"csrf_token": {"guess"}}
			for k, v := range params {
				forged[k] = v
			}
			if rec := e.logout(http.MethodPost, forged, cookie); rec.Code != http.StatusForbidden || !e.signedIn(cookie) {
				t.Fatalf("forged confirmation: %d", rec.Code)
			}
			// The form as rendered: every hidden field posted back.
			form := hiddenFields(t, body)
			if form.Get("post_logout_redirect_uri") != webBye || form.Get("state") != "st" {
				t.Fatalf("hidden fields %v", form)
			}
			rec := e.logout(http.MethodPost, form, cookie)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webBye+"?state=st" || e.signedIn(cookie) {
				t.Fatalf("confirmed: %d %q", rec.Code, rec.Header().Get("Location"))
			}
		})
	}
}

func TestEndSessionWithoutASession(t *testing.T) {
	e := newEnv(t, "")
	// Nothing to end: straight to the registered URI, or the signed-out page.
	rec := e.logout(http.MethodGet, url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {webBye}, "state": {"x"}}, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != webBye+"?state=x" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := e.logout(http.MethodGet, nil, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "You are signed out") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	// A cross-site POST carries no SameSite=Lax cookie: it becomes a GET,
	// which does.
	params := url.Values{"id_token_hint": {e.idToken("alice", "web", webRedirect)}, "post_logout_redirect_uri": {webBye}}
	rec = e.logout(http.MethodPost, params, nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || loc == nil || loc.Path != oidc.PathEndSession || loc.Query().Get("id_token_hint") != params.Get("id_token_hint") {
		t.Fatalf("cookieless POST: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	cookie := e.signIn("alice")
	if rec := e.logout(http.MethodGet, loc.Query(), cookie); rec.Code != http.StatusSeeOther || e.signedIn(cookie) {
		t.Fatalf("the GET it became: %d", rec.Code)
	}
}

func TestAnEndedSessionNoLongerSignsIn(t *testing.T) {
	e := newEnv(t, "")
	cookie := e.signIn("alice")
	r := httptest.NewRequest(http.MethodGet, oauth2.PathAuthorize, nil)
	r.AddCookie(cookie)
	if u, ok := e.login.User(r); !ok || u != "alice" {
		t.Fatal("not signed in before")
	}
	e.logout(http.MethodGet, url.Values{"id_token_hint": {e.idToken("alice", "web", webRedirect)}}, cookie)
	if _, ok := e.login.User(r); ok {
		t.Fatal("still signed in after end_session")
	}
}

// The hint at the authorization endpoint goes through the same
// verification: an expired one still names the user (prompt=none after
// the ID token expired is its main use), another user is login_required,
// a bad one invalid_request.
func TestIDTokenHintAtAuthorize(t *testing.T) {
	e := newEnv(t, "")
	hint := e.idToken("alice", "web", webRedirect)
	e.clock.Advance(2 * time.Hour)
	authorize := func(user, hint string) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect}, "scope": {"openid"},
			"state": {"s"}, "prompt": {"none"}, "id_token_hint": {hint}}
		rec := httptest.NewRecorder()
		e.srv.Authorize(rec, httptest.NewRequest(http.MethodGet, oauth2.PathAuthorize+"?"+q.Encode(), nil), user)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || rec.Code != http.StatusFound && rec.Code != http.StatusSeeOther {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		return loc.Query()
	}
	if q := authorize("alice", hint); q.Get("code") == "" {
		t.Errorf("alice with her expired hint: %v", q)
	}
	if q := authorize("bob", hint); q.Get("error") != "login_required" {
		t.Errorf("bob with alice's hint: %v", q)
	}
	for name, bad := range map[string]string{
		"signed by another key":  foreignToken(t),
		"issued to other":        e.idToken("alice", "other", otherRedir),
		"another issuer's claim": e.claimsToken(`{"iss":"https://evil.example.com","sub":"alice","aud":"web","exp":1}`),
	} {
		if q := authorize("alice", bad); q.Get("error") != "invalid_request" {
			t.Errorf("%s: %v", name, q)
		}
	}
}

// Nothing sent to end_session answers a 5xx, and nothing redirects
// anywhere but a registered URI or back to the endpoint itself.
func FuzzEndSession(f *testing.F) {
	f.Add("id_token_hint=x&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye", true, false)
	f.Add("client_id=web&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=%ff", false, true)
	f.Add("csrf_token=csrf-alice&client_id=web&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", true, true)
	f.Add("%zz=1;a", true, false)
	e := newEnv(f, "")
	cookie := e.signIn("alice")
	f.Fuzz(func(t *testing.T, raw string, post, withCookie bool) {
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, oidc.PathEndSession, strings.NewReader(raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, oidc.PathEndSession, nil)
			r.URL.RawQuery = raw
		}
		if withCookie {
			r.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d", raw, rec.Code)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, oidc.PathEndSession+"?") &&
			!strings.HasPrefix(loc, webBye) && !strings.HasPrefix(loc, webByeQuery) && !strings.HasPrefix(loc, otherBye) {
			t.Fatalf("%q redirected to %q", raw, loc)
		}
	})
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// hiddenFields are the hidden inputs of a rendered form.
func hiddenFields(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(body, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if !v.Has("csrf_token") {
		t.Fatalf("no csrf_token in %s", body)
	}
	return v
}

// Without Config.Logout there is no end_session endpoint, nor its
// discovery member.
func TestNoLogoutConfigNoEndSession(t *testing.T) {
	e := newEnv(t, "")
	op, err := oidc.New(oidc.Config{Issuer: testIssuer, TokenTTL: time.Hour, Clock: e.clock.Now}, e.db)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := op.Endpoints(e.srv)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if ep.Path == oidc.PathEndSession {
			t.Fatal("end_session served without a Logout config")
		}
		if ep.Path == oidc.PathDiscovery {
			rec := httptest.NewRecorder()
			ep.Serve(rec, httptest.NewRequest(http.MethodGet, oidc.PathDiscovery, nil))
			if strings.Contains(rec.Body.String(), "end_session_endpoint") {
				t.Fatalf("discovery advertises end_session: %s", rec.Body.String())
			}
		}
	}
	if _, err := oidc.New(oidc.Config{Issuer: testIssuer, TokenTTL: time.Hour, Logout: &oidc.Logout{}}, e.db); err == nil {
		t.Fatal("an incomplete Logout config was accepted")
	}
}
