package oauth1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestParseAuthorizationHeader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Param
		fails    bool
	}{
		{name: "the scheme is case-insensitive and values are percent-decoded", in: `oauth realm="Photos", oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"`,
			want: []Param{{"realm", "Photos"}, {"oauth_signature", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="}}},
		{name: "whitespace and empty list elements are tolerated", in: "OAuth  a=\"1\" ,\tb = \"2\",, c=\"3\",",
			want: []Param{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{name: "a plus stays a plus in the header", in: `OAuth a="x+y%20z"`, want: []Param{{"a", "x+y z"}}},
		{name: "unquoted token values are tolerated", in: `OAuth a=1, b=HMAC-SHA1`, want: []Param{{"a", "1"}, {"b", "HMAC-SHA1"}}},
		{name: "an empty value", in: `OAuth oauth_token=""`, want: []Param{{"oauth_token", ""}}},
		{name: "realm is a quoted-string, not percent-decoded", in: `OAuth realm="100% \"real\"", a="b"`, want: []Param{{"realm", `100% "real"`}, {"a", "b"}}},
		{name: "a scheme alone has no parameters", in: "OAuth", want: nil},
		{name: "another scheme is not ours", in: `Bearer abc`, fails: true},
		{name: "a scheme prefix is not the scheme", in: `OAuthX a="b"`, fails: true},
		{name: "an unterminated quote fails", in: `OAuth a="b`, fails: true},
		{name: "a missing value fails", in: `OAuth a, b="c"`, fails: true},
		{name: "a missing comma fails", in: `OAuth a="b" c="d"`, fails: true},
		{name: "a bad escape fails", in: `OAuth a="%2"`, fails: true},
		{name: "a bad escape in a name fails", in: `OAuth a%zz="1"`, fails: true},
		{name: "too many parameters fail", in: "OAuth " + strings.Repeat(`a="1",`, maxHeaderParams+1), fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAuthorizationHeader(tc.in)
			if tc.fails {
				if err == nil {
					t.Fatalf("parsed %q as %v", tc.in, got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCollectParams(t *testing.T) {
	t.Run("the form body counts only with the form content type", func(t *testing.T) {
		for ct, counted := range map[string]bool{
			"application/x-www-form-urlencoded":                true,
			"application/x-www-form-urlencoded; charset=utf-8": true,
			"Application/X-WWW-Form-URLEncoded":                true,
			"multipart/form-data; boundary=x":                  false,
			"text/plain":                                       false,
			"":                                                 false,
		} {
			r := httptest.NewRequest(http.MethodPost, "/?q=1", strings.NewReader("b=2&oauth_nonce=n"))
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			p, e := collectParams(r, DefaultMaxBodyBytes)
			if e != nil {
				t.Fatal(e)
			}
			_, got := p.oauth["oauth_nonce"]
			if got != counted || (len(p.all) == 3) != counted {
				t.Errorf("%q: body counted = %v, want %v", ct, got, counted)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != "b=2&oauth_nonce=n" {
				t.Errorf("%q: body after parsing %q", ct, b)
			}
		}
	})
	t.Run("form decoding: plus is a space, a bare name has an empty value", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/?a=x+y&b&c=%2B&&d=", nil)
		p, e := collectParams(r, DefaultMaxBodyBytes)
		if e != nil {
			t.Fatal(e)
		}
		want := []Param{{"a", "x y"}, {"b", ""}, {"c", "+"}, {"d", ""}}
		if !reflect.DeepEqual(p.all, want) {
			t.Fatalf("got %v", p.all)
		}
	})
	t.Run("a non-OAuth Authorization header is ignored", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/?oauth_token=x", nil)
		r.Header.Add("Authorization", "Basic Zm9vOmJhcg==")
		p, e := collectParams(r, DefaultMaxBodyBytes)
		if e != nil || p.oauth["oauth_token"] != "x" {
			t.Fatalf("%v %v", p, e)
		}
	})
	t.Run("an oversized body is refused and still forwarded intact", func(t *testing.T) {
		body := "a=" + strings.Repeat("x", 100)
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, e := collectParams(r, 50)
		if e == nil || e.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %v", e)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != body {
			t.Fatalf("body after refusal %q", b)
		}
	})
}

func TestHasCredentials(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want bool
	}{
		{"an OAuth header", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", `OAuth oauth_consumer_key="x"`)
			return r
		}, true},
		{"a Bearer header", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", `Bearer x`)
			return r
		}, false},
		{"query parameters", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/?oauth_token=x", nil) }, true},
		{"form parameters", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("oauth_token=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, true},
		{"nothing", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/?a=1", nil) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req()
			if got := e.srv.HasCredentials(r); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
