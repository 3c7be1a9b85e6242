// Command loadgen is a closed-loop HTTP load generator for what wrk cannot
// do: OAuth 1 requests, each signed with a fresh nonce and timestamp
// (RFC 5849 §3.3). With -mode plain it sends the same GET unsigned, so the
// OAuth 1 route can be compared with a plain route under the same client.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

func main() {
	target := flag.String("url", "", "URL to GET")
	mode := flag.String("mode", "plain", "plain or oauth1")
	conns := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "duration")
	key := flag.String("consumer-key", "", "OAuth 1 client identifier")
	secret := flag.String("consumer-secret", "", "OAuth 1 client secret")
	token := flag.String("token", "", "OAuth 1 token")
	tokenSecret := flag.String("token-secret", "", "OAuth 1 token secret")
	flag.Parse()

	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	creds := oauth1.ClientCreds{ConsumerKey: *key, ConsumerSecret: *secret, Token: *token, TokenSecret: *tokenSecret}

	var ok, bad atomic.Int64
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, *target, nil)
				if *mode == "oauth1" {
					if err := oauth1.Sign(req, creds); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
				}
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("requests/s %.0f ok %d failed %d\n", float64(ok.Load())/dur.Seconds(), ok.Load(), bad.Load())
}
