package badger

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// These tests look inside the database: the TTLs Badger will enforce, and
// the revocation's handling of Badger's transaction limit.

func openMem(t *testing.T, tune func(*badgerdb.Options)) *DB {
	t.Helper()
	d, err := open(Options{InMemory: true}, tune)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// ttlOf returns Badger's expiry (Unix seconds, 0 for none) of key.
func ttlOf(t *testing.T, d *DB, key []byte) uint64 {
	t.Helper()
	var at uint64
	err := d.db.View(func(txn *badgerdb.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		at = item.ExpiresAt()
		return nil
	})
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return at
}

func randomHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func TestBadgerExpiryRoundsUpToWholeSeconds(t *testing.T) {
	for _, c := range []struct {
		name string
		in   time.Time
		want uint64
	}{
		{"zero means no TTL", time.Time{}, 0},
		{"a whole second stays", time.Unix(1_800_000_000, 0), 1_800_000_000},
		{"a fraction rounds up", time.Unix(1_800_000_000, 1), 1_800_000_001},
		{"just before the next second rounds up", time.Unix(1_800_000_000, 999_999_999), 1_800_000_001},
		{"before 1970 is already expired", time.Unix(-5, 0), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := badgerExpiry(c.in); got != c.want {
				t.Fatalf("badgerExpiry(%v) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}

func TestTokensAndIndexesCarryTheTokenTTL(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	exp := time.Now().Add(90 * time.Minute)
	tk := &store.Token{Hash: randomHash(), Kind: store.KindAccess, ClientID: "c/1", User: "a/b", Family: "F", ExpiresAt: exp}
	if err := d.SaveToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	want := badgerExpiry(exp)
	keys := append([][]byte{tokenKey(tk.Hash)}, tokenIndexKeys(tk)...)
	if len(keys) != 4 {
		t.Fatalf("%d keys for a token with family, user and client; want 4", len(keys))
	}
	for _, k := range keys {
		if got := ttlOf(t, d, k); got != want {
			t.Errorf("TTL of %q = %d, want %d", k, got, want)
		}
	}

	forever := &store.Token{Hash: randomHash(), Kind: store.KindAccess, ClientID: "c", Family: "G"}
	if err := d.SaveToken(ctx, forever); err != nil {
		t.Fatal(err)
	}
	for _, k := range append([][]byte{tokenKey(forever.Hash)}, tokenIndexKeys(forever)...) {
		if got := ttlOf(t, d, k); got != 0 {
			t.Errorf("TTL of %q = %d, want none", k, got)
		}
	}
}

func TestRotatedTokenAndConsumedCodeKeepTheirTTL(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	old := &store.Token{Hash: randomHash(), Kind: store.KindRefresh, ClientID: "c", Family: "F", ExpiresAt: exp}
	if err := d.SaveToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RotateRefresh(ctx, old.Hash); err != nil {
		t.Fatal(err)
	}
	if got := ttlOf(t, d, tokenKey(old.Hash)); got != badgerExpiry(exp) {
		t.Errorf("rotated token TTL = %d, want %d", got, badgerExpiry(exp))
	}

	code := &store.Code{Hash: randomHash(), ClientID: "c", ExpiresAt: exp}
	if err := d.SaveCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ConsumeCode(ctx, code.Hash); err != nil {
		t.Fatal(err)
	}
	if got := ttlOf(t, d, codeKey(code.Hash)); got != badgerExpiry(exp) {
		t.Errorf("consumed code TTL = %d, want %d", got, badgerExpiry(exp))
	}
}

func TestNonceAndSessionTTLs(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()

	before := time.Now()
	if _, err := d.UseNonce(ctx, "k", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if n := len(d.nonces.live(before.Add(10*time.Minute - time.Millisecond))); n != 1 {
		t.Errorf("%d nonces live just before the ttl, want 1", n)
	}
	if n := len(d.nonces.live(after.Add(10 * time.Minute))); n != 0 {
		t.Errorf("%d nonces live at the ttl, want 0", n)
	}

	exp := time.Now().Add(12 * time.Hour)
	s := &store.Session{Hash: randomHash(), User: "alice", ExpiresAt: exp}
	if err := d.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got := ttlOf(t, d, sessionKey(s.Hash)); got != badgerExpiry(exp) {
		t.Errorf("session TTL = %d, want %d", got, badgerExpiry(exp))
	}
}

func TestNonPositiveNonceTTLIsRefused(t *testing.T) {
	d := openMem(t, nil)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := d.UseNonce(t.Context(), "k", ttl); err == nil {
			t.Errorf("UseNonce with ttl %v succeeded; want an error", ttl)
		}
	}
}

func TestItemsWithoutKeysAreRefused(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	for name, err := range map[string]error{
		"token without hash":   d.SaveToken(ctx, &store.Token{Kind: store.KindAccess}),
		"nil token":            d.SaveTokens(ctx, nil),
		"code without hash":    d.SaveCode(ctx, &store.Code{}),
		"session without hash": d.SaveSession(ctx, &store.Session{}),
		"client without id":    d.CreateClient(ctx, &store.Client{}),
		"user without name":    d.CreateUser(ctx, &store.User{}),
	} {
		if err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
}

// With a 1 MiB memtable Badger accepts only ~1,600 writes per transaction;
// an unbatched revocation of 1,000 tokens (4,000 deletes) exceeds that, so
// the batch must shrink until it fits.
func TestRevocationShrinksBatchesThatAreTooBig(t *testing.T) {
	d := openMem(t, func(o *badgerdb.Options) { o.MemTableSize, o.ValueThreshold = 1<<20, 1<<10 })
	d.revokeBatch = 1 << 20
	ctx := t.Context()
	const total = 1000
	var hashes [][]byte
	for range total / 100 {
		batch := make([]*store.Token, 100)
		for i := range batch {
			batch[i] = &store.Token{Hash: randomHash(), Kind: store.KindAccess, ClientID: "c", User: "u", Family: "big", ExpiresAt: time.Now().Add(time.Hour)}
			hashes = append(hashes, batch[i].Hash)
		}
		if err := d.SaveTokens(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	// Confirm the premise: one transaction cannot delete it all.
	err := d.db.Update(func(txn *badgerdb.Txn) error {
		for _, h := range hashes {
			for _, k := range [][]byte{tokenKey(h), indexKey(indexPrefix(prefixFamily, "big"), h), indexKey(indexPrefix(prefixTokenUser, "u"), h), indexKey(indexPrefix(prefixTokenClient, "c"), h)} {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != badgerdb.ErrTxnTooBig {
		t.Fatalf("premise: deleting everything at once gave %v, want ErrTxnTooBig", err)
	}

	n, err := d.RevokeFamily(ctx, "big")
	if err != nil || n != total {
		t.Fatalf("RevokeFamily = %d, %v; want %d", n, err, total)
	}
	for _, h := range hashes {
		if _, err := d.GetToken(ctx, h); err == nil {
			t.Fatal("a token survived the revocation")
		}
	}
	if n, err := d.RevokeUser(ctx, "u"); err != nil || n != 0 {
		t.Fatalf("RevokeUser after the family revocation = %d, %v; want 0", n, err)
	}
}

func TestOpenNeedsADirectoryUnlessInMemory(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without Dir or InMemory succeeded")
	}
}

func TestCloseStopsGCAndIsIdempotent(t *testing.T) {
	d, err := Open(Options{Dir: t.TempDir(), GCInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SaveToken(t.Context(), &store.Token{Hash: randomHash(), Kind: store.KindAccess}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // let the GC loop tick at least once
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-d.gcDone:
	default:
		t.Fatal("the GC goroutine is still running after Close")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// hasKey reports whether db holds key.
func hasKey(t *testing.T, db *badgerdb.DB, key []byte) bool {
	t.Helper()
	err := db.View(func(txn *badgerdb.Txn) error {
		_, err := txn.Get(key)
		return err
	})
	if err != nil && err != badgerdb.ErrKeyNotFound {
		t.Fatalf("reading %q: %v", key, err)
	}
	return err == nil
}

// What each nonce mode promises rests on whether the journal record is
// synced before UseNonce answers: NoncesDurable syncs (one sync for one
// lone nonce), NoncesPageCache never does. Either way the record is in
// the journal file, not in a Badger transaction.
func TestNonceModesWriteWhereTheyPromise(t *testing.T) {
	for _, tc := range []struct {
		mode      NonceDurability
		wantSyncs uint64
	}{
		{NoncesDurable, 1},
		{NoncesPageCache, 0},
	} {
		dir := t.TempDir()
		d, err := Open(Options{Dir: dir, Nonces: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		commits := d.group.commits.Load()
		if fresh, err := d.UseNonce(t.Context(), "k", time.Minute); err != nil || !fresh {
			t.Fatalf("mode %d: UseNonce = %v, %v", tc.mode, fresh, err)
		}
		if got := d.nonces.syncs.Load(); got != tc.wantSyncs {
			t.Errorf("mode %d: %d syncs for one nonce, want %d", tc.mode, got, tc.wantSyncs)
		}
		if got := d.group.commits.Load() - commits; got != 0 {
			t.Errorf("mode %d: %d Badger commits for a nonce, want none", tc.mode, got)
		}
		files, _ := filepath.Glob(filepath.Join(dir, journalDirName, "nonce-*.log"))
		records := 0
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for off := 0; off+recordSize <= len(b); off += recordSize {
				if string(b[off:off+recordSize]) != string(make([]byte, recordSize)) {
					records++
				}
			}
		}
		if records != 1 {
			t.Errorf("mode %d: journal files %v hold %d records, want 1", tc.mode, files, records)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// An attempt counter lives until its lockout or its last window ends,
// measured from the caller's time (here far in the past) but placed on
// the wall clock, and a counter holding nothing is deleted.
func TestAttemptCountersCarryTheirTTL(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	lim := store.AttemptLimit{Max: 2, Window: 10 * time.Minute, Lockout: 30 * time.Minute}
	then := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	within := func(what string, key []byte, d0 time.Duration, f func()) {
		t.Helper()
		before := time.Now()
		f()
		after := time.Now()
		got := ttlOf(t, d, key)
		if lo, hi := badgerExpiry(before.Add(d0)), badgerExpiry(after.Add(d0)); got < lo || got > hi {
			t.Errorf("%s: TTL = %d, want within [%d, %d]", what, got, lo, hi)
		}
	}
	mustBegin := func() {
		t.Helper()
		if ok, _, err := d.BeginAttempt(ctx, "k", then, lim); !ok || err != nil {
			t.Fatalf("BeginAttempt: %v, %v", ok, err)
		}
	}
	end := func(o store.AttemptOutcome) {
		t.Helper()
		if err := d.EndAttempt(ctx, "k", then, lim, o); err != nil {
			t.Fatal(err)
		}
	}
	within("a reservation", attemptKey("k"), lim.Window, mustBegin)
	within("a failure", attemptKey("k"), lim.Window, func() { end(store.AttemptFailed) })
	mustBegin()
	within("a lockout", attemptKey("k"), lim.Lockout, func() { end(store.AttemptFailed) })

	// Cleared by a success; a reservation returned leaves nothing.
	end(store.AttemptSucceeded)
	mustBegin()
	end(store.AttemptCancelled)
	err := d.db.View(func(txn *badgerdb.Txn) error {
		_, err := txn.Get(attemptKey("k"))
		return err
	})
	if !errors.Is(err, badgerdb.ErrKeyNotFound) {
		t.Fatalf("a clean counter is still stored: %v", err)
	}
}

// A user written before subjects and claims existed, byte for byte as
// that version stored it, reads back without them (its sub stays the
// username) and keeps working through an update.
func TestAUserStoredBeforeSubjectsReadsBackWithoutOne(t *testing.T) {
	d := openMem(t, nil)
	old := []byte("\x01" + `{"username":"alice","password_hash":"$2a$04$abc","created_at":"2025-01-02T03:04:05Z"}`)
	if err := d.db.Update(func(txn *badgerdb.Txn) error { return txn.Set(userKey("alice"), old) }); err != nil {
		t.Fatal(err)
	}
	u, err := d.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.PasswordHash != "$2a$04$abc" || u.Subject != "" || u.Claims != (store.Claims{}) || !u.UpdatedAt.IsZero() {
		t.Fatalf("%+v", u)
	}
	u.Claims.Email = "alice@example.com"
	if err := d.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if u, err = d.GetUser(t.Context(), "alice"); err != nil || u.Subject != "" || u.Claims.Email != "alice@example.com" {
		t.Fatalf("%+v %v", u, err)
	}
}
