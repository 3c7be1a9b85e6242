// Package cluster holds the cluster example (Caddyfile, Caddyfile.lb,
// run.sh) and its test: several Caddy processes, built from
// examples/caddy and started with this directory's Caddyfile, sharing one
// real redis-server, must act as one authorization server.
package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// caddyBin is the Caddy binary with this module, built once by TestMain.
var caddyBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("redis-server"); err != nil && os.Getenv(redistest.RequiredEnv) != "required" {
		// The tests skip themselves (redistest says why); no build needed.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "caddy-oauth-cluster")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", caddyBin, "../caddy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building examples/caddy:", err)
		return 1
	}
	return m.Run()
}

// The issuer every node is configured with: the load balancer's URL. The
// tests talk to each node directly, with this Host, as the balancer would.
const (
	issuerHost = "localhost:8090"
	issuer     = "http://" + issuerHost
)

// node is one Caddy process running examples/cluster/Caddyfile.
type node struct {
	name  string
	url   string // http://127.0.0.1:port
	admin string // its admin API, http://127.0.0.1:port
	cmd   *exec.Cmd
	done  chan struct{}
	log   *bytes.Buffer
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNode starts a node on redisAddr with the given key prefix and
// token format and waits until it listens (it may answer 503 if Redis is
// down). It is stopped when the test ends.
func startNode(t *testing.T, name, redisAddr, prefix, tokenFormat, backend string) *node {
	t.Helper()
	port, adminPort := freePort(t), freePort(t)
	home := t.TempDir()
	n := &node{
		name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), admin: "http://127.0.0.1:" + strconv.Itoa(adminPort),
		done: make(chan struct{}), log: new(bytes.Buffer),
	}
	n.cmd = exec.Command(caddyBin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	n.cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home,
		"NODE_PORT="+strconv.Itoa(port), "NODE_ADMIN=127.0.0.1:"+strconv.Itoa(adminPort),
		"ISSUER="+issuer, "REDIS_ADDR="+redisAddr, "KEY_PREFIX="+prefix,
		"TOKEN_FORMAT="+tokenFormat, "BACKEND="+backend)
	n.cmd.Stdout, n.cmd.Stderr = &lockedWriter{w: n.log}, &lockedWriter{w: n.log}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", n.name, n.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.url + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("%s exited: %v\n%s", name, n.cmd.ProcessState, n.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after 30s:\n%s", name, n.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedWriter serializes a process's stdout and stderr into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// backend stands in for the protected application: it echoes the
// identity headers the gateway set.
func backend(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s client=%s", r.Header.Get("X-OAuth-User"), r.Header.Get("X-OAuth-Client-Id"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// client is a browser-like HTTP client: a cookie jar shared by every node
// (cookies ignore ports), no redirects followed, the issuer's Host sent.
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, http: &http.Client{
		Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// request builds a request for path on node n, with the issuer's Host.
func request(t *testing.T, method string, n *node, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = issuerHost
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(n *node, path string) (*http.Response, string) {
	return c.do(request(c.t, http.MethodGet, n, path, nil))
}

func (c *client) post(n *node, path string, form url.Values) (*http.Response, string) {
	return c.do(request(c.t, http.MethodPost, n, path, strings.NewReader(form.Encode())))
}

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// pageForm is a page's form as a browser would submit it: its action
// and hidden fields.
func pageForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formActionRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), form
}

// redirectURI is where a response sends the browser, as a path for
// another node, or the whole URL for the client's callback.
func redirected(t *testing.T, resp *http.Response, body string) *url.URL {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("status %d, want a redirect; body:\n%s", resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// signIn signs alice in on node n through the login page the request
// (answered with a redirect to it) led to, and returns where the login
// sends the browser back.
func (c *client) signIn(n *node, toLogin *url.URL) *url.URL {
	c.t.Helper()
	resp, page := c.get(n, toLogin.RequestURI())
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("login page on %s: %d\n%s", n.name, resp.StatusCode, page)
	}
	action, form := pageForm(c.t, page)
	form.Set("username", "alice")
	form.Set("password", "wonderland")
	resp, body := c.post(n, action, form)
	return redirected(c.t, resp, body)
}

// approve submits the consent page on node n with "approve" and returns
// the redirect to the client.
func (c *client) approve(n *node, page string) *url.URL {
	c.t.Helper()
	action, form := pageForm(c.t, page)
	form.Set("decision", "approve")
	resp, body := c.post(n, action, form)
	return redirected(c.t, resp, body)
}

// codeAcross signs in on a, gives consent on b and returns the code and
// PKCE verifier, for a redemption on a third node.
func codeAcross(t *testing.T, c *client, a, b *node, scope string) (code, verifier string) {
	t.Helper()
	verifier = strings.Repeat("v", 20) + strconv.FormatInt(time.Now().UnixNano(), 10) + strings.Repeat("x", 20)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {"demo-app"}, "redirect_uri": {"http://localhost:8000/callback"},
		"scope": {scope}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	authz := "/oauth2/authorize?" + q.Encode()
	resp, body := c.get(a, authz)
	back := c.signIn(a, redirected(t, resp, body))
	if back.RequestURI() != authz {
		t.Fatalf("login returned to %s, want %s", back.RequestURI(), authz)
	}
	resp, page := c.get(b, authz) // the session made on a is known to b
	var cb *url.URL
	switch resp.StatusCode {
	case http.StatusOK: // the consent page
		cb = c.approve(b, page)
	case http.StatusFound, http.StatusSeeOther: // consent given before, on any node
		cb = redirected(t, resp, page)
	default:
		t.Fatalf("authorize on %s after signing in on %s: %d, want the consent page or the code\n%s", b.name, a.name, resp.StatusCode, page)
	}
	if cb.Query().Get("state") != "st" || cb.Query().Get("code") == "" {
		t.Fatalf("authorization response %s", cb)
	}
	return cb.Query().Get("code"), verifier
}

// tokenResponse is RFC 6749 §5.1 (or §5.2 on error).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// token posts a token request for demo-app (or the client in form) to n.
func token(t *testing.T, n *node, id, secret string, form url.Values) (int, tokenResponse, http.Header) {
	t.Helper()
	req := request(t, http.MethodPost, n, "/oauth2/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token on %s: %v", n.name, err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("token on %s: %d %q", n.name, resp.StatusCode, b)
	}
	return resp.StatusCode, tr, resp.Header
}

// api calls the protected route of n with the bearer token.
func api(t *testing.T, n *node, tok string) int {
	t.Helper()
	req := request(t, http.MethodGet, n, "/api/hello", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("api on %s: %v", n.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// concurrently runs f on every node at once and returns the results in
// node order.
func concurrently[T any](nodes []*node, f func(n *node) T) []T {
	out := make([]T, len(nodes))
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			out[i] = f(n)
		}()
	}
	start.Done()
	wg.Wait()
	return out
}

// TestNodesAreOneAuthorizationServer runs three opaque-token nodes and two
// JWT nodes (another key prefix) on one Redis, each a separate Caddy
// process, and checks every guarantee of one server across them.
func TestNodesAreOneAuthorizationServer(t *testing.T) {
	if caddyBin == "" {
		redistest.StartServer(t) // skips with the reason
	}
	rs := redistest.StartServer(t, redistest.AppendOnly())
	be := backend(t)
	a := startNode(t, "A", rs.Addr, "opaque:", "opaque", be)
	b := startNode(t, "B", rs.Addr, "opaque:", "opaque", be)
	c := startNode(t, "C", rs.Addr, "opaque:", "opaque", be)
	nodes := []*node{a, b, c}

	t.Run("login on A, consent on B, code redeemed on C", func(t *testing.T) {
		code, verifier := codeAcross(t, newClient(t), a, b, "read")
		status, tr, _ := token(t, c, "demo-app", "demo-app-secret", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {"http://localhost:8000/callback"},
		})
		if status != http.StatusOK || tr.AccessToken == "" {
			t.Fatalf("code exchange on C: %d %+v", status, tr)
		}
		for _, n := range nodes {
			if s := api(t, n, tr.AccessToken); s != http.StatusOK {
				t.Errorf("token from C on %s's require_oauth: %d", n.name, s)
			}
		}
	})

	t.Run("one code redeemed on every node at once: one token, and the replay revokes it everywhere", func(t *testing.T) {
		code, verifier := codeAcross(t, newClient(t), a, b, "read")
		type result struct {
			status int
			tr     tokenResponse
		}
		results := concurrently(nodes, func(n *node) result {
			s, tr, _ := token(t, n, "demo-app", "demo-app-secret", url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
				"redirect_uri": {"http://localhost:8000/callback"},
			})
			return result{s, tr}
		})
		var winner string
		for i, r := range results {
			switch {
			case r.status == http.StatusOK && winner == "":
				winner = r.tr.AccessToken
			case r.status == http.StatusOK:
				t.Fatalf("a second node (%s) also redeemed the code", nodes[i].name)
			case r.tr.Error != "invalid_grant":
				t.Errorf("losing redemption on %s: %d %q, want invalid_grant", nodes[i].name, r.status, r.tr.Error)
			}
		}
		if winner == "" {
			t.Fatal("no node redeemed the code")
		}
		// The replays revoked what the winner got: refused on every node.
		for _, n := range nodes {
			if s := api(t, n, winner); s != http.StatusUnauthorized {
				t.Errorf("token of a replayed code on %s: %d, want 401", n.name, s)
			}
		}
	})

	t.Run("one refresh token on every node at once: one rotation, and the reuse revokes the family", func(t *testing.T) {
		code, verifier := codeAcross(t, newClient(t), a, b, "read")
		_, first, _ := token(t, a, "demo-app", "demo-app-secret", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {"http://localhost:8000/callback"},
		})
		if first.RefreshToken == "" {
			t.Fatalf("no refresh token: %+v", first)
		}
		// Warm every node's verification cache with the access token.
		for _, n := range nodes {
			if s := api(t, n, first.AccessToken); s != http.StatusOK {
				t.Fatalf("access token on %s: %d", n.name, s)
			}
		}
		results := concurrently(nodes, func(n *node) tokenResponse {
			_, tr, _ := token(t, n, "demo-app", "demo-app-secret", url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken},
			})
			return tr
		})
		var rotated []tokenResponse
		for _, r := range results {
			if r.AccessToken != "" {
				rotated = append(rotated, r)
			}
		}
		if len(rotated) != 1 {
			t.Fatalf("%d rotations of one refresh token across nodes, want 1: %+v", len(rotated), results)
		}
		// The concurrent reuses revoked the family: the original access
		// token, the rotated pair, on every node.
		for _, n := range nodes {
			for what, tok := range map[string]string{"first access token": first.AccessToken, "rotated access token": rotated[0].AccessToken} {
				if s := api(t, n, tok); s != http.StatusUnauthorized {
					t.Errorf("%s after refresh reuse, on %s: %d, want 401", what, n.name, s)
				}
			}
		}
		if s, tr, _ := token(t, c, "demo-app", "demo-app-secret", url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {rotated[0].RefreshToken},
		}); s != http.StatusBadRequest || tr.Error != "invalid_grant" {
			t.Errorf("rotated refresh token after the reuse: %d %+v, want invalid_grant", s, tr)
		}
	})

	t.Run("a revocation on A is refused by B's warm cache on its next request", func(t *testing.T) {
		_, tr, _ := token(t, c, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})
		for range 5 {
			if s := api(t, b, tr.AccessToken); s != http.StatusOK {
				t.Fatalf("before revocation on B: %d", s)
			}
		}
		req := request(t, http.MethodPost, a, "/oauth2/revoke", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.SetBasicAuth("demo-service", "demo-service-secret")
		resp, body := newClient(t).do(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke on A: %d %s", resp.StatusCode, body)
		}
		for _, n := range nodes {
			if s := api(t, n, tr.AccessToken); s != http.StatusUnauthorized {
				t.Errorf("revoked token on %s: %d, want 401", n.name, s)
			}
		}
	})

	t.Run("admin API revocation on A reaches B", func(t *testing.T) {
		code, verifier := codeAcross(t, newClient(t), b, c, "read")
		_, tr, _ := token(t, a, "demo-app", "demo-app-secret", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {"http://localhost:8000/callback"},
		})
		if s := api(t, b, tr.AccessToken); s != http.StatusOK {
			t.Fatalf("before revocation on B: %d", s)
		}
		resp, err := http.Post(a.admin+"/oauth/default/revoke", "application/json", strings.NewReader(`{"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("admin revoke on A: %d", resp.StatusCode)
		}
		for _, n := range nodes {
			if s := api(t, n, tr.AccessToken); s != http.StatusUnauthorized {
				t.Errorf("alice's token after the admin revocation, on %s: %d, want 401", n.name, s)
			}
		}
	})

	t.Run("a client's secret rotated and the client deleted on A: B refuses the old secret and the token", func(t *testing.T) {
		adminJSON := func(method, path, body string) map[string]any {
			t.Helper()
			req, _ := http.NewRequest(method, a.admin+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode >= 300 {
				t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
			}
			return out
		}
		reg := adminJSON(http.MethodPost, "/oauth/default/clients", `{"name":"Rotating service","grants":["client_credentials"],"scopes":["read"]}`)
		id, oldSecret := reg["client_id"].(string), reg["client_secret"].(string)
		cc := url.Values{"grant_type": {"client_credentials"}}
		s, tr, _ := token(t, b, id, oldSecret, cc)
		if s != http.StatusOK || api(t, b, tr.AccessToken) != http.StatusOK {
			t.Fatalf("registered on A, token on B: %d", s)
		}
		newSecret := adminJSON(http.MethodPost, "/oauth/default/clients/"+id+"/secret", ``)["client_secret"].(string)
		if s, _, _ := token(t, b, id, oldSecret, cc); s != http.StatusUnauthorized {
			t.Errorf("old secret on B after rotation on A: %d, want 401", s)
		}
		if s, _, _ := token(t, b, id, newSecret, cc); s != http.StatusOK {
			t.Errorf("new secret on B: %d", s)
		}
		adminJSON(http.MethodDelete, "/oauth/default/clients/"+id, ``)
		if s := api(t, b, tr.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("token of a client deleted on A, on B: %d, want 401", s)
		}
	})

	t.Run("OAuth 1: temporary credentials, verifiers and nonces are single use across nodes", func(t *testing.T) {
		oauth1Across(t, a, b, c)
	})

	t.Run("JWT nodes publish one key set and refuse a token revoked elsewhere", func(t *testing.T) {
		j1 := startNode(t, "J1", rs.Addr, "jwt:", "jwt", be)
		j2 := startNode(t, "J2", rs.Addr, "jwt:", "jwt", be)
		var sets []string
		for _, n := range []*node{j1, j2} {
			resp, body := newClient(t).get(n, "/oauth2/jwks")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"keys"`) {
				t.Fatalf("JWKS on %s: %d %s", n.name, resp.StatusCode, body)
			}
			sets = append(sets, body)
		}
		if sets[0] != sets[1] {
			t.Fatalf("JWKS differ between nodes:\n%s\n%s", sets[0], sets[1])
		}
		_, tr, _ := token(t, j1, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})
		if strings.Count(tr.AccessToken, ".") != 2 {
			t.Fatalf("not a JWT: %+v", tr)
		}
		for range 3 {
			if s := api(t, j2, tr.AccessToken); s != http.StatusOK {
				t.Fatalf("JWT from J1 on J2: %d", s)
			}
		}
		req := request(t, http.MethodPost, j1, "/oauth2/revoke", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
		req.SetBasicAuth("demo-service", "demo-service-secret")
		if resp, body := newClient(t).do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke on J1: %d %s", resp.StatusCode, body)
		}
		if s := api(t, j2, tr.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("JWT revoked on J1, on J2: %d, want 401", s)
		}
		// The prefixes keep the two servers apart: the JWT nodes' token
		// means nothing to the opaque nodes.
		if s := api(t, a, tr.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("JWT of the other server on A: %d, want 401", s)
		}
	})
}

// oauth1Across runs RFC 5849's three steps across three nodes and checks
// that nothing single-use can be used twice on another node.
func oauth1Across(t *testing.T, a, b, c *node) {
	consumer := oauth1.ClientCreds{ConsumerKey: "demo-oauth1", ConsumerSecret: "demo-oauth1-secret", Callback: "http://localhost:8001/callback"}
	signed := func(method string, n *node, path, form string, creds oauth1.ClientCreds) *http.Request {
		var body io.Reader
		if form != "" {
			body = strings.NewReader(form)
		}
		req := request(t, method, n, path, body)
		if err := oauth1.Sign(req, creds); err != nil {
			t.Fatal(err)
		}
		return req
	}
	wc := newClient(t)
	resp, body := wc.do(signed(http.MethodPost, a, "/oauth1/request_token", "", consumer))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request token on A: %d %s", resp.StatusCode, body)
	}
	temp, _ := url.ParseQuery(body)

	authz := "/oauth1/authorize?oauth_token=" + url.QueryEscape(temp.Get("oauth_token"))
	resp, body = wc.get(b, authz)
	if resp.StatusCode != http.StatusOK {
		// Not signed in yet: through the login on B, back to authorize.
		back := wc.signIn(b, redirected(t, resp, body))
		resp, body = wc.get(b, back.RequestURI())
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OAuth 1 authorize on B: %d\n%s", resp.StatusCode, body)
	}
	cb := wc.approve(b, body)
	verifier := cb.Query().Get("oauth_verifier")
	if verifier == "" {
		t.Fatalf("callback without a verifier: %s", cb)
	}

	exchange := consumer
	exchange.Callback, exchange.Token, exchange.TokenSecret, exchange.Verifier = "", temp.Get("oauth_token"), temp.Get("oauth_token_secret"), verifier
	results := concurrently([]*node{a, c}, func(n *node) string {
		resp, body := newClient(t).do(signed(http.MethodPost, n, "/oauth1/access_token", "", exchange))
		if resp.StatusCode == http.StatusOK {
			return body
		}
		return ""
	})
	var creds url.Values
	for _, r := range results {
		if r == "" {
			continue
		}
		if creds != nil {
			t.Fatal("one verifier exchanged on two nodes")
		}
		creds, _ = url.ParseQuery(r)
	}
	if creds == nil {
		t.Fatal("no node exchanged the verifier")
	}

	access := oauth1.ClientCreds{ConsumerKey: consumer.ConsumerKey, ConsumerSecret: consumer.ConsumerSecret,
		Token: creds.Get("oauth_token"), TokenSecret: creds.Get("oauth_token_secret")}
	req := signed(http.MethodGet, c, "/api/hello", "", access)
	resp, body = wc.do(req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "user=alice") {
		t.Fatalf("OAuth 1 request on C: %d %s", resp.StatusCode, body)
	}
	// The same signed request (same nonce and timestamp) replayed to A.
	replay := request(t, http.MethodGet, a, "/api/hello", nil)
	replay.Header.Set("Authorization", req.Header.Get("Authorization"))
	if resp, body := wc.do(replay); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate")+body, "nonce") {
		t.Fatalf("nonce replayed on A: %d %s, want 401 nonce_used", resp.StatusCode, body)
	}
	// Token credentials revoked on A through the admin API: B refuses.
	revoke, err := http.Post(a.admin+"/oauth/default/revoke", "application/json", strings.NewReader(`{"client_id":"demo-oauth1"}`))
	if err != nil {
		t.Fatal(err)
	}
	revoke.Body.Close()
	if resp, body := wc.do(signed(http.MethodGet, b, "/api/hello", "", access)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked OAuth 1 credentials on B: %d %s", resp.StatusCode, body)
	}
}

// TestRedisDownAndBack: with Redis gone, nodes answer 503 with
// Retry-After and let nothing through; a node started while Redis is down
// starts; when Redis returns, all recover by themselves and the tokens
// answered before still verify (append-only file, fsync always).
func TestRedisDownAndBack(t *testing.T) {
	if caddyBin == "" {
		redistest.StartServer(t)
	}
	rs := redistest.StartServer(t, redistest.AppendOnly())
	be := backend(t)
	a := startNode(t, "A", rs.Addr, "down:", "opaque", be)
	b := startNode(t, "B", rs.Addr, "down:", "opaque", be)
	_, tr, _ := token(t, a, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})
	if s := api(t, b, tr.AccessToken); s != http.StatusOK {
		t.Fatalf("before: %d", s)
	}

	rs.Kill()
	s, body, hdr := token(t, a, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})
	if s != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" || hdr.Get("Retry-After") == "" {
		t.Errorf("token endpoint with Redis down: %d %+v Retry-After %q, want 503 temporarily_unavailable", s, body, hdr.Get("Retry-After"))
	}
	// B's cache may answer until its invalidation lease runs out (no
	// revocation can return anywhere meanwhile); then it must fail closed.
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := api(t, b, tr.AccessToken)
		if s == http.StatusServiceUnavailable {
			break
		}
		if s != http.StatusOK {
			t.Fatalf("require_oauth with Redis down: %d, want 200 (cache) then 503", s)
		}
		if time.Now().After(deadline) {
			t.Fatal("require_oauth still lets requests through 15s after Redis went away")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := api(t, b, "not-a-token-anyone-issued"); s != http.StatusServiceUnavailable && s != http.StatusUnauthorized {
		t.Errorf("unknown token with Redis down: %d", s)
	}

	late := startNode(t, "late", rs.Addr, "down:", "opaque", be) // starts without Redis
	if resp, body := newClient(t).get(late, "/.well-known/oauth-authorization-server"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("metadata of a node started while Redis is down: %d %s, want 503", resp.StatusCode, body)
	}
	if s := api(t, late, tr.AccessToken); s != http.StatusServiceUnavailable {
		t.Errorf("require_oauth of a node started while Redis is down: %d, want 503", s)
	}

	rs.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range []*node{a, b, late} {
		for api(t, n, tr.AccessToken) != http.StatusOK {
			if ctx.Err() != nil {
				t.Fatalf("%s did not recover within 20s of Redis coming back", n.name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if s, tr2, _ := token(t, late, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}}); s != http.StatusOK || api(t, a, tr2.AccessToken) != http.StatusOK {
		t.Errorf("issuance on the late node after recovery: %d", s)
	}
}

// TestReloadsLeakNothing reloads a node's config 100 times (each a real
// change, so Caddy provisions a new oauth app every time) and checks that
// the node keeps one set of Redis connections and a flat goroutine count:
// reloads share the open store through Caddy's UsagePool.
func TestReloadsLeakNothing(t *testing.T) {
	if caddyBin == "" {
		redistest.StartServer(t)
	}
	rs := redistest.StartServer(t)
	n := startNode(t, "A", rs.Addr, "reload:", "opaque", backend(t))
	resp, err := http.Get(n.admin + "/config/")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	err = json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	server := cfg["apps"].(map[string]any)["oauth"].(map[string]any)["servers"].(map[string]any)["default"].(map[string]any)
	reload := func(i int) {
		t.Helper()
		server["access_token_ttl"] = int64(time.Hour) + int64(i)*int64(time.Second)
		b, _ := json.Marshal(cfg)
		resp, err := http.Post(n.admin+"/load", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload %d: %d %s", i, resp.StatusCode, body)
		}
		// The old config's server closed its connections: a kept-alive
		// one would answer the next request with EOF.
		http.DefaultClient.CloseIdleConnections()
	}
	connections := func() int {
		t.Helper()
		out, err := redistest.Command(rs.Addr, "CLIENT", "LIST")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(out, "id=") - 1 // this connection
	}
	goroutines := func() int {
		t.Helper()
		resp, err := http.Get(n.admin + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var total int
		if _, err := fmt.Fscanf(resp.Body, "goroutine profile: total %d", &total); err != nil {
			t.Fatalf("goroutine profile: %v", err)
		}
		return total
	}
	use := func() {
		t.Helper()
		// Caddy shares the listener across a reload: a connection the old
		// config's server accepted in its last moment is closed unanswered
		// (EOF). A client retries that; so does this one, once a second.
		var body []byte
		for try := 0; ; try++ {
			req := request(t, http.MethodPost, n, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
			req.SetBasicAuth("demo-service", "demo-service-secret")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				break
			}
			if try == 3 {
				t.Fatalf("token after reloads: %v", err)
			}
			http.DefaultClient.CloseIdleConnections()
			time.Sleep(time.Second)
		}
		var tr tokenResponse
		if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("token after reloads: %s", body)
		}
		if s := api(t, n, tr.AccessToken); s != http.StatusOK {
			t.Fatalf("token after reloads: %d", s)
		}
	}
	for i := range 5 { // warm up: pools and caches reach their size
		reload(i)
		use()
	}
	time.Sleep(500 * time.Millisecond)
	conns0, g0 := connections(), goroutines()
	for i := 5; i < 105; i++ {
		reload(i)
	}
	use()
	time.Sleep(time.Second) // let closed servers' goroutines finish
	conns1, g1 := connections(), goroutines()
	t.Logf("after 100 reloads: Redis connections %d → %d, goroutines %d → %d", conns0, conns1, g0, g1)
	if conns1 > conns0+2 {
		t.Errorf("Redis connections grew from %d to %d over 100 reloads", conns0, conns1)
	}
	if g1 > g0+20 {
		t.Errorf("goroutines grew from %d to %d over 100 reloads", g0, g1)
	}
}

// TestLoginLockoutSpansNodes: the login failure counters live in Redis,
// so five wrong passwords spread over three nodes lock the account on
// every node, the right password included.
func TestLoginLockoutSpansNodes(t *testing.T) {
	if caddyBin == "" {
		redistest.StartServer(t)
	}
	rs := redistest.StartServer(t)
	be := backend(t)
	nodes := []*node{
		startNode(t, "A", rs.Addr, "lockout:", "opaque", be),
		startNode(t, "B", rs.Addr, "lockout:", "opaque", be),
		startNode(t, "C", rs.Addr, "lockout:", "opaque", be),
	}
	c := newClient(t)
	attempt := func(n *node, password string) *http.Response {
		t.Helper()
		resp, page := c.get(n, "/oauth/login")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login page on %s: %d", n.name, resp.StatusCode)
		}
		action, form := pageForm(t, page)
		form.Set("username", "alice")
		form.Set("password", password)
		resp, _ = c.post(n, action, form)
		return resp
	}
	for i := range 5 {
		n := nodes[i%3]
		if resp := attempt(n, "not-wonderland"); resp.StatusCode == http.StatusSeeOther {
			t.Fatalf("wrong password %d accepted on %s", i+1, n.name)
		}
	}
	for _, n := range nodes {
		resp := attempt(n, "wonderland")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("right password on %s after five failures spread over the nodes: %d, want 429 with Retry-After", n.name, resp.StatusCode)
		}
	}
}

// TestRedisStalled: a Redis that accepts connections but does not answer
// (SIGSTOP) costs a request at most about dial_timeout + timeout (1 s + 1 s
// in the example), answered 503; nothing unverified passes; when it
// answers again, so do the nodes.
func TestRedisStalled(t *testing.T) {
	if caddyBin == "" {
		redistest.StartServer(t)
	}
	rs := redistest.StartServer(t)
	n := startNode(t, "A", rs.Addr, "stall:", "opaque", backend(t))
	_, tr, _ := token(t, n, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})

	rs.Pause()
	defer rs.Resume()
	start := time.Now()
	s, body, hdr := token(t, n, "demo-service", "demo-service-secret", url.Values{"grant_type": {"client_credentials"}})
	took := time.Since(start)
	if s != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" || hdr.Get("Retry-After") == "" {
		t.Errorf("token endpoint with Redis stalled: %d %+v", s, body)
	}
	if took > 5*time.Second {
		t.Errorf("token endpoint took %v with Redis stalled, want about timeout (1s)", took)
	}
	if s := api(t, n, "never-issued-token-"+strconv.Itoa(int(start.UnixNano()))); s != http.StatusServiceUnavailable {
		t.Errorf("unknown token with Redis stalled: %d, want 503 (it cannot be checked)", s)
	}

	rs.Resume()
	deadline := time.Now().Add(20 * time.Second)
	for api(t, n, tr.AccessToken) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("node did not recover within 20s of Redis answering again")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
