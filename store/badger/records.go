package badger

import (
	"context"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// records is the create/get/list/update/delete of one kind of named item
// that never expires, stored as JSON under prefix + name: clients by id,
// users by username.
type records[T any] struct {
	// what names the item in ErrNotFound and ErrExists.
	what string
	// key is where the item called name is stored, under prefix.
	key    func(name string) []byte
	prefix string
	// name is the item's name; errNoName is returned for an item without
	// one (or nil).
	name      func(*T) string
	errNoName error
	// changed, if set, runs after every update or delete, committed or
	// failed (it may have landed partly): clients' change counter.
	changed func(d *DB)
}

// encode checks that v has a name and encodes it.
func (r *records[T]) encode(v *T) (key, val []byte, err error) {
	if v == nil || r.name(v) == "" {
		return nil, nil, r.errNoName
	}
	val, err = encode(v)
	if err != nil {
		return nil, nil, err
	}
	return r.key(r.name(v)), val, nil
}

// create stores a new item; store.ErrExists if the name is taken.
func (r *records[T]) create(ctx context.Context, d *DB, v *T) error {
	key, val, err := r.encode(v)
	if err != nil {
		return err
	}
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if found {
			return alreadyExists(r.what)
		}
		return set(txn, key, val, zeroTime)
	})
}

// get returns the item called name; store.ErrNotFound if none.
func (r *records[T]) get(ctx context.Context, d *DB, name string) (*T, error) {
	v := new(T)
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return get(txn, r.key(name), r.what, v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// list returns every item, sorted by name.
func (r *records[T]) list(ctx context.Context, d *DB) ([]*T, error) {
	var out []*T
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return scan(txn, []byte(r.prefix), func(val []byte) error {
			v := new(T)
			if err := decodeBytes(val, v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	})
	return out, err
}

// update replaces an existing item; store.ErrNotFound if none.
func (r *records[T]) update(ctx context.Context, d *DB, v *T) error {
	key, val, err := r.encode(v)
	if err != nil {
		return err
	}
	return r.modify(ctx, d, key, func(txn *badgerdb.Txn) error { return set(txn, key, val, zeroTime) })
}

// delete removes the item called name; store.ErrNotFound if none.
func (r *records[T]) delete(ctx context.Context, d *DB, name string) error {
	key := r.key(name)
	return r.modify(ctx, d, key, func(txn *badgerdb.Txn) error { return txn.Delete(key) })
}

// modify runs write in a transaction if key is present, else
// store.ErrNotFound, then reports the change.
func (r *records[T]) modify(ctx context.Context, d *DB, key []byte, write func(*badgerdb.Txn) error) error {
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if !found {
			return notFound(r.what)
		}
		return write(txn)
	})
	if r.changed != nil {
		r.changed(d)
	}
	return err
}

// scan calls fn with the value of every key under prefix, in key order.
func scan(txn *badgerdb.Txn, prefix []byte, fn func(val []byte) error) error {
	opts := badgerdb.DefaultIteratorOptions
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := it.Item().Value(fn); err != nil {
			return err
		}
	}
	return nil
}
