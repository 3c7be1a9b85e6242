package login

import (
	"context"
	"crypto/tls"
	"errors"
	"github.com/caddy-oauth/caddy-oauth/provider/providertest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// testClock is the shared settable clock.
type testClock = providertest.Clock

// bcryptChecker is a small real PasswordChecker over the store's users,
// comparing unknown users against a dummy hash as the Caddy glue does.
type bcryptChecker struct {
	users store.UserStore
	dummy []byte
	calls atomic.Int64
}

func (c *bcryptChecker) CheckPassword(ctx context.Context, username, password string) (bool, error) {
	c.calls.Add(1)
	u, err := c.users.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(c.dummy, []byte(password))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	return err == nil, err
}

// recordingSessions passes everything to the real store and keeps a copy
// of what was saved, so a test can see exactly what reached it.
type recordingSessions struct {
	store.SessionStore
	mu    sync.Mutex
	saved []store.Session
}

func (s *recordingSessions) SaveSession(ctx context.Context, sess *store.Session) error {
	s.mu.Lock()
	s.saved = append(s.saved, *sess)
	s.mu.Unlock()
	return s.SessionStore.SaveSession(ctx, sess)
}

type eventLog struct {
	mu     sync.Mutex
	events []provider.Event
}

func (l *eventLog) add(e provider.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) named(name string) []provider.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []provider.Event
	for _, e := range l.events {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "hunter2 hunter2"
)

type env struct {
	t        *testing.T
	m        *Manager
	db       *badger.DB
	sessions *recordingSessions
	checker  *bcryptChecker
	clock    *testClock
	pages    *provider.Pages
	events   *eventLog
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open badger: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for user, pw := range map[string]string{"alice": alicePassword, "bob": bobPassword} {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, &store.User{Username: user, PasswordHash: string(h), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("dummy"), bcrypt.MinCost)
	e := &env{
		t:        t,
		db:       db,
		sessions: &recordingSessions{SessionStore: db},
		checker:  &bcryptChecker{users: db, dummy: dummy},
		clock:    providertest.NewClock(time.Now()),
		events:   &eventLog{},
	}
	e.pages = &provider.Pages{Key: []byte("0123456789abcdef0123456789abcdef"), Clock: e.clock.Now}
	cfg := Config{
		Pages:     e.pages,
		Sessions:  e.sessions,
		Attempts:  db,
		Passwords: e.checker,
		Clock:     e.clock.Now,
		Audit:     e.events.add,
	}
	if mod != nil {
		mod(&cfg)
	}
	e.m, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// browser keeps cookies like a browser (ignoring paths) and sends requests
// straight to the Manager's handlers; any other path stands for an
// authorization endpoint that needs a signed-in user.
type browser struct {
	e       *env
	addr    string
	tls     bool
	cookies map[string]string
}

func (e *env) browser(addr string) *browser {
	return &browser{e: e, addr: addr, cookies: map[string]string{}}
}

func (b *browser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.RemoteAddr = b.addr
	if b.tls {
		r.TLS = &tls.ConnectionState{}
	}
	for n, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	rec := httptest.NewRecorder()
	switch r.URL.Path {
	case b.e.m.cfg.LoginPath:
		b.e.m.ServeLogin(rec, r)
	case b.e.m.cfg.LogoutPath:
		b.e.m.ServeLogout(rec, r)
	default:
		if user, ok := b.e.m.User(r); ok {
			_, _ = io.WriteString(rec, "hello "+user)
		} else {
			b.e.m.RedirectToLogin(rec, r)
		}
	}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no csrf_token in page (status %d):\n%s", rec.Code, rec.Body.String())
	}
	return m[1]
}

// login opens the login page and submits it.
func (b *browser) login(user, password, returnTo string) *httptest.ResponseRecorder {
	b.e.t.Helper()
	page := b.do(http.MethodGet, b.e.m.cfg.LoginPath+"?"+url.Values{"return_to": {returnTo}}.Encode(), nil)
	return b.do(http.MethodPost, b.e.m.cfg.LoginPath, url.Values{
		"username": {user}, "password": {password},
		"return_to": {returnTo}, "csrf_token": {csrfOf(b.e.t, page)},
	})
}

func (b *browser) session() string { return b.cookies[b.e.m.cfg.CookieName] }

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// checkPageHeaders asserts what every login, logout and error page needs
// (SECURITY.md 10): no framing, no third-party loads, no Referer, no cache.
func checkPageHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	switch {
	case h.Get("X-Frame-Options") != "DENY":
		t.Errorf("X-Frame-Options = %q", h.Get("X-Frame-Options"))
	case !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'"):
		t.Errorf("Content-Security-Policy = %q", csp)
	case h.Get("Referrer-Policy") != "no-referrer":
		t.Errorf("Referrer-Policy = %q", h.Get("Referrer-Policy"))
	case h.Get("Cache-Control") != "no-store":
		t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
	}
	body := rec.Body.String()
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "<script") {
		t.Errorf("page loads external or script resources:\n%s", body)
	}
}
