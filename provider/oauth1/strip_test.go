package oauth1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStripParams(t *testing.T) {
	t.Run("query and header", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/p?a=%41&oauth_token=x&b=c+d&oauth%5Fnonce=n&oauth_signature=s", nil)
		r.Header.Set("Authorization", `OAuth oauth_consumer_key="k"`)
		StripParams(r)
		if r.URL.RawQuery != "a=%41&b=c+d" || r.RequestURI != "/p?a=%41&b=c+d" {
			t.Fatalf("query %q, RequestURI %q", r.URL.RawQuery, r.RequestURI)
		}
		if r.Header.Get("Authorization") != "" {
			t.Fatal("Authorization left")
		}
	})
	t.Run("form body after Verify read it", func(t *testing.T) {
		e := refusalEnv(t, nil)
		r := httptest.NewRequest(http.MethodPost, "http://api.example/r", strings.NewReader("x=1&oauth_token=at1&y=%20+"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", `OAuth oauth_consumer_key="c1"`)
		_, _ = e.srv.Verify(r, apiURL) // refused; the body must still be whole
		StripParams(r)
		b, _ := io.ReadAll(r.Body)
		if string(b) != "x=1&y=%20+" || r.ContentLength != int64(len(b)) || r.Header.Get("Content-Length") != "10" {
			t.Fatalf("body %q, ContentLength %d / %q", b, r.ContentLength, r.Header.Get("Content-Length"))
		}
		rc, err := r.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		if b2, _ := io.ReadAll(rc); string(b2) != string(b) {
			t.Fatalf("GetBody gives %q", b2)
		}
	})
	t.Run("a body of only protocol parameters becomes empty", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("oauth_token=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		StripParams(r)
		if r.Body != http.NoBody || r.ContentLength != 0 {
			t.Fatalf("body %v, %d", r.Body, r.ContentLength)
		}
	})
	t.Run("other bodies are untouched", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("oauth_token=x"))
		r.Header.Set("Content-Type", "text/plain")
		StripParams(r)
		if b, _ := io.ReadAll(r.Body); string(b) != "oauth_token=x" {
			t.Fatalf("body %q", b)
		}
	})
}
