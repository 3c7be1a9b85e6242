package formbody

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func formRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestIsForm(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/x-www-form-urlencoded":                true,
		"Application/X-WWW-Form-Urlencoded; charset=utf-8": true,
		"application/x-www-form-urlencoded ;charset=utf-8": true,
		"application/x-www-form-urlencodedx":               false,
		"multipart/form-data; boundary=x":                  false,
		"application/json":                                 false,
	} {
		r := formRequest("a=b")
		r.Header.Set("Content-Type", ct)
		if got := IsForm(r); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
	r := formRequest("a=b")
	r.Header.Add("Content-Type", "application/x-www-form-urlencoded")
	if IsForm(r) {
		t.Error("two Content-Type fields count as a form")
	}
	if IsForm(formRequest("")) {
		t.Error("an empty body counts as a form")
	}
}

// The body reaches the next reader byte for byte, whether it fitted the
// limit or not, and a second Read does not read again.
func TestReadPutsTheBodyBack(t *testing.T) {
	r := formRequest("a=1&b=2")
	data, tooBig, err := Read(r, 100)
	if err != nil || tooBig || string(data) != "a=1&b=2" {
		t.Fatalf("Read: %q %v %v", data, tooBig, err)
	}
	again, _, _ := Read(r, 100)
	if string(again) != "a=1&b=2" {
		t.Errorf("second Read: %q", again)
	}
	if kept, ok := Kept(r); !ok || string(kept) != "a=1&b=2" {
		t.Errorf("Kept: %q %v", kept, ok)
	}
	if rest, _ := io.ReadAll(r.Body); string(rest) != "a=1&b=2" {
		t.Errorf("the next reader got %q", rest)
	}

	big := formRequest(strings.Repeat("x", 50))
	big.ContentLength = -1 // unknown length: found out by reading
	if _, tooBig, err := Read(big, 10); !tooBig || err != nil {
		t.Fatalf("a body over the limit: tooBig %v, %v", tooBig, err)
	}
	if rest, _ := io.ReadAll(big.Body); string(rest) != strings.Repeat("x", 50) {
		t.Errorf("a body over the limit reached the next reader as %q", rest)
	}
}

type failing struct{ io.Reader }

func (failing) Close() error { return nil }

func TestReadError(t *testing.T) {
	r := formRequest("")
	r.ContentLength = -1
	r.Body = failing{io.MultiReader(strings.NewReader("a=1"), errReader{})}
	if _, _, err := Read(r, 100); err == nil {
		t.Error("a failing body read without error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestReplace(t *testing.T) {
	r := formRequest("a=1&oauth_token=x")
	if _, _, err := Read(r, 100); err != nil {
		t.Fatal(err)
	}
	Replace(r, []byte("a=1"))
	if r.ContentLength != 3 || r.Header.Get("Content-Length") != "3" {
		t.Errorf("lengths %d %q", r.ContentLength, r.Header.Get("Content-Length"))
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "a=1" {
		t.Errorf("body %q", b)
	}
	gb, _ := r.GetBody()
	if b, _ := io.ReadAll(gb); string(b) != "a=1" {
		t.Errorf("GetBody %q", b)
	}
}
