package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
)

// Defaults of a zero Config.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultLeeway        = 30 * time.Second
	DefaultKeysMaxAge    = time.Hour
	minKeysMaxAge        = time.Minute
	maxKeysMaxAge        = 24 * time.Hour
	DefaultKidRefreshGap = 10 * time.Second
	maxDocument          = 1 << 20
)

// Config configures a remote issuer.
type Config struct {
	// Issuer is the issuer identifier; its metadata must state exactly it.
	Issuer string
	// Audience, if set, must contain one of the token's aud values.
	Audience []string
	// TokenType, if set, is the JWT typ required (e.g. "at+jwt" for
	// RFC 9068 tokens); empty accepts any.
	TokenType string
	// Leeway for exp, nbf and iat. 0 means DefaultLeeway; negative, none.
	Leeway time.Duration
	// Timeout bounds each call to the issuer. 0 means DefaultTimeout.
	Timeout time.Duration
	// KidRefreshGap is the least time between two key set fetches caused
	// by unknown kids, so a flood of tokens with random kids cannot
	// hammer the issuer. 0 means DefaultKidRefreshGap.
	KidRefreshGap time.Duration
	// Introspection, if set, verifies opaque tokens (RFC 7662).
	Introspection *Introspection
	// Client makes the calls; nil means a client with Timeout.
	Client *http.Client
	// Clock defaults to real time.
	Clock provider.Clock
	// Audit receives fetch failures.
	Audit provider.Auditor
}

// Introspection configures RFC 7662 token introspection.
type Introspection struct {
	ClientID, ClientSecret string
	// Endpoint overrides the metadata's introspection_endpoint (Hydra
	// serves it on its admin port and does not advertise it).
	Endpoint string
	// Cache is how long an active answer is reused (never past the
	// token's exp); 0 asks the issuer every time. NegativeCache is the
	// same for inactive answers.
	Cache, NegativeCache time.Duration
	// CacheSize bounds the answers kept; 0 means cache.DefaultSize.
	CacheSize int
}

// metadata is what is read of RFC 8414 / OpenID Discovery metadata.
type metadata struct {
	Issuer                 string   `json:"issuer"`
	JWKSURI                string   `json:"jwks_uri"`
	IntrospectionEndpoint  string   `json:"introspection_endpoint"`
	IntrospectionAuthMeths []string `json:"introspection_endpoint_auth_methods_supported"`
}

// keySet is the issuer's keys as last fetched.
type keySet struct {
	keys    []*key
	fetched time.Time
	maxAge  time.Duration
}

// Issuer verifies the tokens of one remote authorization server. Start
// fetches its metadata and keys in the background; Verify never waits
// for them except to refresh keys for an unknown kid.
type Issuer struct {
	cfg    Config
	client *http.Client

	meta atomic.Pointer[metadata]
	keys atomic.Pointer[keySet]

	// refresh is signalled to fetch keys now; kidMu guards lastKidFetch
	// and keysWait (waiters for the fetch in flight).
	refresh      chan struct{}
	kidMu        sync.Mutex
	lastKidFetch time.Time
	keysWait     chan struct{}

	// verified caches JWTs whose signature and claims checked out, until
	// their exp: a repeated token costs a map lookup, not a signature.
	verified *cache.Cache[answer]
	answers  *cache.Cache[answer]
	flightMu sync.Mutex
	flights  map[cache.Key]*flight

	stop context.CancelFunc
	done chan struct{}
}

// New checks cfg and returns an Issuer; call Start, then Stop.
func New(cfg Config) (*Issuer, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("issuer %q must be an absolute http(s) URL without query or fragment", cfg.Issuer)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	} else if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.KidRefreshGap == 0 {
		cfg.KidRefreshGap = DefaultKidRefreshGap
	}
	if in := cfg.Introspection; in != nil && (in.ClientID == "" || in.ClientSecret == "") {
		return nil, errors.New("introspection needs client_id and client_secret")
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: cfg.Timeout}
	}
	is := &Issuer{cfg: cfg, client: c, refresh: make(chan struct{}, 1), flights: map[cache.Key]*flight{}, verified: cache.New[answer](0)}
	if in := cfg.Introspection; in != nil && (in.Cache > 0 || in.NegativeCache > 0) {
		is.answers = cache.New[answer](in.CacheSize)
	}
	return is, nil
}

// Start runs the background fetching until Stop.
func (is *Issuer) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	is.stop, is.done = cancel, make(chan struct{})
	go is.loop(ctx)
}

// Stop ends the background fetching and waits for it.
func (is *Issuer) Stop() {
	if is.stop != nil {
		is.stop()
		<-is.done
	}
}

// loop fetches the metadata until it has it, then keeps the key set
// fresh: at its max-age, and when Verify meets an unknown kid. Failures
// retry with backoff; keys already known stay in use meanwhile.
func (is *Issuer) loop(ctx context.Context) {
	defer close(is.done)
	backoff := time.Second
	for {
		wait := backoff
		if err := is.sync(ctx); err != nil {
			is.cfg.Audit.Emit(provider.Event{Name: "issuer_unreachable", Protocol: provider.ProtocolOAuth2, Reason: err.Error()})
			backoff = min(2*backoff, 30*time.Second)
		} else {
			backoff = time.Second
			wait = DefaultKeysMaxAge
			if ks := is.keys.Load(); ks != nil {
				wait = ks.maxAge
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-is.refresh:
		case <-t.C:
		}
		t.Stop()
	}
}

// sync fetches what is missing or due: the metadata, then the keys.
func (is *Issuer) sync(ctx context.Context) error {
	if is.meta.Load() == nil {
		m, err := is.fetchMetadata(ctx)
		if err != nil {
			return err
		}
		is.meta.Store(m)
	}
	m := is.meta.Load()
	if m.JWKSURI == "" {
		return nil
	}
	err := is.fetchKeys(ctx, m.JWKSURI)
	is.kidMu.Lock()
	if is.keysWait != nil {
		close(is.keysWait)
		is.keysWait = nil
	}
	is.kidMu.Unlock()
	return err
}

// wellKnown lists the metadata URLs of an issuer: RFC 8414 §3 inserts the
// well-known path before the issuer's path; OpenID Discovery appends it.
func wellKnown(issuer string) []string {
	u, _ := url.Parse(issuer)
	path := strings.TrimSuffix(u.Path, "/")
	base := u.Scheme + "://" + u.Host
	return []string{
		base + "/.well-known/oauth-authorization-server" + path,
		base + path + "/.well-known/openid-configuration",
	}
}

func (is *Issuer) fetchMetadata(ctx context.Context) (*metadata, error) {
	var errs []error
	for _, u := range wellKnown(is.cfg.Issuer) {
		var m metadata
		if _, err := is.getJSON(ctx, u, &m); err != nil {
			errs = append(errs, err)
			continue
		}
		// RFC 8414 §3.3, OpenID Discovery §4.3: the document must be the
		// issuer's own.
		if m.Issuer != is.cfg.Issuer {
			errs = append(errs, fmt.Errorf("%s states issuer %q, not %q", u, m.Issuer, is.cfg.Issuer))
			continue
		}
		return &m, nil
	}
	return nil, fmt.Errorf("issuer metadata: %w", errors.Join(errs...))
}

func (is *Issuer) fetchKeys(ctx context.Context, uri string) error {
	var raw json.RawMessage
	hdr, err := is.getJSON(ctx, uri, &raw)
	if err != nil {
		return fmt.Errorf("JWK Set: %w", err)
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return fmt.Errorf("JWK Set %s: %w", uri, err)
	}
	is.keys.Store(&keySet{keys: keys, fetched: is.cfg.Clock.Now(), maxAge: maxAge(hdr.Get("Cache-Control"))})
	return nil
}

// maxAge reads Cache-Control max-age, clamped so keys are refetched at
// least daily and at most every minute.
func maxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(d)), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return min(max(time.Duration(n)*time.Second, minKeysMaxAge), maxKeysMaxAge)
			}
		}
	}
	return DefaultKeysMaxAge
}

func (is *Issuer) getJSON(ctx context.Context, uri string, v any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, is.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := is.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", uri, errStatus(resp.StatusCode))
	}
	if err := decodeBody(resp, v); err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	return resp.Header, nil
}

// Ready reports whether the issuer's metadata is known.
func (is *Issuer) Ready() bool { return is.meta.Load() != nil }

func unavailable() *provider.Error {
	return provider.NewError(http.StatusServiceUnavailable, "temporarily_unavailable", "the authorization server cannot be reached; try again later")
}

func invalidToken() *provider.Error { return provider.ErrInvalidToken() }
