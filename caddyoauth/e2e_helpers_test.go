package caddyoauth

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"golang.org/x/crypto/bcrypt"
)

// The end-to-end tests share one in-process Caddy (caddytest: admin on
// localhost:2999) and listen on fixed 127.0.0.1 ports in 9480-9499.
const (
	e2eHTTPPort  = "9498"
	e2eHTTPSPort = "9499"
)

// e2eGlobal is the top of every test Caddyfile: caddytest's admin
// endpoint, loopback-only listeners, no TLS, then the oauth option.
func e2eGlobal(oauth string) string {
	return `{
	skip_install_trust
	admin localhost:2999
	http_port ` + e2eHTTPPort + `
	https_port ` + e2eHTTPSPort + `
	grace_period 1ns
	auto_https off
	default_bind 127.0.0.1
	` + oauth + `
}
`
}

// testPassword is the demo user's password; its bcrypt hash is made with
// the lowest cost so the tests stay fast.
const (
	testUser     = "alice"
	testPassword = "wonderland"
)

var (
	hashOnce sync.Once
	hash     string
)

func testPasswordHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		hash = string(h)
	})
	return hash
}

// received is what the backend behind require_oauth saw of one request.
type received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   string
}

// backend records every request it gets; the gateway tests check what
// reached it and that refused requests never did.
type backend struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.reqs = append(b.reqs, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		b.mu.Unlock()
		_, _ = io.WriteString(w, "backend ok")
	}))
	t.Cleanup(b.Close)
	return b
}

// addr is the backend's host:port for reverse_proxy.
func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

func (b *backend) last(t *testing.T) received {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("the backend received no request")
	}
	return b.reqs[len(b.reqs)-1]
}

// headerValues returns every value the backend got under a name that folds
// (case, '_' vs '-') to name: what a CGI-style backend would see.
func headerValues(h http.Header, name string) []string {
	var out []string
	for k, vs := range h {
		if sameHeaderName(k, foldHeaderName(name)) {
			out = append(out, vs...)
		}
	}
	return out
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req and returns the response with its body read.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func postForm(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req := newRequest(t, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// location parses a redirect's Location header.
func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("status %d, no usable Location: %v", resp.StatusCode, err)
	}
	return loc
}

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// consentForm extracts the consent page's form: its action and hidden
// fields (the round-tripped request and the CSRF token), as a browser
// would submit them.
func consentForm(t *testing.T, page string) (action string, form url.Values) {
	t.Helper()
	m := formActionRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no consent form in page:\n%s", page)
	}
	form = url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	if form.Get("csrf_token") == "" {
		t.Fatalf("consent form without csrf_token:\n%s", page)
	}
	return html.UnescapeString(m[1]), form
}

// startCaddy loads the Caddyfile into the shared test Caddy and, when the
// test ends, loads an empty config again: that closes the test's database
// before t.TempDir removes its directory (cleanups run last-in, first-out).
func startCaddy(t *testing.T, caddyfile string) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t)
	tester.InitServer(caddyfile, "caddyfile")
	t.Cleanup(func() { unloadCaddy(t) })
	if t.Failed() {
		t.FailNow()
	}
	return tester
}

// unloadCaddy replaces the running config with one that only keeps the
// admin endpoint.
func unloadCaddy(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://localhost:2999/load", strings.NewReader(`{"admin":{"listen":"localhost:2999"}}`))
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("unloading the test config: %v", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unloading the test config: %d %s", resp.StatusCode, body)
	}
}
