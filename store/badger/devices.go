package badger

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// CreateDevice stores a device authorization and its user-code index
// entry in one transaction, both expiring at ExpiresAt.
func (d *DB) CreateDevice(ctx context.Context, dev *store.DeviceAuthorization) error {
	if dev == nil || len(dev.DeviceCodeHash) == 0 || len(dev.UserCodeHash) == 0 {
		return errNoHash
	}
	cp := *dev
	cp.Status, cp.User, cp.LastPollAt = store.DevicePending, "", time.Time{}
	val, err := encode(&cp)
	if err != nil {
		return err
	}
	key, ukey := deviceKey(dev.DeviceCodeHash), deviceUserKey(dev.UserCodeHash)
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		// Badger's TTLs have whole seconds: an index entry or record
		// may outlive its ExpiresAt by up to one, and is free then.
		_, err := deviceByUserCode(txn, dev.UserCodeHash)
		if err == nil {
			return alreadyExists("device authorization")
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		old := new(store.DeviceAuthorization)
		err = get(txn, key, "device authorization", old)
		if err == nil && !expired(old.ExpiresAt, time.Now()) {
			return alreadyExists("device authorization")
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := set(txn, key, val, dev.ExpiresAt); err != nil {
			return err
		}
		return set(txn, ukey, slices.Clone(dev.DeviceCodeHash), dev.ExpiresAt)
	})
}

// GetDeviceByUserCode follows the user-code index to the authorization.
func (d *DB) GetDeviceByUserCode(ctx context.Context, userCodeHash []byte) (*store.DeviceAuthorization, error) {
	var dev *store.DeviceAuthorization
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		var err error
		dev, err = deviceByUserCode(txn, userCodeHash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dev, nil
}

// DecideDevice moves a pending authorization to approved or denied in one
// transaction; a concurrent decision conflicts, is retried and then finds
// it decided.
func (d *DB) DecideDevice(ctx context.Context, userCodeHash []byte, user string, approve bool) (*store.DeviceAuthorization, error) {
	var dev *store.DeviceAuthorization
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		var err error
		if dev, err = deviceByUserCode(txn, userCodeHash); err != nil {
			return err
		}
		if dev.Status != store.DevicePending {
			return store.ErrConsumed
		}
		dev.Status, dev.User = store.DeviceDenied, user
		if approve {
			dev.Status = store.DeviceApproved
		}
		return putDevice(txn, dev)
	})
	switch {
	case err == nil:
		return dev, nil
	case errors.Is(err, store.ErrConsumed):
		return dev, err
	}
	return nil, err
}

// pollLocks serialize the polls of one device code within the process
// (Badger's directory lock makes it the only one). Every poll writes (its
// time), so concurrent polls of one code would otherwise all conflict and
// exhaust their retries; the transaction still makes each poll atomic
// against a concurrent decision.
var pollLocks [64]sync.Mutex

// PollDevice reads, updates and writes the authorization in one
// transaction, so of concurrent polls of an approved authorization one
// commits the consumption and the others find it consumed.
func (d *DB) PollDevice(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time, pace store.DevicePace) (*store.DeviceAuthorization, bool, error) {
	if len(deviceCodeHash) == 0 {
		return nil, false, notFound("device authorization")
	}
	mu := &pollLocks[deviceCodeHash[0]%byte(len(pollLocks))]
	mu.Lock()
	defer mu.Unlock()
	var dev *store.DeviceAuthorization
	var slow bool
	key := deviceKey(deviceCodeHash)
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		dev, slow = new(store.DeviceAuthorization), false
		if err := get(txn, key, "device authorization", dev); err != nil {
			return err
		}
		if expired(dev.ExpiresAt, time.Now()) || dev.ClientID != clientID {
			return notFound("device authorization")
		}
		found := dev.Status
		if found == store.DevicePending && !dev.LastPollAt.IsZero() && now.Sub(dev.LastPollAt) < dev.Interval-pace.Tolerance {
			dev.Interval += pace.Step
			slow = true
		}
		dev.LastPollAt = now
		if found == store.DeviceApproved {
			dev.Status = store.DeviceConsumed
		}
		if err := putDevice(txn, dev); err != nil {
			return err
		}
		dev.Status = found
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return dev, slow, nil
}

// deviceByUserCode reads the authorization the user-code index names.
func deviceByUserCode(txn *badgerdb.Txn, userCodeHash []byte) (*store.DeviceAuthorization, error) {
	item, err := txn.Get(deviceUserKey(userCodeHash))
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return nil, notFound("device authorization")
	}
	if err != nil {
		return nil, err
	}
	hash, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	dev := new(store.DeviceAuthorization)
	if err := get(txn, deviceKey(hash), "device authorization", dev); err != nil {
		return nil, err
	}
	if expired(dev.ExpiresAt, time.Now()) {
		return nil, notFound("device authorization")
	}
	return dev, nil
}

// putDevice writes dev back, keeping its expiry.
func putDevice(txn *badgerdb.Txn, dev *store.DeviceAuthorization) error {
	val, err := encode(dev)
	if err != nil {
		return err
	}
	return set(txn, deviceKey(dev.DeviceCodeHash), val, dev.ExpiresAt)
}
