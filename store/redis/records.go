package redis

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	goredis "github.com/redis/go-redis/v9"
)

// records is the create/get/list/update/delete of one kind of named item
// that never expires: all of them are fields of one Redis hash (clients by
// id, users by username), so every step is one command or script on one
// key, atomic in a cluster too, and listing is one HGETALL.
type records[T any] struct {
	what string
	key  func(keys) string
	name func(*T) string
}

func (r records[T]) encode(v *T) (string, []byte, error) {
	if v == nil || r.name(v) == "" {
		return "", nil, errNoName
	}
	d, err := json.Marshal(v)
	return r.name(v), d, err
}

// create stores a new item (HSETNX); store.ErrExists if the name is taken.
func (r records[T]) create(ctx context.Context, s *Store, v *T) error {
	name, d, err := r.encode(v)
	if err != nil {
		return err
	}
	ok, err := s.rdb.HSetNX(ctx, r.key(s.keys), name, d).Result()
	if err != nil {
		return wrap(err)
	}
	if !ok {
		return alreadyExists(r.what)
	}
	return nil
}

func (r records[T]) get(ctx context.Context, s *Store, name string) (*T, error) {
	b, err := s.rdb.HGet(ctx, r.key(s.keys), name).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound(r.what)
	}
	if err != nil {
		return nil, wrap(err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return v, nil
}

// list returns every item, sorted by name.
func (r records[T]) list(ctx context.Context, s *Store) ([]*T, error) {
	all, err := s.rdb.HGetAll(ctx, r.key(s.keys)).Result()
	if err != nil {
		return nil, wrap(err)
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*T, 0, len(names))
	for _, n := range names {
		v := new(T)
		if err := json.Unmarshal([]byte(all[n]), v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// update replaces an existing item; store.ErrNotFound if none.
func (r records[T]) update(ctx context.Context, s *Store, v *T) error {
	name, d, err := r.encode(v)
	if err != nil {
		return err
	}
	res, err := s.run(ctx, updateFieldScript, []string{r.key(s.keys)}, name, d)
	if err != nil {
		return err
	}
	if n, _ := res.(int64); n == 0 {
		return notFound(r.what)
	}
	return nil
}

// delete removes the item called name; store.ErrNotFound if none.
func (r records[T]) delete(ctx context.Context, s *Store, name string) error {
	n, err := s.rdb.HDel(ctx, r.key(s.keys), name).Result()
	if err != nil {
		return wrap(err)
	}
	if n == 0 {
		return notFound(r.what)
	}
	return nil
}
