package remote

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
)

// VerifyToken checks an access token (an oauth2.TokenChecker): a JWT
// against the issuer's keys, anything else, and a JWT when the issuer
// publishes no keys, by introspection if configured. It fails closed: an
// issuer not reached yet, or an introspection that cannot be made, is 503.
func (is *Issuer) VerifyToken(ctx context.Context, token string) (*provider.Identity, *provider.Error) {
	m := is.meta.Load()
	if m == nil {
		return nil, unavailable()
	}
	if h, p, sig, ok := jwtParts(token); ok && m.JWKSURI != "" {
		key := cache.KeyOfToken(token)
		now := is.cfg.Clock.Now()
		if a, ok := is.verified.Get(key, now); ok && a.id.ExpiresAt.After(now.Add(-is.cfg.Leeway)) {
			return result(a)
		}
		ticket := is.verified.Ticket(key)
		id, e := is.verifyJWT(ctx, token, h, p, sig)
		if e == nil {
			is.verified.Put(ticket, key, answer{id: id, active: true}, id.ExpiresAt.Add(is.cfg.Leeway))
			return result(answer{id: id, active: true})
		}
		return id, e
	}
	if in := is.cfg.Introspection; in != nil && (in.Endpoint != "" || m.IntrospectionEndpoint != "") {
		return is.introspect(ctx, m, token)
	}
	return nil, invalidToken()
}

// verifyJWT: header (alg pinned by the key, never none or HMAC; typ when
// required; no crit), key by kid, signature, then the claims.
func (is *Issuer) verifyJWT(ctx context.Context, token, h, p, sig string) (*provider.Identity, *provider.Error) {
	var hdr jwsHeader
	if decodeJSON(h, &hdr) != nil || hdr.Crit != nil || hdr.Alg == "" || hdr.Alg == "none" || strings.HasPrefix(hdr.Alg, "HS") {
		return nil, invalidToken()
	}
	if is.cfg.TokenType != "" && !typeMatches(hdr.Typ, is.cfg.TokenType) {
		return nil, invalidToken()
	}
	k := is.keyFor(hdr)
	if k == nil {
		if !is.refreshForKid(ctx) {
			if is.keys.Load() == nil {
				return nil, unavailable()
			}
			return nil, invalidToken()
		}
		if k = is.keyFor(hdr); k == nil {
			return nil, invalidToken()
		}
	}
	s, err := b64.DecodeString(sig)
	if err != nil || !k.verify(hdr.Alg, []byte(token[:len(h)+1+len(p)]), s) {
		return nil, invalidToken()
	}
	var c claims
	if decodeJSON(p, &c) != nil || c == nil {
		return nil, invalidToken()
	}
	if c.str("iss") != is.cfg.Issuer || c.checkTimes(is.cfg.Clock.Now(), is.cfg.Leeway) != nil || c.checkAudience(is.cfg.Audience) != nil {
		return nil, invalidToken()
	}
	if c.isIDToken() {
		return nil, invalidToken()
	}
	return c.identity(), nil
}

// keyFor finds the key a header names: by kid, or without a kid the one
// key that verifies its alg. The alg must be one the key allows.
func (is *Issuer) keyFor(hdr jwsHeader) *key {
	ks := is.keys.Load()
	if ks == nil {
		return nil
	}
	var found *key
	for _, k := range ks.keys {
		if !slices.Contains(k.algs, hdr.Alg) {
			continue
		}
		if hdr.Kid != "" && k.kid == hdr.Kid {
			return k
		}
		if hdr.Kid == "" {
			if found != nil {
				return nil // ambiguous
			}
			found = k
		}
	}
	return found
}

// refreshForKid fetches the keys again because a token names a kid we do
// not have (the issuer may have rotated), at most once per KidRefreshGap,
// and waits for that fetch. It reports whether a fetch completed.
func (is *Issuer) refreshForKid(ctx context.Context) bool {
	is.kidMu.Lock()
	wait := is.keysWait
	if wait == nil {
		now := is.cfg.Clock.Now()
		if now.Sub(is.lastKidFetch) < is.cfg.KidRefreshGap {
			is.kidMu.Unlock()
			return false
		}
		is.lastKidFetch = now
		wait = make(chan struct{})
		is.keysWait = wait
		select {
		case is.refresh <- struct{}{}:
		default:
		}
	}
	is.kidMu.Unlock()
	t := time.NewTimer(is.cfg.Timeout)
	defer t.Stop()
	select {
	case <-wait:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// answer is a cached introspection result.
type answer struct {
	id     *provider.Identity
	active bool
}

// flight is one introspection call in progress; concurrent misses for the
// same token wait for it instead of calling too.
type flight struct {
	done chan struct{}
	a    answer
	e    *provider.Error
}

func (is *Issuer) introspect(ctx context.Context, m *metadata, token string) (*provider.Identity, *provider.Error) {
	key := cache.KeyOf(token)
	now := is.cfg.Clock.Now()
	if a, ok := is.answers.Get(key, now); ok {
		return result(a)
	}
	is.flightMu.Lock()
	f, running := is.flights[key]
	if !running {
		f = &flight{done: make(chan struct{})}
		is.flights[key] = f
	}
	is.flightMu.Unlock()
	if running {
		select {
		case <-f.done:
			if f.e != nil {
				return nil, f.e
			}
			return result(f.a)
		case <-ctx.Done():
			return nil, unavailable()
		}
	}
	ticket := is.answers.Ticket(key)
	f.a, f.e = is.callIntrospection(ctx, m, token)
	is.flightMu.Lock()
	delete(is.flights, key)
	is.flightMu.Unlock()
	close(f.done)
	if f.e != nil {
		return nil, f.e
	}
	in := is.cfg.Introspection
	if f.a.active && in.Cache > 0 {
		until := now.Add(in.Cache)
		if exp := f.a.id.ExpiresAt; !exp.IsZero() && exp.Before(until) {
			until = exp
		}
		is.answers.Put(ticket, key, f.a, until)
	} else if !f.a.active && in.NegativeCache > 0 {
		is.answers.Put(ticket, key, f.a, now.Add(in.NegativeCache))
	}
	return result(f.a)
}

func result(a answer) (*provider.Identity, *provider.Error) {
	if !a.active {
		return nil, invalidToken()
	}
	id := *a.id
	id.Scopes = slices.Clone(id.Scopes)
	return &id, nil
}

// callIntrospection asks the issuer (RFC 7662 §2), authenticating as its
// metadata advertises: client_secret_basic unless only client_secret_post
// is listed.
func (is *Issuer) callIntrospection(ctx context.Context, m *metadata, token string) (answer, *provider.Error) {
	in := is.cfg.Introspection
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	post := len(m.IntrospectionAuthMeths) > 0 && !slices.Contains(m.IntrospectionAuthMeths, "client_secret_basic") &&
		slices.Contains(m.IntrospectionAuthMeths, "client_secret_post")
	if post {
		form.Set("client_id", in.ClientID)
		form.Set("client_secret", in.ClientSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, is.cfg.Timeout)
	defer cancel()
	endpoint := m.IntrospectionEndpoint
	if in.Endpoint != "" {
		endpoint = in.Endpoint
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, unavailable()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !post {
		// RFC 6749 §2.3.1: both form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(in.ClientID), url.QueryEscape(in.ClientSecret))
	}
	var c claims
	resp, err := is.client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errStatus(resp.StatusCode)
		} else {
			err = decodeBody(resp, &c)
		}
	}
	if err != nil {
		is.cfg.Audit.Emit(provider.Event{Name: "issuer_unreachable", Protocol: provider.ProtocolOAuth2, Reason: "introspection: " + err.Error()})
		return answer{}, unavailable()
	}
	if active, _ := c["active"].(bool); !active {
		return answer{}, nil
	}
	// RFC 7662 §4: a token of another issuer, or one not yet/no longer
	// valid, is not for us even if the endpoint says active.
	timed := !math.IsNaN(c.num("exp"))
	if iss := c.str("iss"); (iss != "" && iss != is.cfg.Issuer) || (timed && c.checkTimes(is.cfg.Clock.Now(), is.cfg.Leeway) != nil) || c.checkAudience(is.cfg.Audience) != nil {
		return answer{}, nil
	}
	return answer{id: c.identity(), active: true}, nil
}
