package badger

import (
	"context"
	"errors"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// A token is one key, v1/token/<hex>, plus an index entry per non-empty
// family, user and client (v1/fam/, v1/tuser/, v1/tclient/), all with the
// token's TTL so they vanish together. The indexes make revocation by
// family, user or client a prefix scan.

// tokenIndexKeys lists the index entries that point at t.
func tokenIndexKeys(t *store.Token) [][]byte {
	keys := make([][]byte, 0, 3)
	if t.Family != "" {
		keys = append(keys, indexKey(indexPrefix(prefixFamily, t.Family), t.Hash))
	}
	if t.User != "" {
		keys = append(keys, indexKey(indexPrefix(prefixTokenUser, t.User), t.Hash))
	}
	if t.ClientID != "" {
		keys = append(keys, indexKey(indexPrefix(prefixTokenClient, t.ClientID), t.Hash))
	}
	return keys
}

// loadToken reads a live token; missing or expired is store.ErrNotFound.
func loadToken(txn *badgerdb.Txn, hash []byte) (*store.Token, error) {
	t := new(store.Token)
	if err := get(txn, tokenKey(hash), "token", t); err != nil {
		return nil, err
	}
	if expired(t.ExpiresAt, time.Now()) {
		return nil, notFound("token")
	}
	return t, nil
}

// putToken writes t and its index entries, first dropping the index
// entries of a token it replaces, so an index never points at a token that
// no longer belongs under it. It reports whether a token was replaced.
func putToken(txn *badgerdb.Txn, t *store.Token, val []byte) (replaced bool, err error) {
	if replaced, err = dropIndexes(txn, t.Hash); err != nil {
		return false, err
	}
	if err := set(txn, tokenKey(t.Hash), val, t.ExpiresAt); err != nil {
		return false, err
	}
	for _, k := range tokenIndexKeys(t) {
		if err := set(txn, k, nil, t.ExpiresAt); err != nil {
			return false, err
		}
	}
	return replaced, nil
}

// dropIndexes deletes the index entries of the token stored under hash, if
// any (a later Set of the same key in this transaction wins over the
// delete), and reports whether there was one.
func dropIndexes(txn *badgerdb.Txn, hash []byte) (bool, error) {
	old := new(store.Token)
	err := get(txn, tokenKey(hash), "token", old)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, k := range tokenIndexKeys(old) {
		if err := txn.Delete(k); err != nil {
			return true, err
		}
	}
	return true, nil
}

// deleteToken removes t and its index entries.
func deleteToken(txn *badgerdb.Txn, t *store.Token) error {
	if err := txn.Delete(tokenKey(t.Hash)); err != nil {
		return err
	}
	for _, k := range tokenIndexKeys(t) {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// encodeTokens checks and encodes tokens outside the transaction, so a
// retry does not redo the work.
func encodeTokens(ts []*store.Token) ([][]byte, error) {
	vals := make([][]byte, len(ts))
	for i, t := range ts {
		if t == nil || len(t.Hash) == 0 {
			return nil, errNoHash
		}
		val, err := encode(t)
		if err != nil {
			return nil, err
		}
		vals[i] = val
	}
	return vals, nil
}

// SaveToken stores t durably.
func (d *DB) SaveToken(ctx context.Context, t *store.Token) error {
	return d.SaveTokens(ctx, t)
}

// SaveTokens stores every token in one durable transaction, which it
// shares with the writes of concurrent callers (group commit).
func (d *DB) SaveTokens(ctx context.Context, ts ...*store.Token) error {
	vals, err := encodeTokens(ts)
	if err != nil {
		return err
	}
	w := tokenWrite{d: d, ts: ts, vals: vals}
	return d.groupWriteThen(ctx, w.apply, w.committed)
}

// saveTokensAlone is SaveTokens in a transaction of its own, bypassing the
// group commit (kept to benchmark the two against each other).
func (d *DB) saveTokensAlone(ctx context.Context, ts ...*store.Token) error {
	vals, err := encodeTokens(ts)
	if err != nil {
		return err
	}
	w := tokenWrite{d: d, ts: ts, vals: vals}
	err = d.update(ctx, w.apply)
	w.committed()
	return err
}

// tokenWrite writes the tokens ts, encoded as vals, and their indexes, and
// counts the tokens it replaced as changed once that is committed
// (versions.go). apply and committed run one after the other, in the
// goroutine that commits.
type tokenWrite struct {
	d        *DB
	ts       []*store.Token
	vals     [][]byte
	replaced [][]byte // hashes of stored tokens the last apply replaced
}

func (w *tokenWrite) apply(txn *badgerdb.Txn) error {
	w.replaced = w.replaced[:0] // a retry starts over
	for i, t := range w.ts {
		replaced, err := putToken(txn, t, w.vals[i])
		if err != nil {
			return err
		}
		if replaced {
			w.replaced = append(w.replaced, t.Hash)
		}
	}
	return nil
}

func (w *tokenWrite) committed() {
	for _, h := range w.replaced {
		w.d.versions.TokenChanged(h)
	}
}

// GetToken returns a live token of any kind; the caller checks the kind.
func (d *DB) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	var t *store.Token
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		var err error
		t, err = loadToken(txn, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeToken deletes a live token; store.ErrNotFound if there is none.
func (d *DB) RevokeToken(ctx context.Context, hash []byte) error {
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		t, err := loadToken(txn, hash)
		if err != nil {
			return err
		}
		return deleteToken(txn, t)
	})
	d.versions.TokenChanged(hash)
	return err
}

// RotateRefresh marks old rotated and saves next in one transaction. A
// second presentation of old (a concurrent one included: it conflicts, is
// retried and then sees the mark) saves nothing and returns the stored old
// token with store.ErrRotated, so the caller can revoke its family
// (RFC 9700 §4.14.2). The rotated token keeps its expiry, so reuse is
// detected for as long as the token would have lived.
func (d *DB) RotateRefresh(ctx context.Context, old []byte, next ...*store.Token) (*store.Token, error) {
	vals, err := encodeTokens(next)
	if err != nil {
		return nil, err
	}
	var prev *store.Token
	var replaced [][]byte // hashes of stored tokens next replaced
	defer func() {
		// update is done (committed or not) when this runs.
		d.versions.TokenChanged(old)
		for _, h := range replaced {
			d.versions.TokenChanged(h)
		}
	}()
	err = d.update(ctx, func(txn *badgerdb.Txn) error {
		replaced = replaced[:0]
		var err error
		prev, err = loadToken(txn, old)
		if err != nil {
			return err
		}
		if prev.Rotated {
			return store.ErrRotated
		}
		prev.Rotated = true
		val, err := encode(prev)
		if err != nil {
			return err
		}
		// The indexes of prev stay as they are: only its value changes.
		if err := set(txn, tokenKey(prev.Hash), val, prev.ExpiresAt); err != nil {
			return err
		}
		for i, t := range next {
			r, err := putToken(txn, t, vals[i])
			if err != nil {
				return err
			}
			if r {
				replaced = append(replaced, t.Hash)
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return prev, nil
	case errors.Is(err, store.ErrRotated):
		return prev, err
	default:
		return nil, err
	}
}

// UpdateToken replaces a live token, moving its index entries if its
// family, user or client changed (OAuth 1 temporary credentials gain their
// user on authorization). store.ErrNotFound if it is gone.
func (d *DB) UpdateToken(ctx context.Context, t *store.Token) error {
	vals, err := encodeTokens([]*store.Token{t})
	if err != nil {
		return err
	}
	err = d.update(ctx, func(txn *badgerdb.Txn) error {
		if _, err := loadToken(txn, t.Hash); err != nil {
			return err
		}
		_, err := putToken(txn, t, vals[0])
		return err
	})
	d.versions.TokenChanged(t.Hash)
	return err
}

// ConsumeToken deletes a live token of the given kind and returns it, in
// one transaction; a token of another kind is store.ErrNotFound and stays.
// Of concurrent calls, the losers conflict, retry and find nothing.
func (d *DB) ConsumeToken(ctx context.Context, hash []byte, kind store.TokenKind) (*store.Token, error) {
	var t *store.Token
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		var err error
		t, err = loadToken(txn, hash)
		if err != nil {
			return err
		}
		if t.Kind != kind {
			return notFound("token")
		}
		return deleteToken(txn, t)
	})
	d.versions.TokenChanged(hash)
	if err != nil {
		return nil, err
	}
	return t, nil
}
