package badger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// Group commit. With SyncWrites, Badger v4 groups concurrent commits into
// one write request but still syncs its WAL once per transaction, so
// durable writes top out at the disk's sync rate however many callers
// there are. The issuing writes (SaveToken(s), SaveCode, SaveSession) and
// the login attempt counters (attempts.go) therefore share transactions: while one commit is in progress, callers
// queue their writes; when it is done, the committer goroutine applies
// everything queued to ONE transaction, commits it durably (one sync) and
// wakes each caller with its own result. A caller returns only after its
// write is on disk.
//
// A caller that finds no commit in progress and an empty queue commits its
// write itself, in its own goroutine: a lone caller pays no hand-off and
// waits on no timer. Batches thus grow with the load and nothing else.
// Every request is all-or-nothing: it lands whole in one transaction, with
// its index entries.
//
// These writes read only to replace an item saved again under the same key
// (putToken drops the old token's index entries) or to update an attempt
// counter (read, change, write back), and a transaction reads its own pending writes, so
// requests merged into one transaction behave as if run one after the
// other; a conflict with a concurrent transaction re-runs the batch, as
// update would.

// ErrClosed is returned by SaveToken, SaveTokens, SaveCode, SaveSession,
// BeginAttempt, EndAttempt and UseNonce (of a nonce not already used)
// once Close has begun.
var ErrClosed = errors.New("store/badger: database is closed")

// writeReq is one caller's write waiting for the committer.
type writeReq struct {
	ctx   context.Context
	apply func(txn *badgerdb.Txn) error
	// committed, if set, runs after the transaction holding apply's
	// writes committed, before the caller is answered, in the goroutine
	// that ran apply; it runs even if the caller gave up waiting.
	committed func()
	done      chan error // buffered: the committer never blocks on a caller
}

// finish reports the request's result to its caller, first running its
// committed hook if the write landed.
func (r *writeReq) finish(err error) {
	if err == nil && r.committed != nil {
		r.committed()
	}
	r.done <- err
}

// committer is the queue the group-committed writes wait in.
type committer struct {
	mu     sync.Mutex
	ready  sync.Cond // wakes the committer goroutine: work queued, busy ended, or closed
	queue  []*writeReq
	spare  []*writeReq // the previous batch's slice, reused
	busy   bool        // a batch is being committed (by a lone caller or the goroutine)
	closed bool
	done   chan struct{} // closed when the committer goroutine returned

	commits atomic.Uint64 // commit attempts (tests check the grouping)
}

// startCommitter starts the goroutine that commits queued writes.
func (d *DB) startCommitter() {
	d.group.ready.L = &d.group.mu
	d.group.done = make(chan struct{})
	go d.runCommitter()
}

// stopCommitter refuses new writes, lets the committer commit what is
// already queued (those callers were promised an answer) and waits for it.
func (d *DB) stopCommitter() {
	c := &d.group
	c.mu.Lock()
	c.closed = true
	c.ready.Signal()
	c.mu.Unlock()
	<-c.done
}

// groupWrite runs apply in a durable transaction shared with the writes of
// concurrent callers and returns when it is on disk (or failed). A caller
// that finds nothing being committed and nothing queued commits its write
// itself, at once; otherwise it queues it for the committer goroutine,
// which takes the whole queue when the commit in progress is done. If ctx
// ends while queued, groupWrite returns ctx's error; the write may still
// land then, like a write whose answer was lost.
func (d *DB) groupWrite(ctx context.Context, apply func(txn *badgerdb.Txn) error) error {
	return d.groupWriteThen(ctx, apply, nil)
}

// groupWriteThen is groupWrite that also runs committed (if not nil) once
// apply's writes are committed, whether or not the caller still waits.
func (d *DB) groupWriteThen(ctx context.Context, apply func(txn *badgerdb.Txn) error, committed func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, apply: apply, committed: committed, done: make(chan error, 1)}
	c := &d.group
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.busy && len(c.queue) == 0 {
		// Alone: no goroutine hand-off, no added latency.
		c.busy = true
		c.mu.Unlock()
		d.commitBatch([]*writeReq{r})
		c.mu.Lock()
		c.busy = false
		c.ready.Signal() // whatever queued meanwhile is the committer's
		c.mu.Unlock()
		return <-r.done
	}
	c.queue = append(c.queue, r)
	if !c.busy {
		c.ready.Signal()
	} // else whoever is committing wakes the committer when done
	c.mu.Unlock()

	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		select {
		case err := <-r.done: // finished meanwhile: report the real result
			return err
		default:
			return ctx.Err()
		}
	}
}

// runCommitter commits whatever is queued as one batch whenever no other
// commit is in progress, until stopCommitter; it then commits what is
// still queued and returns.
func (d *DB) runCommitter() {
	c := &d.group
	defer close(c.done)
	c.mu.Lock()
	for {
		for c.busy || (len(c.queue) == 0 && !c.closed) {
			c.ready.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return // closed, idle and drained
		}
		batch := c.queue
		c.queue = c.spare[:0]
		c.busy = true
		c.mu.Unlock()

		d.commitBatch(batch)

		clear(batch) // drop the requests for the GC
		c.mu.Lock()
		c.busy = false
		c.spare = batch[:0]
	}
}

// commitBatch commits reqs in as few durable transactions as Badger's
// transaction limit allows and finishes every request. A request that
// fails on its own (too big for any transaction, an unreadable value it
// replaces) is dropped from the batch with its error and the rest is
// committed without it; if a commit fails for another reason, each of its
// requests is retried alone, so one bad write cannot fail its neighbours.
func (d *DB) commitBatch(reqs []*writeReq) {
	// Skip callers that gave up before their turn, as update does before
	// an attempt.
	reqs = slices.DeleteFunc(reqs, func(r *writeReq) bool {
		if err := r.ctx.Err(); err != nil {
			r.finish(err)
			return true
		}
		return false
	})
	limit, attempts := len(reqs), 0
	for len(reqs) > 0 {
		limit = min(limit, len(reqs))
		txn := d.db.NewTransaction(true)
		n, err := applyAll(txn, reqs[:limit])
		if err != nil {
			txn.Discard()
			if errors.Is(err, badgerdb.ErrTxnTooBig) && n > 0 {
				limit = n // commit what fitted; the rest goes in the next transaction
				continue
			}
			reqs[n].finish(err)
			reqs = slices.Delete(reqs, n, n+1)
			continue
		}
		err = txn.Commit()
		d.group.commits.Add(1)
		switch {
		case errors.Is(err, badgerdb.ErrConflict) && attempts+1 < maxTxnAttempts:
			attempts++
			continue // rebuilt on a fresh snapshot
		case errors.Is(err, badgerdb.ErrConflict):
			err = fmt.Errorf("store/badger: gave up after %d conflicting attempts: %w", maxTxnAttempts, err)
			finishAll(reqs[:limit], err)
		case errors.Is(err, badgerdb.ErrTxnTooBig) && limit > 1:
			limit /= 2 // Badger's commit-time size estimate disagreed with the txn's
			continue
		case err != nil && limit > 1:
			for _, r := range reqs[:limit] {
				r.finish(d.update(r.ctx, r.apply))
			}
		default:
			finishAll(reqs[:limit], err)
		}
		reqs = reqs[limit:]
		limit, attempts = len(reqs), 0
	}
}

// applyAll applies reqs to txn in order. On error it returns the index of
// the request that failed; the transaction then holds a partial write and
// must be discarded.
func applyAll(txn *badgerdb.Txn, reqs []*writeReq) (int, error) {
	for i, r := range reqs {
		if err := r.apply(txn); err != nil {
			return i, err
		}
	}
	return len(reqs), nil
}

func finishAll(reqs []*writeReq, err error) {
	for _, r := range reqs {
		r.finish(err)
	}
}
