// Command oauth1-client is a small web app that runs the OAuth 1.0a
// three-legged flow (RFC 5849 §2) against caddy-oauth and then calls the
// API that Caddy protects with require_oauth, signing every request with
// HMAC-SHA1 (or another method, see -method).
//
// Run the gateway (Caddyfile.example), then:
//
//	go run ./examples/oauth1-client
//
// and open http://localhost:8001.
package main

import (
	"context"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

func main() {
	listen := flag.String("listen", "localhost:8001", "address this client listens on")
	authServer := flag.String("auth", "http://localhost:8080", "authorization server base URL")
	api := flag.String("api", "http://localhost:8081/api/me", "protected API to call")
	key := flag.String("consumer-key", "demo-oauth1", "client identifier (oauth_consumer_key)")
	secret := flag.String("consumer-secret", "demo-oauth1-secret", "client shared secret")
	method := flag.String("method", oauth1.HMACSHA1, "signature method: HMAC-SHA1, HMAC-SHA256 or PLAINTEXT")
	scope := flag.String("scope", "read profile", "scopes to ask for (sent as the scope parameter)")
	flag.Parse()

	c := &client{
		auth: *authServer, api: *api, scope: *scope,
		creds:    oauth1.ClientCreds{ConsumerKey: *key, ConsumerSecret: *secret, SignatureMethod: *method},
		callback: "http://" + *listen + "/callback",
		pending:  map[string]string{},
		http:     &http.Client{Timeout: 10 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { page.Execute(w, view{}) })
	mux.HandleFunc("GET /login", c.login)
	mux.HandleFunc("GET /callback", c.callbackHandler)
	log.Printf("oauth1-client: open http://%s", *listen)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

type client struct {
	auth, api, scope, callback string
	creds                      oauth1.ClientCreds
	http                       *http.Client

	mu      sync.Mutex
	pending map[string]string // temporary credentials: token -> secret
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OAuth 1.0a demo client</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}
pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head><body>
<h1>OAuth 1.0a demo client</h1>
{{if .Error}}<p><strong>Error:</strong> {{.Error}}</p>{{end}}
{{if .Body}}<h2>GET {{.API}}</h2><pre>{{.Body}}</pre>{{end}}
<p><a href="/login">Sign in with caddy-oauth (OAuth 1.0a)</a></p>
</body></html>`))

type view struct{ Error, API, Body string }

// login is §2.1: get temporary credentials, then send the user to §2.2.
func (c *client) login(w http.ResponseWriter, r *http.Request) {
	creds := c.creds
	creds.Callback = c.callback
	form, err := c.post(r.Context(), c.auth+"/oauth1/request_token", url.Values{"scope": {c.scope}}, creds)
	if err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	if form.Get("oauth_callback_confirmed") != "true" {
		page.Execute(w, view{Error: "server did not confirm the callback"})
		return
	}
	c.mu.Lock()
	c.pending[form.Get("oauth_token")] = form.Get("oauth_token_secret")
	c.mu.Unlock()
	http.Redirect(w, r, c.auth+"/oauth1/authorize?oauth_token="+url.QueryEscape(form.Get("oauth_token")), http.StatusFound)
}

// callbackHandler is §2.3: trade the verifier for token credentials, then
// call the protected API with them (§3).
func (c *client) callbackHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	tokenSecret, ok := c.pending[q.Get("oauth_token")]
	delete(c.pending, q.Get("oauth_token"))
	c.mu.Unlock()
	if !ok {
		page.Execute(w, view{Error: "unknown temporary credentials: start again"})
		return
	}
	creds := c.creds
	creds.Token, creds.TokenSecret, creds.Verifier = q.Get("oauth_token"), tokenSecret, q.Get("oauth_verifier")
	form, err := c.post(r.Context(), c.auth+"/oauth1/access_token", nil, creds)
	if err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	creds = c.creds
	creds.Token, creds.TokenSecret = form.Get("oauth_token"), form.Get("oauth_token_secret")
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, c.api, nil)
	if err := oauth1.Sign(req, creds); err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	resp, err := c.http.Do(req)
	if err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	page.Execute(w, view{API: c.api, Body: resp.Status + "\n" + string(body)})
}

// post sends a signed form POST and parses the form-encoded answer.
func (c *client) post(ctx context.Context, endpoint string, body url.Values, creds oauth1.ClientCreds) (url.Values, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := oauth1.Sign(req, creds); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s %s", endpoint, resp.Status, raw)
	}
	return url.ParseQuery(string(raw))
}
