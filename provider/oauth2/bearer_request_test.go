package oauth2

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

func TestBearerDetect(t *testing.T) {
	e := newEnv(t, nil)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, target, ctype, body, auth string
		allowQuery                              bool
		token                                   string // "" with want "": none found
		want                                    string // error description fragment
	}{
		{"header", "GET", "/x", "", "", "Bearer tok", false, "tok", ""},
		{"header, scheme in any case", "GET", "/x", "", "", "bEaReR tok", false, "tok", ""},
		{"empty header token", "GET", "/x", "", "", "Bearer  ", false, "", "empty bearer token"},
		{"another scheme", "GET", "/x", "", "", "Basic dXNlcjpwYXNz", false, "", ""},
		{"form body", "POST", "/x", form, "a=1&access_token=tok", "", false, "tok", ""},
		{"form body with charset", "POST", "/x", form + "; charset=utf-8", "access_token=tok", "", false, "tok", ""},
		{"a GET body is not read", "GET", "/x", form, "access_token=tok", "", false, "", ""},
		{"a JSON body is not read", "POST", "/x", "application/json", "access_token=tok", "", false, "", ""},
		{"repeated in the body", "POST", "/x", form, "access_token=a&access_token=b", "", false, "", "repeated"},
		{"header and body", "POST", "/x", form, "access_token=a", "Bearer b", false, "", "more than one way"},
		{"query refused by default", "GET", "/x?access_token=tok", "", "", "", false, "", "not accepted"},
		{"query allowed", "GET", "/x?access_token=tok", "", "", "", true, "tok", ""},
		{"query percent-encoded name", "GET", "/x?access%5Ftoken=tok", "", "", "", true, "tok", ""},
		{"header and query", "GET", "/x?access_token=a", "", "", "Bearer b", true, "", "more than one way"},
		{"repeated in the query", "GET", "/x?access_token=a&access_token=b", "", "", "", true, "", "repeated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			c, found, perr := e.srv.Verifier(tc.allowQuery).Detect(r)
			switch {
			case tc.want != "":
				if perr == nil || perr.Code != "invalid_request" || !strings.Contains(perr.Description, tc.want) {
					t.Fatalf("error %v, want invalid_request with %q", perr, tc.want)
				}
			case perr != nil:
				t.Fatalf("error %v", perr)
			case found != (tc.token != "") || c.Value != tc.token:
				t.Fatalf("found %v %q, want %q", found, c.Value, tc.token)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != tc.body {
				t.Errorf("the body after Detect is %q, want it intact", b)
			}
		})
	}
}

// Strip removes the token where it was and nothing else.
func TestBearerStrip(t *testing.T) {
	e := newEnv(t, nil)
	v := e.srv.Verifier(true)
	r := httptest.NewRequest("POST", "/x?keep=1", strings.NewReader("a=1&access_token=tok&b=2"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c, _, _ := v.Detect(r)
	v.Strip(r, c)
	if b, _ := io.ReadAll(r.Body); string(b) != "a=1&b=2" || r.ContentLength != 7 {
		t.Errorf("body %q, length %d", b, r.ContentLength)
	}
	r = httptest.NewRequest("GET", "/x?keep=1&access_token=tok", nil)
	c, _, _ = v.Detect(r)
	v.Strip(r, c)
	if r.URL.RawQuery != "keep=1" || r.RequestURI != "/x?keep=1" {
		t.Errorf("query %q, RequestURI %q", r.URL.RawQuery, r.RequestURI)
	}
	r = httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer tok")
	c, _, _ = v.Detect(r)
	v.Strip(r, c)
	if _, ok := r.Header["Authorization"]; ok {
		t.Error("the Authorization header reaches the backend")
	}
}

func TestBearerChallenge(t *testing.T) {
	e := newEnv(t, nil)
	v := e.srv.Verifier(false)
	w := httptest.NewRecorder()
	v.Challenge(w, "api", nil)
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="api"` {
		t.Errorf("bare challenge %q", got)
	}
	w = httptest.NewRecorder()
	id, perr := v.Verify(httptest.NewRequest("GET", "/", nil), provider.Credential{Value: e.clientToken("svc")}, []string{"admin"})
	if id == nil || id.ClientID != "svc" || perr == nil {
		t.Fatalf("a token without the scope: %+v, %v", id, perr)
	}
	v.Challenge(w, "api", perr)
	if w.Code != http.StatusForbidden || w.Header().Get("WWW-Authenticate") != `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"` {
		t.Errorf("%d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}
