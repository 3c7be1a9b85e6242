package redis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// SaveCode stores an authorization code until its ExpiresAt, as a hash
// (d: JSON, c: consumed) expiring then.
func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	if c == nil || len(c.Hash) == 0 {
		return errNoHash
	}
	cp := *c
	cp.Consumed = false // kept in field c
	d, err := json.Marshal(&cp)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, putExpiringScript, []string{s.keys.code(c.Hash)}, d, expiryMs(c.ExpiresAt))
	return err
}

// ConsumeCode marks the code used and returns it, in one script: of
// concurrent redemptions exactly one wins. The consumed code keeps its
// original expiry (the key's PEXPIREAT is untouched), so a replay is
// recognized (store.ErrConsumed, with the code) for the code's lifetime
// and forgotten after it.
func (s *Store) ConsumeCode(ctx context.Context, hash []byte) (*store.Code, error) {
	res, err := s.run(ctx, markOnceScript, []string{s.keys.code(hash)}, "c")
	if err != nil {
		return nil, err
	}
	list, _ := res.([]any)
	if len(list) != 2 {
		return nil, notFound("code")
	}
	d, _ := list[1].(string)
	code := new(store.Code)
	if err := json.Unmarshal([]byte(d), code); err != nil {
		return nil, err
	}
	code.Consumed = true
	if expired(code.ExpiresAt, time.Now()) {
		return nil, notFound("code")
	}
	if before, _ := list[0].(int64); before == 1 {
		return code, store.ErrConsumed
	}
	return code, nil
}
