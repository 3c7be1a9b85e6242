package login

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	b.login("alice", alicePassword, "/")
	value := b.session()
	stored, err := e.db.GetSession(context.Background(), provider.HashToken(value))
	if err != nil {
		t.Fatal(err)
	}

	page := b.do(http.MethodGet, DefaultLogoutPath, nil)
	checkPageHeaders(t, page)
	if page.Code != http.StatusOK || csrfOf(t, page) != stored.CSRF ||
		!strings.Contains(page.Body.String(), `action="`+DefaultLogoutPath+`"`) || !strings.Contains(page.Body.String(), "alice") {
		t.Fatalf("logout form: status %d\n%s", page.Code, page.Body.String())
	}

	for name, form := range map[string]url.Values{
		"without a token":    {},
		"with a wrong token": {"csrf_token": {"x" + stored.CSRF}},
		"with another token": {"csrf_token": {strings.Repeat("A", 43)}},
		"with two tokens":    {"csrf_token": {stored.CSRF, stored.CSRF}},
	} {
		rec := b.do(http.MethodPost, DefaultLogoutPath, form)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("POST %s: status %d, want 403", name, rec.Code)
		}
		checkPageHeaders(t, rec)
		if b.session() != value {
			t.Fatalf("POST %s: cookie changed", name)
		}
		if _, ok := e.m.User(sessionRequest(value)); !ok {
			t.Fatalf("POST %s ended the session", name)
		}
	}
	// A GET never signs out, whatever it carries.
	b.do(http.MethodGet, DefaultLogoutPath+"?csrf_token="+url.QueryEscape(stored.CSRF), nil)
	if _, ok := e.m.User(sessionRequest(value)); !ok {
		t.Fatal("GET ended the session")
	}

	rec := b.do(http.MethodPost, DefaultLogoutPath, url.Values{"csrf_token": {stored.CSRF}})
	checkPageHeaders(t, rec)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "You are signed out.") {
		t.Fatalf("logout: status %d\n%s", rec.Code, rec.Body.String())
	}
	c := cookieNamed(rec, DefaultCookieName)
	if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != "/" || !c.HttpOnly {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	if _, err := e.db.GetSession(context.Background(), provider.HashToken(value)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session still stored: %v", err)
	}
	if _, ok := e.m.User(sessionRequest(value)); ok {
		t.Fatal("still signed in after logout")
	}
	if ev := e.events.named("logout"); len(ev) != 1 || ev[0].User != "alice" {
		t.Fatalf("events %+v", ev)
	}
}

func TestLogoutWithoutASessionShowsSignedOut(t *testing.T) {
	e := newEnv(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		b := e.browser("192.0.2.1:5000")
		b.cookies[DefaultCookieName] = strings.Repeat("Z", 43) // unknown session
		rec := b.do(method, DefaultLogoutPath, url.Values{})
		checkPageHeaders(t, rec)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "You are signed out.") || strings.Contains(rec.Body.String(), "<form") {
			t.Fatalf("%s: status %d\n%s", method, rec.Code, rec.Body.String())
		}
		if b.session() != "" {
			t.Fatalf("%s: stale cookie kept", method)
		}
	}
}

func sessionRequest(value string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/app", nil)
	r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: value})
	return r
}

// EndSession is how RP-initiated logout signs out: the session is gone
// from the store (for every server sharing it), the cookie cleared, and
// the event names the client; without a session it does nothing.
func TestEndSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	b.login("alice", alicePassword, "/")
	value := b.session()
	r := sessionRequest(value)
	user, csrf, ok, err := e.m.SessionOf(r)
	stored, _ := e.db.GetSession(context.Background(), provider.HashToken(value))
	if err != nil || !ok || user != "alice" || stored == nil || csrf != stored.CSRF {
		t.Fatalf("SessionOf = %q %q %v %v", user, csrf, ok, err)
	}
	rec := httptest.NewRecorder()
	if err := e.m.EndSession(rec, r, "rp"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.GetSession(context.Background(), provider.HashToken(value)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the session is still stored: %v", err)
	}
	if c := cookieNamed(rec, DefaultCookieName); c == nil || c.MaxAge >= 0 {
		t.Fatalf("cookie not cleared: %v", rec.Header())
	}
	if ev := e.events.named("logout"); len(ev) != 1 || ev[0].User != "alice" || ev[0].ClientID != "rp" {
		t.Fatalf("logout events %+v", ev)
	}
	if _, _, ok, err := e.m.SessionOf(r); ok || err != nil {
		t.Fatalf("SessionOf after EndSession: %v %v", ok, err)
	}
	rec = httptest.NewRecorder()
	if err := e.m.EndSession(rec, r, "rp"); err != nil || rec.Header().Get("Set-Cookie") != "" || len(e.events.named("logout")) != 1 {
		t.Fatalf("EndSession without a session: %v %v", err, rec.Header())
	}
}
