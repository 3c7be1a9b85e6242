// Command loadgen is a closed-loop HTTP load generator for what wrk cannot
// do: OAuth 1 requests, each signed with a fresh nonce and timestamp
// (RFC 5849 §3.3). It signs all requests before the clock starts (as wrk
// sends prepared requests), so the client's signing does not take CPU
// from the server under test on a shared machine. With -mode plain it sends
// the same GET unsigned, so the OAuth 1 route can be compared with a plain
// route under the same client.
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
	maxRate := flag.Int("max-rate", 30000, "OAuth 1: requests/s to pre-sign for (the run ends early if they run out)")
	key := flag.String("consumer-key", "", "OAuth 1 client identifier")
	secret := flag.String("consumer-secret", "", "OAuth 1 client secret")
	token := flag.String("token", "", "OAuth 1 token")
	tokenSecret := flag.String("token-secret", "", "OAuth 1 token secret")
	flag.Parse()

	// Pre-signed Authorization headers, each with its own nonce.
	var headers []string
	if *mode == "oauth1" {
		creds := oauth1.ClientCreds{ConsumerKey: *key, ConsumerSecret: *secret, Token: *token, TokenSecret: *tokenSecret}
		n := int(float64(*maxRate) * dur.Seconds())
		headers = make([]string, n)
		for i := range headers {
			req, _ := http.NewRequest(http.MethodGet, *target, nil)
			if err := oauth1.Sign(req, creds); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			headers[i] = req.Header.Get("Authorization")
		}
	}
	var next atomic.Int64

	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var ok, bad atomic.Int64
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, *target, nil)
				if headers != nil {
					i := next.Add(1) - 1
					if i >= int64(len(headers)) {
						return
					}
					req.Header.Set("Authorization", headers[i])
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
	elapsed := time.Since(start)
	fmt.Printf("requests/s %.0f ok %d failed %d\n", float64(ok.Load())/elapsed.Seconds(), ok.Load(), bad.Load())
}
