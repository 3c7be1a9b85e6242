// Command oauth2-client is a small web app that signs a user in through
// caddy-oauth with the authorization code flow and PKCE (golang.org/x/oauth2),
// then calls the API that Caddy protects with require_oauth. With scope
// openid (the default) it is an OpenID Connect relying party
// (github.com/coreos/go-oidc): it finds the endpoints by discovery, checks
// the ID token and its nonce, and shows the claims and UserInfo.
//
// Run the gateway (Caddyfile.example), then:
//
//	go run ./examples/oauth2-client
//
// and open http://localhost:8000. Flags change the endpoints and the client.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	listen := flag.String("listen", "localhost:8000", "address this client listens on")
	authServer := flag.String("auth", "http://localhost:8080", "authorization server base URL")
	api := flag.String("api", "http://localhost:8081/api/me", "protected API to call with the token")
	clientID := flag.String("client-id", "demo-app", "OAuth 2 client_id")
	clientSecret := flag.String("client-secret", "demo-app-secret", "OAuth 2 client_secret")
	scope := flag.String("scope", "openid profile email read offline_access", "scopes to ask for")
	flag.Parse()

	app := &client{
		conf: &oauth2.Config{
			ClientID:     *clientID,
			ClientSecret: *clientSecret,
			RedirectURL:  "http://" + *listen + "/callback",
			Scopes:       splitSpaces(*scope),
			Endpoint: oauth2.Endpoint{
				AuthURL:   *authServer + "/oauth2/authorize",
				TokenURL:  *authServer + "/oauth2/token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
		api: *api,
	}
	if slices.Contains(app.conf.Scopes, oidc.ScopeOpenID) {
		// Discovery: the endpoints, and the keys the ID token verifies with.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		op, err := oidc.NewProvider(ctx, *authServer)
		cancel()
		if err != nil {
			log.Fatalf("OpenID discovery at %s: %v (is the gateway running?)", *authServer, err)
		}
		app.op = op
		app.conf.Endpoint = op.Endpoint()
		app.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		app.idTokens = op.Verifier(&oidc.Config{ClientID: *clientID})
		var m struct {
			EndSession string `json:"end_session_endpoint"`
		}
		_ = op.Claims(&m)
		app.endSession = m.EndSession
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", app.home)
	mux.HandleFunc("GET /login", app.login)
	mux.HandleFunc("GET /callback", app.callback)
	log.Printf("oauth2-client: open http://%s", *listen)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

type client struct {
	conf *oauth2.Config
	api  string
	// op and idTokens are set for an OpenID Connect sign-in.
	op         *oidc.Provider
	idTokens   *oidc.IDTokenVerifier
	endSession string // RP-initiated logout, from discovery
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OAuth 2 demo client</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}
pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head><body>
<h1>OAuth 2 demo client</h1>
{{if .Error}}<p><strong>Error:</strong> {{.Error}}</p>{{end}}
{{if .Token}}<h2>Token response</h2><pre>{{.Token}}</pre>
{{if .IDToken}}<h2>ID token claims (verified)</h2><pre>{{.IDToken}}</pre>
<h2>UserInfo</h2><pre>{{.UserInfo}}</pre>{{end}}
{{if .Logout}}<p><a href="{{.Logout}}">Sign out at the provider</a> (RP-initiated logout, back here)</p>{{end}}
<h2>GET {{.API}}</h2><pre>{{.Body}}</pre>{{end}}
<p><a href="/login">Sign in with caddy-oauth</a></p>
</body></html>`))

type view struct{ Error, Token, IDToken, UserInfo, Logout, API, Body string }

func (c *client) home(w http.ResponseWriter, r *http.Request) {
	page.Execute(w, view{})
}

// login starts the flow: a fresh state and PKCE verifier, kept in short
// cookies so the callback can check them.
func (c *client) login(w http.ResponseWriter, r *http.Request) {
	state, nonce := randomString(), randomString()
	verifier := oauth2.GenerateVerifier()
	for name, v := range map[string]string{"state": state, "verifier": verifier, "nonce": nonce} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if c.op != nil {
		opts = append(opts, oidc.Nonce(nonce))
	}
	http.Redirect(w, r, c.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

func (c *client) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		page.Execute(w, view{Error: e + ": " + q.Get("error_description")})
		return
	}
	state, err1 := r.Cookie("state")
	verifier, err2 := r.Cookie("verifier")
	if err1 != nil || err2 != nil || state.Value != q.Get("state") {
		page.Execute(w, view{Error: "state mismatch: start again"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	tok, err := c.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier.Value))
	if err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	var claims, info, logout string
	if c.op != nil {
		if claims, info, err = c.openID(ctx, r, tok); err != nil {
			page.Execute(w, view{Error: err.Error()})
			return
		}
		if c.endSession != "" {
			// The ID token as hint names this client and the user, so the
			// provider signs out without asking; it returns here (the
			// registered post_logout_redirect_uri) with state.
			raw, _ := tok.Extra("id_token").(string)
			logout = c.endSession + "?" + url.Values{"id_token_hint": {raw},
				"post_logout_redirect_uri": {"http://" + r.Host + "/"}, "state": {randomString()}}.Encode()
		}
	}
	resp, err := c.conf.Client(ctx, tok).Get(c.api)
	if err != nil {
		page.Execute(w, view{Error: err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	page.Execute(w, view{
		Token: fmt.Sprintf("access_token: received (%d characters)\nrefresh_token: %t\nexpiry: %s\nscope: %v",
			len(tok.AccessToken), tok.RefreshToken != "", tok.Expiry.Format(time.RFC3339), tok.Extra("scope")),
		IDToken: claims, UserInfo: info, Logout: logout,
		API:  c.api,
		Body: resp.Status + "\n" + string(body),
	})
}

// openID checks the ID token of tok as a relying party must (signature,
// iss, aud, exp, and the nonce this browser was given) and reads UserInfo;
// it returns both as indented JSON.
func (c *client) openID(ctx context.Context, r *http.Request, tok *oauth2.Token) (claims, info string, err error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", fmt.Errorf("no id_token in the token response")
	}
	idt, err := c.idTokens.Verify(ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("ID token: %v", err)
	}
	nonce, err := r.Cookie("nonce")
	if err != nil || idt.Nonce != nonce.Value {
		return "", "", fmt.Errorf("ID token nonce mismatch: start again")
	}
	var m map[string]any
	_ = idt.Claims(&m)
	ui, err := c.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return "", "", fmt.Errorf("userinfo: %v", err)
	}
	var u map[string]any
	_ = ui.Claims(&u)
	cb, _ := json.MarshalIndent(m, "", "  ")
	ub, _ := json.MarshalIndent(u, "", "  ")
	return string(cb), string(ub), nil
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func splitSpaces(s string) []string { return strings.Fields(s) }
