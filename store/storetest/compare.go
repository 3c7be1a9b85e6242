package storetest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var timeType = reflect.TypeFor[time.Time]()

// equal compares store values field by field, with times compared as
// instants (a backend may return another location or drop the monotonic
// reading) and nil and empty slices alike (a backend may omit empty ones).
func equal(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	default:
		return a.Equal(b)
	}
}

// mustEqual fails t unless got and want hold the same data.
func mustEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !equal(reflect.ValueOf(got), reflect.ValueOf(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// mustErr fails t unless err is (or wraps) want; want nil means no error.
func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// newHash returns a random 32-byte value, as a SHA-256 hash would be.
func newHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// now is the current time at millisecond precision, which any backend can
// store exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// tok describes a token to build; zero fields get defaults.
type tok struct {
	kind   store.TokenKind
	client string
	user   string
	family string
	ttl    time.Duration // 0: one hour; negative: already expired
}

func (d tok) build() *store.Token {
	if d.kind == 0 {
		d.kind = store.KindAccess
	}
	if d.client == "" {
		d.client = "client-1"
	}
	if d.ttl == 0 {
		d.ttl = time.Hour
	}
	issued := now()
	return &store.Token{
		Hash:      newHash(),
		Kind:      d.kind,
		ClientID:  d.client,
		User:      d.user,
		Scopes:    []string{"read", "write"},
		Family:    d.family,
		IssuedAt:  issued,
		ExpiresAt: issued.Add(d.ttl),
	}
}

// race runs fn(i) for i in [0, n) in n goroutines released at once.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// racers is how many goroutines the race tests use.
const racers = 32

// expectGone fails t unless the token is gone.
func expectGone(t *testing.T, s store.Store, hash []byte, what string) {
	t.Helper()
	_, err := s.GetToken(t.Context(), hash)
	mustErr(t, fmt.Sprintf("GetToken(%s)", what), err, store.ErrNotFound)
}

// expectLive fails t unless the token is there.
func expectLive(t *testing.T, s store.Store, hash []byte, what string) {
	t.Helper()
	_, err := s.GetToken(t.Context(), hash)
	mustErr(t, fmt.Sprintf("GetToken(%s)", what), err, nil)
}
