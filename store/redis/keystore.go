package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"
)

// LoadOrCreateKey returns the key stored under name, or stores generate()'s
// value with SET NX and returns whichever value won (GET after a lost
// SET NX), so every node agrees on one key. A generator error is returned
// and nothing is stored.
func (s *Store) LoadOrCreateKey(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	key := s.keys.secret(name)
	b, err := s.rdb.Get(ctx, key).Bytes()
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, goredis.Nil) {
		return nil, wrap(err)
	}
	val, err := generate()
	if err != nil {
		return nil, err
	}
	ok, err := s.rdb.SetNX(ctx, key, val, 0).Result()
	if err != nil {
		return nil, wrap(err)
	}
	if ok {
		return val, nil
	}
	b, err = s.rdb.Get(ctx, key).Bytes()
	if err != nil {
		return nil, wrap(err)
	}
	return b, nil
}
