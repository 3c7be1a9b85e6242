package jwt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// DefaultRotation is how long one key signs when NewKeys is given 0.
const DefaultRotation = 30 * 24 * time.Hour

// MinRotation is the shortest rotation period NewKeys accepts.
const MinRotation = time.Minute

// MaxLeeway is the largest clock skew WithLeeway accepts.
const MaxLeeway = 5 * time.Minute

// maxJWKSAge caps the Cache-Control max-age of the JWK Set.
const maxJWKSAge = time.Hour

// Option configures NewKeys.
type Option func(*options)

type options struct {
	issuer   string
	audience []string
	leeway   time.Duration
	prefix   string
}

// WithIssuer sets the issuer identifier (the server's `issuer`): the iss of
// tokens whose Claims leave it empty, and the only iss Verify accepts.
// Without it Verify refuses every token.
func WithIssuer(issuer string) Option {
	return func(o *options) { o.issuer = issuer }
}

// WithAudience sets the audience (RFC 9068 §3, the resource servers the
// tokens are meant for): the aud of tokens whose Claims leave it empty,
// and what Verify requires (one of them in aud). Default: the issuer.
func WithAudience(audience ...string) Option {
	return func(o *options) { o.audience = append([]string(nil), audience...) }
}

// WithLeeway tolerates that much clock skew in exp and nbf (at most
// MaxLeeway). Default 0.
func WithLeeway(d time.Duration) Option {
	return func(o *options) { o.leeway = d }
}

// WithKeyPrefix names the keys in the store <prefix>/<alg>/<rotation>/<period>
// instead of jwt/...: a second series of keys (OpenID Connect ID tokens)
// that never shares a key with the access tokens, even with the same
// algorithm and rotation. Default "jwt".
func WithKeyPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// Keys signs and verifies JWT access tokens with rotating keys kept in a
// store.KeyStore. It is safe for concurrent use.
type Keys struct {
	store    store.KeyStore
	prefix   string
	alg      Algorithm
	rotation int64 // seconds
	clock    provider.Clock
	issuer   string
	audience []string
	leeway   float64 // seconds
	maxAge   int     // JWK Set Cache-Control max-age, seconds

	// set is the key set of the current period; the hot path only loads it
	// and compares its period, refresh replaces it when the period changed.
	set atomic.Pointer[keySet]
	mu  sync.Mutex // serializes refresh

	signatureChecks atomic.Uint64
}

// keySet is the keys of one rotation period. Immutable once stored.
type keySet struct {
	period  int64
	current *signingKey
	keys    []*signingKey // verifying keys: current, previous (if made), next
	jwks    []byte
}

// NewKeys loads (creating when missing) the signing keys of the current
// rotation period and the next one. alg "" means EdDSA, rotation 0 means
// DefaultRotation, a nil clock the real time.
//
// The key of period p is stored as jwt/<alg>/<rotation seconds>/<p>, where
// p = floor(unix time / rotation): every instance sharing a store computes
// the same names, and LoadOrCreateKey makes them agree on one key each.
// Changing the rotation period starts a new series of keys, so tokens signed
// before the change stop verifying.
func NewKeys(ctx context.Context, ks store.KeyStore, alg Algorithm, rotation time.Duration, clock provider.Clock, opts ...Option) (*Keys, error) {
	if ks == nil {
		return nil, errors.New("jwt: a key store is required")
	}
	if alg == "" {
		alg = EdDSA
	}
	if !alg.valid() {
		return nil, fmt.Errorf("jwt: unsupported algorithm %q (want EdDSA, ES256 or RS256)", alg)
	}
	if rotation == 0 {
		rotation = DefaultRotation
	}
	if rotation < MinRotation {
		return nil, fmt.Errorf("jwt: rotation period %v is shorter than %v", rotation, MinRotation)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.leeway < 0 || o.leeway > MaxLeeway {
		return nil, fmt.Errorf("jwt: leeway %v is outside 0 to %v", o.leeway, MaxLeeway)
	}
	for _, a := range o.audience {
		if a == "" {
			return nil, errors.New("jwt: empty audience")
		}
	}
	if len(o.audience) == 0 && o.issuer != "" {
		o.audience = []string{o.issuer}
	}
	k := &Keys{
		store:    ks,
		prefix:   o.prefix,
		alg:      alg,
		rotation: int64(rotation / time.Second),
		clock:    clock,
		issuer:   o.issuer,
		audience: o.audience,
		leeway:   o.leeway.Seconds(),
		maxAge:   int(min(maxJWKSAge, rotation/2) / time.Second),
	}
	if _, err := k.refresh(ctx, k.periodOf(k.clock.Now())); err != nil {
		return nil, err
	}
	return k, nil
}

// periodOf is the index of the rotation period t falls in (floored, so it
// is right before 1970 too).
func (k *Keys) periodOf(t time.Time) int64 {
	s := t.Unix()
	p := s / k.rotation
	if s%k.rotation < 0 {
		p--
	}
	return p
}

func (k *Keys) keyName(period int64) string {
	prefix := k.prefix
	if prefix == "" {
		prefix = "jwt"
	}
	return prefix + "/" + string(k.alg) + "/" + strconv.FormatInt(k.rotation, 10) + "/" + strconv.FormatInt(period, 10)
}

// keys returns the key set of the clock's current period, refreshing it
// when the period changed. The common case is one atomic load.
func (k *Keys) keys(ctx context.Context) (*keySet, error) {
	p := k.periodOf(k.clock.Now())
	if s := k.set.Load(); s != nil && s.period == p {
		return s, nil
	}
	return k.refresh(ctx, p)
}

// publicSet is keys for the JWK Set: on a store failure it falls back to
// the last set, since publishing stale public keys beats publishing none.
func (k *Keys) publicSet(r *http.Request) *keySet {
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if s, err := k.keys(ctx); err == nil {
		return s
	}
	return k.set.Load()
}

// refresh builds the key set of period: the current key and the next one
// are created if missing, the previous one only loaded, since a key that
// never signed need not be made to verify.
func (k *Keys) refresh(ctx context.Context, period int64) (*keySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.set.Load()
	if old != nil && old.period == period {
		return old, nil
	}
	cur, err := k.load(ctx, old, period, true)
	if err != nil {
		return nil, err
	}
	prev, err := k.load(ctx, old, period-1, false)
	if err != nil {
		return nil, err
	}
	next, err := k.load(ctx, old, period+1, true)
	if err != nil {
		return nil, err
	}
	s := &keySet{period: period, current: cur, keys: []*signingKey{cur}}
	if prev != nil {
		s.keys = append(s.keys, prev)
	}
	s.keys = append(s.keys, next)
	s.jwks = encodeJWKS(s.keys)
	k.set.Store(s)
	return s, nil
}

// errAbsent tells LoadOrCreateKey not to create a key.
var errAbsent = errors.New("jwt: key not created")

// load returns the key of period, reusing the parsed one from old. Without
// create, a missing key is (nil, nil).
func (k *Keys) load(ctx context.Context, old *keySet, period int64, create bool) (*signingKey, error) {
	if old != nil {
		for _, sk := range old.keys {
			if sk.period == period {
				return sk, nil
			}
		}
	}
	name := k.keyName(period)
	generate := k.alg.generate
	absent := false
	if !create {
		generate = func() ([]byte, error) {
			absent = true
			return nil, errAbsent
		}
	}
	der, err := k.store.LoadOrCreateKey(ctx, name, generate)
	if err != nil && absent {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: key %s: %w", name, err)
	}
	sk, err := parseKey(k.alg, period, der)
	if err != nil {
		return nil, fmt.Errorf("jwt: key %s: %w", name, err)
	}
	return sk, nil
}
