package provider

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// A storage that cannot answer is 503 temporarily_unavailable with
// Retry-After, whatever wraps the error; any other store failure stays
// 500. Neither lets a request through.
func TestStoreErrorsMapOntoTheirStatus(t *testing.T) {
	down := fmt.Errorf("get token: %w", fmt.Errorf("%w: dial tcp: refused", store.ErrUnavailable))
	if e := ErrStore(down); e.Status != http.StatusServiceUnavailable || e.Code != "temporarily_unavailable" {
		t.Errorf("unavailable storage: %d %s, want 503 temporarily_unavailable", e.Status, e.Code)
	}
	if e := ErrStore(errors.New("corrupt record")); e.Status != http.StatusInternalServerError || e.Code != "server_error" {
		t.Errorf("other store failure: %d %s, want 500 server_error", e.Status, e.Code)
	}
	p := &Pages{Key: []byte("test key test key test key 12345")}
	w := httptest.NewRecorder()
	p.RenderStoreError(w, down)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != RetryAfter {
		t.Errorf("page for an unavailable storage: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	p.RenderStoreError(w, errors.New("corrupt record"))
	if w.Code != http.StatusInternalServerError || w.Header().Get("Retry-After") != "" {
		t.Errorf("page for another failure: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}
