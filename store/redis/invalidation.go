package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cross-node invalidation; doc.go states the protocol and its guarantee.
// In short: a Store that changed a token or client appends an entry to the
// stream <prefix>v1:{inval} and waits until every other live Store has
// acknowledged reading it, or until that Store's lease has expired. Each
// Store reads the stream in one goroutine (XREAD BLOCK), bumps its
// counters for what it read, then renews its lease and acknowledges its
// read position in one script. A Store whose renewal has not succeeded for
// (lease - margin), counted on its monotonic clock from before it sent the
// renewal, answers its counters as always changing.

// Entry types in the stream.
const (
	entryHashes  = "h"  // v: the changed token hashes, each length-prefixed
	entryTokens  = "a"  // any token may have changed
	entryClients = "c"  // any client may have changed
	entryAll     = "ac" // anything may have changed (a change owed after an error)
)

// maxEntryHashes is how many hashes one entry names before it says "any
// token" instead.
const maxEntryHashes = 256

type invalidator struct {
	s      *Store
	rdb    goredis.UniversalClient // the reader's own connections
	lease  time.Duration
	margin time.Duration
	block  time.Duration

	base         time.Time    // origin of the monotonic readings below
	healthyUntil atomic.Int64 // ns since base; counters are stable before it

	owed atomic.Bool // a change could not be announced; announce "all" when possible

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	holdMu sync.Mutex
	hold   chan struct{} // test hook: while non-nil the reader stops
}

func newInvalidator(s *Store, rdb goredis.UniversalClient, lease, margin time.Duration) *invalidator {
	ctx, cancel := context.WithCancel(context.Background())
	return &invalidator{
		s: s, rdb: rdb, lease: lease, margin: margin, block: lease / 3,
		base: time.Now(), ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
}

func (v *invalidator) mono() int64 { return int64(time.Since(v.base)) }

// healthy reports whether this Store has read every invalidation that a
// returned change elsewhere may rely on.
func (v *invalidator) healthy() bool { return v.mono() < v.healthyUntil.Load() }

func (v *invalidator) start() { go v.loop() }

// stop ends the reader and removes this node from the live set.
func (v *invalidator) stop() {
	v.cancel()
	v.rdb.Close() // interrupts a blocked XREAD
	<-v.done
	v.healthyUntil.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	k := v.s.keys
	v.s.run(ctx, leaveScript, []string{k.lease(), k.acks()}, v.s.node) // best effort: the lease expires anyway
}

// loop reads the stream until stop.
func (v *invalidator) loop() {
	defer close(v.done)
	k := v.s.keys
	lastID := "" // "" until joined: start at the stream's end
	backoff := func(d *time.Duration) {
		select {
		case <-v.ctx.Done():
		case <-time.After(*d):
		}
		*d = min(*d*2, v.block)
	}
	const firstBackoff = 20 * time.Millisecond
	wait := firstBackoff
	for v.ctx.Err() == nil {
		v.waitHold()
		sent := v.mono()
		ctx, cancel := context.WithTimeout(v.ctx, v.lease)
		id, err := renewScript.Run(ctx, v.rdb, []string{k.stream(), k.lease(), k.acks()},
			v.s.node, lastID, v.lease.Milliseconds()).Text()
		cancel()
		if err != nil {
			backoff(&wait)
			continue
		}
		lastID = id
		if got, until := v.mono(), sent+int64(v.lease-v.margin); got < until {
			if got >= v.healthyUntil.Load() {
				// Lapsed (or first join): what was read before may be
				// stale, and entries may have been missed. Bump first,
				// then answer stable counters again.
				v.s.counts.AllTokensChanged()
				v.s.counts.ClientsChanged()
			}
			v.healthyUntil.Store(until)
		}
		if v.owed.Load() {
			ctx, cancel := context.WithTimeout(v.ctx, v.lease)
			if _, _, err := v.s.publish(ctx, entryAll, nil); err == nil {
				v.owed.Store(false)
			}
			cancel()
		}
		streams, err := v.rdb.XRead(v.ctx, &goredis.XReadArgs{
			Streams: []string{k.stream(), lastID},
			Count:   1000,
			Block:   v.block,
		}).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			backoff(&wait)
			continue
		}
		wait = firstBackoff
		for _, st := range streams {
			for _, m := range st.Messages {
				v.apply(m.Values)
				lastID = m.ID
			}
		}
	}
}

// apply bumps the counters an entry names, unless this Store wrote it (it
// bumped them itself).
func (v *invalidator) apply(vals map[string]any) {
	if n, _ := vals["n"].(string); n == v.s.node {
		return
	}
	t, _ := vals["t"].(string)
	switch t {
	case entryHashes:
		p, _ := vals["v"].(string)
		for len(p) > 0 {
			n := int(p[0])
			if len(p) < 1+n {
				v.s.counts.AllTokensChanged()
				return
			}
			v.s.counts.TokenChanged([]byte(p[1 : 1+n]))
			p = p[1+n:]
		}
	case entryClients:
		v.s.counts.ClientsChanged()
	case entryTokens:
		v.s.counts.AllTokensChanged()
	default: // entryAll, and anything a later version writes
		v.s.counts.AllTokensChanged()
		v.s.counts.ClientsChanged()
	}
}

// waitHold blocks while a test holds the reader.
func (v *invalidator) waitHold() {
	v.holdMu.Lock()
	h := v.hold
	v.holdMu.Unlock()
	if h != nil {
		select {
		case <-h:
		case <-v.ctx.Done():
		}
	}
}

// publish appends an entry and returns its ID and the live nodes that
// must acknowledge it.
func (s *Store) publish(ctx context.Context, typ string, payload []byte) (string, []any, error) {
	k := s.keys
	res, err := s.run(ctx, publishScript, []string{k.stream(), k.lease()}, s.node, typ, payload)
	if err != nil {
		return "", nil, err
	}
	list, ok := res.([]any)
	if !ok || len(list) == 0 {
		return "", nil, fmt.Errorf("store/redis: unexpected publish reply %T", res)
	}
	id, _ := list[0].(string)
	return id, list[1:], nil
}

// announce tells every other live Store about a change this Store made
// (and already counted), and returns once each has applied it or lost its
// lease. If the entry cannot be written, the change is owed: the reader
// announces "anything changed" as soon as Redis answers again, and the
// caller gets the error (so it does not report the change as done).
func (s *Store) announce(ctx context.Context, typ string, payload []byte) error {
	if ctx.Err() != nil {
		// The change's caller gave up; announce it later rather than not.
		s.inval.owed.Store(true)
		return wrap(ctx.Err())
	}
	id, nodes, err := s.publish(ctx, typ, payload)
	if err != nil {
		s.inval.owed.Store(true)
		return err
	}
	k := s.keys
	delay := 200 * time.Microsecond
	for len(nodes) > 0 {
		select {
		case <-ctx.Done():
			return wrap(ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 20*time.Millisecond)
		args := append([]any{id}, nodes...)
		res, err := s.run(ctx, pendingScript, []string{k.lease(), k.acks()}, args...)
		if err != nil {
			return err
		}
		nodes, _ = res.([]any)
	}
	return nil
}

// announceTokens announces changes of the tokens hashes.
func (s *Store) announceTokens(ctx context.Context, hashes ...[]byte) error {
	if len(hashes) == 0 {
		return nil
	}
	if len(hashes) > maxEntryHashes {
		return s.announce(ctx, entryTokens, nil)
	}
	var p []byte
	for _, h := range hashes {
		if len(h) > 255 {
			return s.announce(ctx, entryTokens, nil)
		}
		p = append(p, byte(len(h)))
		p = append(p, h...)
	}
	return s.announce(ctx, entryHashes, p)
}

// changedTokens counts changes of the tokens hashes here and announces
// them; err is the change's own outcome, returned unless announcing failed
// after the change succeeded.
func (s *Store) changedTokens(ctx context.Context, err error, hashes ...[]byte) error {
	for _, h := range hashes {
		s.counts.TokenChanged(h)
	}
	return s.settle(ctx, err, func() error { return s.announceTokens(ctx, hashes...) })
}

// changedAllTokens counts and announces a change of any token.
func (s *Store) changedAllTokens(ctx context.Context, err error) error {
	s.counts.AllTokensChanged()
	return s.settle(ctx, err, func() error { return s.announce(ctx, entryTokens, nil) })
}

// changedClients counts and announces a client update or deletion.
func (s *Store) changedClients(ctx context.Context, err error) error {
	s.counts.ClientsChanged()
	return s.settle(ctx, err, func() error { return s.announce(ctx, entryClients, nil) })
}

// settle is what a change returns: its own error, or the announcement's.
// A change that failed because Redis is unreachable is not announced now
// (that would wait out another timeout): it is owed, and announced as
// "anything changed" once Redis answers.
func (s *Store) settle(ctx context.Context, err error, announce func() error) error {
	if errors.Is(err, ErrUnavailable) {
		s.inval.owed.Store(true)
		return err
	}
	return firstErr(err, announce())
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
