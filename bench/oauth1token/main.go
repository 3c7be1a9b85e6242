// Command oauth1token runs the OAuth 1.0a three-legged flow (RFC 5849 §2)
// non-interactively against caddy-oauth, authenticating the resource owner
// with HTTP Basic on the authorization endpoint (as the benchmark's
// Caddyfile configures it), and prints "token secret" of the token
// credentials for the load generator.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

func main() {
	auth := flag.String("auth", "http://127.0.0.1:18080", "authorization server base URL")
	key := flag.String("consumer-key", "", "client identifier")
	secret := flag.String("consumer-secret", "", "client secret")
	user := flag.String("user", "alice", "resource owner (HTTP Basic on /oauth1/authorize)")
	password := flag.String("password", "wonderland", "resource owner's password")
	callback := flag.String("callback", "http://127.0.0.1/cb", "registered callback URI")
	flag.Parse()
	if err := run(*auth, *key, *secret, *user, *password, *callback); err != nil {
		fmt.Fprintln(os.Stderr, "oauth1token:", err)
		os.Exit(1)
	}
}

func run(auth, key, secret, user, password, callback string) error {
	client := &http.Client{
		Timeout: 10 * time.Second,
		// The callback is not served: stop at the redirect and read it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	temp, err := signedPost(client, auth+"/oauth1/request_token", oauth1.ClientCreds{ConsumerKey: key, ConsumerSecret: secret, Callback: callback})
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, auth+"/oauth1/authorize?oauth_token="+url.QueryEscape(temp.Get("oauth_token")), nil)
	req.SetBasicAuth(user, password)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("oauth_verifier") == "" {
		return fmt.Errorf("authorize answered %s without a verifier (is the client trusted?)", resp.Status)
	}
	tok, err := signedPost(client, auth+"/oauth1/access_token", oauth1.ClientCreds{
		ConsumerKey: key, ConsumerSecret: secret,
		Token: temp.Get("oauth_token"), TokenSecret: temp.Get("oauth_token_secret"),
		Verifier: loc.Query().Get("oauth_verifier"),
	})
	if err != nil {
		return err
	}
	fmt.Println(tok.Get("oauth_token"), tok.Get("oauth_token_secret"))
	return nil
}

func signedPost(client *http.Client, endpoint string, creds oauth1.ClientCreds) (url.Values, error) {
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := oauth1.Sign(req, creds); err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(endpoint + ": " + resp.Status + " " + string(body))
	}
	return url.ParseQuery(string(body))
}
