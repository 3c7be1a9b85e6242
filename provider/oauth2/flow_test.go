package oauth2

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// serve mounts the server on a real HTTP listener (127.0.0.1), the way the
// Caddy glue will; the resource owner comes from X-Test-User.
func (e *env) serve() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc(PathAuthorize, func(w http.ResponseWriter, r *http.Request) {
		e.srv.Authorize(w, r, r.Header.Get("X-Test-User"))
	})
	mux.HandleFunc(PathToken, e.srv.Token)
	mux.HandleFunc(PathRevoke, e.srv.Revoke)
	mux.HandleFunc(PathIntrospect, e.srv.Introspect)
	mux.HandleFunc(PathMetadata, e.srv.Metadata)
	ts := httptest.NewServer(mux)
	e.t.Cleanup(ts.Close)
	return ts
}

// browser follows the authorization flow like a user agent: GET the
// authorization URL, submit the consent form, and return the redirect.
func browser(t *testing.T, ts *httptest.Server, authURL, user string) *url.URL {
	t.Helper()
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	req.Header.Set("X-Test-User", user)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	m := csrfRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page: %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("csrf_token", m[1])
	form.Set("decision", "approve")
	req, _ = http.NewRequest(http.MethodPost, ts.URL+PathAuthorize, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-User", user)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after consent: %d", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestCodeFlowWithGolangOAuth2Client(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ts := e.serve()
			conf := &oauth2.Config{
				ClientID: "web", ClientSecret: webSecret, RedirectURL: webRedirect,
				Scopes:   []string{"read", "profile"},
				Endpoint: oauth2.Endpoint{AuthURL: ts.URL + PathAuthorize, TokenURL: ts.URL + PathToken, AuthStyle: style.style},
			}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client())
			verifier := oauth2.GenerateVerifier()
			state := "st-" + style.name
			loc := browser(t, ts, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), "alice")
			q := loc.Query()
			if q.Get("state") != state || q.Get("iss") != testIssuer {
				t.Fatalf("redirect %s", loc)
			}
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "read profile" || tok.Expiry.IsZero() {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			id, perr := e.srv.VerifyBearer(ctx, tok.AccessToken)
			if perr != nil || id.User != "alice" || id.ClientID != "web" || strings.Join(id.Scopes, " ") != "read profile" {
				t.Fatalf("identity %+v %v", id, perr)
			}
			// Refresh through the library, which rotates the refresh token.
			tok.Expiry = tok.Expiry.Add(-2 * DefaultAccessTokenTTL)
			next, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
				t.Fatal("refresh did not rotate")
			}
			if !e.active(next.AccessToken) {
				t.Fatal("refreshed access token inactive")
			}
			// The code is single use; the replay revokes both generations.
			_, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("replay: %v", err)
			}
			if e.active(tok.AccessToken) || e.active(next.AccessToken) {
				t.Fatal("tokens survived a code replay")
			}
			e.secrets = append(e.secrets, tok.AccessToken, tok.RefreshToken, next.AccessToken, next.RefreshToken, verifier, q.Get("code"))
			e.checkNoSecretsLogged()
		})
	}
}

func TestClientCredentialsWithGolangOAuth2Client(t *testing.T) {
	e := newEnv(t, nil)
	ts := e.serve()
	conf := clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: ts.URL + PathToken, Scopes: []string{"read", "write"}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client())
	tok, err := conf.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Fatal("client_credentials issued a refresh token")
	}
	id, perr := e.srv.VerifyBearer(ctx, tok.AccessToken)
	if perr != nil || id.User != "" || id.ClientID != "svc" || strings.Join(id.Scopes, " ") != "read write" {
		t.Fatalf("identity %+v %v", id, perr)
	}
	conf.ClientSecret = "wrong"
	_, err = conf.Token(ctx)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" {
		t.Fatalf("bad secret: %v", err)
	}
}

func TestPublicClientFlowWithPKCE(t *testing.T) {
	e := newEnv(t, nil)
	ts := e.serve()
	conf := &oauth2.Config{
		ClientID: "spa", RedirectURL: "http://127.0.0.1:41234/callback",
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + PathAuthorize, TokenURL: ts.URL + PathToken, AuthStyle: oauth2.AuthStyleInParams},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client())
	verifier := oauth2.GenerateVerifier()
	loc := browser(t, ts, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice")
	if loc.Host != "127.0.0.1:41234" {
		t.Fatalf("redirected to %s", loc)
	}
	// Without the verifier a stolen code is useless.
	if _, err := conf.Exchange(ctx, loc.Query().Get("code")); err == nil {
		t.Fatal("public client exchanged a PKCE code without verifier")
	}
	loc = browser(t, ts, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "bob")
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("scope") != "read" {
		t.Fatalf("default scope: %v", tok.Extra("scope"))
	}
}
