package badger

import (
	"context"
	"errors"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoClientID = errors.New("store/badger: client without id")

// CreateClient stores a new client; store.ErrExists if the id is taken.
func (d *DB) CreateClient(ctx context.Context, c *store.Client) error {
	if c == nil || c.ID == "" {
		return errNoClientID
	}
	val, err := encode(c)
	if err != nil {
		return err
	}
	key := clientKey(c.ID)
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if found {
			return alreadyExists("client")
		}
		return set(txn, key, val, zeroTime)
	})
}

// GetClient returns the client with id; store.ErrNotFound if none.
func (d *DB) GetClient(ctx context.Context, id string) (*store.Client, error) {
	c := new(store.Client)
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return get(txn, clientKey(id), "client", c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListClients returns every client, sorted by id.
func (d *DB) ListClients(ctx context.Context) ([]*store.Client, error) {
	var out []*store.Client
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return scan(txn, []byte(prefixClient), func(val []byte) error {
			c := new(store.Client)
			if err := decodeBytes(val, c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// UpdateClient replaces an existing client; store.ErrNotFound if none.
func (d *DB) UpdateClient(ctx context.Context, c *store.Client) error {
	if c == nil || c.ID == "" {
		return errNoClientID
	}
	val, err := encode(c)
	if err != nil {
		return err
	}
	err = d.replace(ctx, clientKey(c.ID), "client", val)
	d.versions.clientsChanged()
	return err
}

// DeleteClient removes a client; store.ErrNotFound if none. Its tokens are
// the caller's to revoke (RevokeClient).
func (d *DB) DeleteClient(ctx context.Context, id string) error {
	err := d.remove(ctx, clientKey(id), "client")
	d.versions.clientsChanged()
	return err
}

// replace overwrites an existing key that never expires.
func (d *DB) replace(ctx context.Context, key []byte, what string, val []byte) error {
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if !found {
			return notFound(what)
		}
		return set(txn, key, val, zeroTime)
	})
}

// remove deletes an existing key; store.ErrNotFound if absent.
func (d *DB) remove(ctx context.Context, key []byte, what string) error {
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if !found {
			return notFound(what)
		}
		return txn.Delete(key)
	})
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
