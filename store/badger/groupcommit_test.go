package badger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// These tests make batches deterministic by holding the committer inside a
// write until every request of the batch under test is queued behind it.

// holdCommitter occupies the committer with an empty write that waits for
// the returned release, and returns once the committer is inside it.
func holdCommitter(t *testing.T, d *DB) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- d.groupWrite(context.Background(), func(*badgerdb.Txn) error {
			once.Do(func() { close(entered) })
			<-gate
			return nil
		})
	}()
	<-entered
	return func() {
		close(gate)
		if err := <-errc; err != nil {
			t.Errorf("the holding write failed: %v", err)
		}
	}
}

// waitQueued waits until n requests wait for the committer.
func waitQueued(t *testing.T, d *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.group.mu.Lock()
		q := len(d.group.queue)
		d.group.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued after 10s, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// goSave runs save in a goroutine and returns its result's channel.
func goSave(save func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- save() }()
	return c
}

func testToken(family string) *store.Token {
	return &store.Token{Hash: randomHash(), Kind: store.KindAccess, ClientID: "c", User: "u", Family: family, ExpiresAt: time.Now().Add(time.Hour)}
}

func TestQueuedWritesShareOneTransaction(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	release := holdCommitter(t, d)
	before := d.group.commits.Load()

	const callers = 20
	toks := make([][]*store.Token, callers)
	results := make([]<-chan error, 0, callers+2)
	for i := range toks {
		toks[i] = []*store.Token{testToken("f"), testToken("f")}
		results = append(results, goSave(func() error { return d.SaveTokens(ctx, toks[i]...) }))
	}
	code := &store.Code{Hash: randomHash(), ClientID: "c", ExpiresAt: time.Now().Add(time.Minute)}
	sess := &store.Session{Hash: randomHash(), User: "u", ExpiresAt: time.Now().Add(time.Hour)}
	results = append(results,
		goSave(func() error { return d.SaveCode(ctx, code) }),
		goSave(func() error { return d.SaveSession(ctx, sess) }))
	waitQueued(t, d, len(results))
	release()
	for _, r := range results {
		if err := <-r; err != nil {
			t.Fatalf("a queued write failed: %v", err)
		}
	}
	// One transaction for the holding write, one for everything queued.
	if got := d.group.commits.Load() - before - 1; got != 1 {
		t.Fatalf("%d transactions for %d queued writes, want 1", got, len(results))
	}
	for _, ts := range toks {
		for _, tk := range ts {
			if _, err := d.GetToken(ctx, tk.Hash); err != nil {
				t.Fatalf("GetToken: %v", err)
			}
		}
	}
	if n, err := d.RevokeFamily(ctx, "f"); err != nil || n != 2*callers {
		t.Fatalf("RevokeFamily = %d, %v; want %d: the index entries must be written with their tokens", n, err, 2*callers)
	}
	if _, err := d.ConsumeCode(ctx, code.Hash); err != nil {
		t.Fatalf("ConsumeCode: %v", err)
	}
	if _, err := d.GetSession(ctx, sess.Hash); err != nil {
		t.Fatalf("GetSession: %v", err)
	}
}

// A request that cannot be written fails alone; the rest of its batch is
// committed. Bad here: a token without hash (refused before queueing), a
// token replacing an unreadable stored value, and a request too big for
// any transaction.
func TestABadWriteFailsOnlyItsCaller(t *testing.T) {
	d := openMem(t, func(o *badgerdb.Options) { o.MemTableSize, o.ValueThreshold = 1<<20, 1<<10 })
	ctx := t.Context()

	corrupt := testToken("bad")
	if err := d.db.Update(func(txn *badgerdb.Txn) error {
		return txn.Set(tokenKey(corrupt.Hash), []byte("not a value of ours"))
	}); err != nil {
		t.Fatal(err)
	}
	huge := make([]*store.Token, 1000) // 4,000 writes; the limit is ~1,600
	for i := range huge {
		huge[i] = testToken("huge")
	}

	release := holdCommitter(t, d)
	var good [][]*store.Token
	var goodRes []<-chan error
	addGood := func() {
		ts := []*store.Token{testToken("good"), testToken("good")}
		good = append(good, ts)
		goodRes = append(goodRes, goSave(func() error { return d.SaveTokens(ctx, ts...) }))
	}
	addGood()
	corruptRes := goSave(func() error { return d.SaveTokens(ctx, testToken("bad"), corrupt) })
	addGood()
	hugeRes := goSave(func() error { return d.SaveTokens(ctx, huge...) })
	addGood()
	waitQueued(t, d, 5)
	if err := d.SaveTokens(ctx, testToken("good"), &store.Token{Kind: store.KindAccess}); !errors.Is(err, errNoHash) {
		t.Errorf("SaveTokens with a token without hash = %v, want errNoHash", err)
	}
	release()

	for i, r := range goodRes {
		if err := <-r; err != nil {
			t.Errorf("good write %d failed: %v", i, err)
		}
	}
	if err := <-corruptRes; !errors.Is(err, errBadValue) {
		t.Errorf("replacing an unreadable value = %v, want errBadValue", err)
	}
	if err := <-hugeRes; !errors.Is(err, badgerdb.ErrTxnTooBig) {
		t.Errorf("a write too big for any transaction = %v, want ErrTxnTooBig", err)
	}
	for _, ts := range good {
		for _, tk := range ts {
			if _, err := d.GetToken(ctx, tk.Hash); err != nil {
				t.Errorf("a good token is missing: %v", err)
			}
		}
	}
	// Failed requests left nothing behind, not even their good tokens.
	for _, fam := range []string{"bad", "huge"} {
		if n, err := d.RevokeFamily(ctx, fam); err != nil || n != 0 {
			t.Errorf("RevokeFamily(%s) = %d, %v; want 0", fam, n, err)
		}
	}
	if n, err := d.RevokeFamily(ctx, "good"); err != nil || n != 2*len(good) {
		t.Errorf("RevokeFamily(good) = %d, %v; want %d", n, err, 2*len(good))
	}
}

// Queued requests that together exceed Badger's transaction limit are
// split over several transactions, each request whole in one of them.
func TestABatchTooBigIsSplit(t *testing.T) {
	d := openMem(t, func(o *badgerdb.Options) { o.MemTableSize, o.ValueThreshold = 1<<20, 1<<10 })
	ctx := t.Context()
	release := holdCommitter(t, d)
	before := d.group.commits.Load()
	const callers, per = 12, 50 // 200 writes each, 2,400 in all; the limit is ~1,600
	reqs := make([][]*store.Token, callers)
	res := make([]<-chan error, callers)
	for i := range reqs {
		reqs[i] = make([]*store.Token, per)
		for j := range reqs[i] {
			reqs[i][j] = testToken("split")
		}
		res[i] = goSave(func() error { return d.SaveTokens(ctx, reqs[i]...) })
	}
	waitQueued(t, d, callers)
	release()
	for _, r := range res {
		if err := <-r; err != nil {
			t.Fatalf("SaveTokens: %v", err)
		}
	}
	if got := d.group.commits.Load() - before - 1; got < 2 || got > callers/2 { // -1: the holding write
		t.Errorf("%d transactions for %d requests over the limit, want between 2 and %d", got, callers, callers/2)
	}
	if n, err := d.RevokeFamily(ctx, "split"); err != nil || n != callers*per {
		t.Fatalf("RevokeFamily = %d, %v; want %d", n, err, callers*per)
	}
}

// A caller that gives up while queued returns at once with its context's
// error, and its write is then skipped.
func TestACancelledCallerIsNotWaitedForAndNotWritten(t *testing.T) {
	d := openMem(t, nil)
	release := holdCommitter(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	tk := testToken("f")
	res := goSave(func() error { return d.SaveToken(ctx, tk) })
	waitQueued(t, d, 1)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("SaveToken after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled caller is still waiting for the committer")
	}
	release()
	// The committer finished the batch: a later write is committed after it.
	if err := d.SaveToken(t.Context(), testToken("g")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetToken(t.Context(), tk.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetToken of the cancelled write = %v, want ErrNotFound", err)
	}
	if err := d.SaveToken(ctx, testToken("f")); !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveToken with a cancelled context = %v, want context.Canceled", err)
	}
}

// Close commits what is already queued before it closes the database, and
// refuses later writes.
func TestCloseCommitsQueuedWritesAndRefusesLaterOnes(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	release := holdCommitter(t, d)
	queued := testToken("f")
	res := goSave(func() error { return d.SaveToken(ctx, queued) })
	waitQueued(t, d, 1)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	// Close has begun once it refuses writes; the queued one is still due.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.group.mu.Lock()
		c := d.group.closed
		d.group.mu.Unlock()
		if c {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not start")
		}
		time.Sleep(time.Millisecond)
	}
	for name, err := range map[string]error{
		"SaveToken":   d.SaveToken(ctx, testToken("f")),
		"SaveCode":    d.SaveCode(ctx, &store.Code{Hash: randomHash()}),
		"SaveSession": d.SaveSession(ctx, &store.Session{Hash: randomHash()}),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s during Close = %v, want ErrClosed", name, err)
		}
	}
	release()
	if err := <-res; err != nil {
		t.Fatalf("the write queued before Close failed: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.SaveToken(ctx, testToken("f")); !errors.Is(err, ErrClosed) {
		t.Errorf("SaveToken after Close = %v, want ErrClosed", err)
	}

	d2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, err := d2.GetToken(ctx, queued.Hash); err != nil {
		t.Fatalf("the write queued before Close is not on disk: %v", err)
	}
}

// Many concurrent callers: every token is readable as soon as its
// SaveTokens returned, and on disk after a reopen, and the writes were
// actually grouped.
func TestConcurrentSaveTokensAreVisibleAndDurable(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const callers, rounds = 64, 20
	before := d.group.commits.Load()
	saved := make([][]*store.Token, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			for range rounds {
				access, refresh := testToken("f"), testToken("f")
				refresh.Kind = store.KindRefresh
				if err := d.SaveTokens(ctx, access, refresh); err != nil {
					t.Errorf("SaveTokens: %v", err)
					return
				}
				for _, tk := range []*store.Token{access, refresh} {
					if _, err := d.GetToken(ctx, tk.Hash); err != nil {
						t.Errorf("GetToken right after SaveTokens returned: %v", err)
						return
					}
				}
				saved[i] = append(saved[i], access, refresh)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	commits := d.group.commits.Load() - before
	t.Logf("%d SaveTokens calls in %d transactions", callers*rounds, commits)
	if commits >= callers*rounds {
		t.Errorf("%d transactions for %d concurrent calls: nothing was grouped", commits, callers*rounds)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	for _, ts := range saved {
		for _, tk := range ts {
			if _, err := d2.GetToken(ctx, tk.Hash); err != nil {
				t.Fatalf("a saved token is missing after reopening: %v", err)
			}
		}
	}
	if n, err := d2.RevokeFamily(ctx, "f"); err != nil || n != 2*callers*rounds {
		t.Fatalf("RevokeFamily = %d, %v; want %d", n, err, 2*callers*rounds)
	}
}

// Close while many callers are writing: nobody hangs, every call either
// succeeded (and its token is on disk) or reports ErrClosed.
func TestCloseWhileCallersWrite(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const callers = 32
	saved := make([][]*store.Token, callers)
	errs := make([]error, callers)
	var total sync.WaitGroup
	progress := make(chan struct{}, callers)
	for i := range callers {
		total.Go(func() {
			for n := 0; ; n++ {
				tk := testToken("f")
				if err := d.SaveToken(ctx, tk); err != nil {
					errs[i] = err
					return
				}
				saved[i] = append(saved[i], tk)
				if n == 3 {
					progress <- struct{}{}
				}
			}
		})
	}
	for range callers {
		<-progress // every caller is in its write loop
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { total.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("callers still hang 30s after Close")
	}
	count := 0
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("caller %d stopped with %v, want ErrClosed", i, err)
		}
		count += len(saved[i])
	}

	d2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	for _, ts := range saved {
		for _, tk := range ts {
			if _, err := d2.GetToken(ctx, tk.Hash); err != nil {
				t.Fatalf("a token saved before Close is missing: %v", err)
			}
		}
	}
	t.Logf("%d tokens saved before Close, all on disk", count)
}
