package redis

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// SaveSession stores a login session until its ExpiresAt.
func (s *Store) SaveSession(ctx context.Context, sess *store.Session) error {
	if sess == nil || len(sess.Hash) == 0 {
		return errNoHash
	}
	d, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.setJSON(ctx, s.keys.session(sess.Hash), d, sess.ExpiresAt)
}

// GetSession returns a live session; store.ErrNotFound if gone or expired.
func (s *Store) GetSession(ctx context.Context, hash []byte) (*store.Session, error) {
	sess := new(store.Session)
	if err := s.getJSON(ctx, s.keys.session(hash), "session", sess); err != nil {
		return nil, err
	}
	if expired(sess.ExpiresAt, time.Now()) {
		return nil, notFound("session")
	}
	return sess, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return wrap(s.rdb.Del(ctx, s.keys.session(hash)).Err())
}

// setJSON stores d under key, expiring at exp (zero: never). A time
// already past deletes the key (PXAT in the past).
func (s *Store) setJSON(ctx context.Context, key string, d []byte, exp time.Time) error {
	if exp.IsZero() {
		return wrap(s.rdb.Set(ctx, key, d, 0).Err())
	}
	return wrap(s.rdb.Do(ctx, "set", key, d, "pxat", expiryMs(exp)).Err())
}

// getJSON decodes the JSON under key into v; store.ErrNotFound if none.
func (s *Store) getJSON(ctx context.Context, key, what string, v any) error {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return notFound(what)
	}
	if err != nil {
		return wrap(err)
	}
	return json.Unmarshal(b, v)
}
