package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The nonce journal is the authority for OAuth 1 nonces: every live nonce
// is in memory (its 8-byte id in the map of its expiry bucket) and, unless
// the database is in memory, in an append-only file of that bucket, read
// back at Open. UseNonce is a few map lookups and insert under one shard lock,
// then a 16-byte append: no Badger transaction, no hand-off to Badger's
// write goroutine. NoncesDurable syncs the append (grouped: one fsync
// covers every append made before it) before answering; NoncesPageCache
// answers once the append is in the page cache, which survives the
// process.
//
// Buckets: nonces are grouped by expiry (nonceBucket wide), each with its
// exact expiry, and a bucket's map and file are dropped as a whole once
// its end has passed. So memory is about 20–40 bytes per live nonce (a
// map entry of id and expiry and its share of the map's slack), bounded by
// the OAuth 1 request rate times the nonce lifetime: 600,000 nonces
// (~20 MiB) at 1,000 requests a second and the default 10 minutes, 3.6
// million (~120 MiB) at 6,000.
//
// Ids are the first 8 bytes of the key's SHA-256: two live keys with one
// id (probability about n²/2^65) make the second look used, a refusal the
// client answers with a new nonce, never an acceptance of a replay.
//
// Files: <dir>/nonce-<bucket end, Unix seconds>.log, 16-byte records (id,
// expiry in Unix nanoseconds, little-endian). Files grow in zero-filled
// chunks (journalChunk) that are synced once when added, so a record's
// sync writes data only: a sync after an append that grew the file would
// also commit the file system's metadata, several times the cost. The
// records end at the first all-zero one (no expiry is 0): they are
// written in order, durable batches one after another by one syncer. In
// NoncesPageCache mode records are stored into a shared mapping of the
// chunk being filled: the store is in the page cache at once, as a
// write(2) would put it, so it survives the process, but costs no system
// call (a pwrite was about 4 µs of CPU, and 12–40 µs of wall time, per
// request). Durable mode writes each batch with one call (syncer), and
// systems without mmap write with WriteAt. A crash in the middle of a
// record can leave it torn, read as whatever it holds (its nonce was
// never answered fresh, which waits for the store; at worst an id is
// refused a while longer).
type nonceJournal struct {
	dir  string // "" in memory: nothing is written
	sync bool   // records on disk before answering (NoncesDurable)

	shards [nonceShards]journalShard

	filesMu sync.Mutex
	files   map[int64]*bucketFile // by bucket end (Unix seconds)
	closed  bool

	resume map[int64]int64 // bucket end → where its file's records end, from Open

	syncs atomic.Uint64 // syncs of records done (tests)
}

// journalChunk is how much a journal file grows at once.
const journalChunk = 1 << 20

// nonceShards spreads the callers over independent locks.
const nonceShards = 64

// nonceBucket is the width of an expiry bucket: a nonce is remembered at
// most this much longer than asked.
const nonceBucket = 30 * time.Second

// journalShard holds the live ids of one share of the keys, by bucket end.
// A key is always in the same shard, so checking every bucket and
// inserting into one is atomic under the shard's lock.
type journalShard struct {
	mu      sync.Mutex
	buckets map[int64]map[uint64]int64 // bucket end → id → expiry (Unix ns)
}

// bucketFile is the open journal file of one bucket.
type bucketFile struct {
	f *os.File

	mu        sync.Mutex // appends, and the sync state below
	off       int64      // where the next record goes
	allocated int64      // zero-filled size of the file
	m         []byte     // the file mapped from mOff to allocated (nil: write with WriteAt)
	mOff      int64
	noMap     bool       // mapping failed once: WriteAt from then on
	work      sync.Cond  // signals the syncer: appends wait, or closing
	next      *syncBatch // the appends waiting for a sync not yet begun
	closing   bool
	stopped   chan struct{} // closed when the syncer has ended (nil: none runs)
	err       error         // a failed write or sync: the file is broken
}

// errJournalClosed: the database is closing.
var errJournalClosed = ErrClosed

// openNonceJournal reads the journal in dir (creating dir), drops the
// files of buckets that have ended, and returns the journal. dir "" keeps
// nonces in memory only.
func openNonceJournal(dir string, syncWrites bool, now time.Time) (*nonceJournal, error) {
	j := &nonceJournal{dir: dir, sync: syncWrites, files: map[int64]*bucketFile{}, resume: map[int64]int64{}}
	for i := range j.shards {
		j.shards[i].buckets = map[int64]map[uint64]int64{}
	}
	if dir == "" {
		return j, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	for _, e := range entries {
		end, ok := journalFileEnd(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if end <= now.Unix() {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
		}
		off := 0
		for ; off+recordSize <= len(b); off += recordSize {
			id, exp := binary.LittleEndian.Uint64(b[off:]), int64(binary.LittleEndian.Uint64(b[off+8:]))
			if id == 0 && exp == 0 {
				break // the zero-filled rest of the file
			}
			j.shard(id).add(end, id, exp)
		}
		j.resume[end] = int64(off)
	}
	return j, nil
}

// journalFileEnd parses nonce-<end>.log.
func journalFileEnd(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "nonce-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".log")
	if !ok {
		return 0, false
	}
	end, err := strconv.ParseInt(s, 10, 64)
	return end, err == nil
}

func (j *nonceJournal) shard(id uint64) *journalShard {
	return &j.shards[id%nonceShards]
}

// bucketEnd is the end of the bucket expiry exp falls in (Unix seconds,
// rounded up).
func bucketEnd(exp time.Time) int64 {
	w := int64(nonceBucket / time.Second)
	s := exp.Unix()
	if exp.Nanosecond() > 0 {
		s++
	}
	return (s + w - 1) / w * w
}

// use records id as used until exp and reports whether it was fresh. A
// fresh id is answered only once its record is written (and synced, with
// sync); a write error is returned, and the id stays recorded in memory
// (refusing a later duplicate is safe).
func (j *nonceJournal) use(id uint64, now, exp time.Time) (bool, error) {
	end := bucketEnd(exp)
	if !j.shard(id).claim(id, now, end, exp.UnixNano()) {
		return false, nil
	}
	if j.dir == "" {
		return true, nil
	}
	bf, err := j.file(end, now)
	if err != nil {
		return false, err
	}
	if err := bf.append(id, exp.UnixNano(), j); err != nil {
		return false, err
	}
	return true, nil
}

// claim reports whether id is unused in every live bucket, and if so
// records it in bucket end, atomically. Ended buckets are dropped on the
// way.
func (s *journalShard) claim(id uint64, now time.Time, end, exp int64) bool {
	sec, ns := now.Unix(), now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, m := range s.buckets {
		if e <= sec {
			delete(s.buckets, e)
			continue
		}
		if x, ok := m[id]; ok && ns < x {
			return false
		}
	}
	s.addLocked(end, id, exp)
	return true
}

func (s *journalShard) add(end int64, id uint64, exp int64) {
	s.mu.Lock()
	s.addLocked(end, id, exp)
	s.mu.Unlock()
}

func (s *journalShard) addLocked(end int64, id uint64, exp int64) {
	m := s.buckets[end]
	if m == nil {
		m = map[uint64]int64{}
		s.buckets[end] = m
	}
	if exp > m[id] {
		m[id] = exp
	}
}

// recordSize is a journal record's: id and expiry.
const recordSize = 16

// file returns the open file of bucket end, creating it (and syncing the
// directory, so the new name survives a power loss in durable mode), and
// closes and removes the files of ended buckets.
func (j *nonceJournal) file(end int64, now time.Time) (*bucketFile, error) {
	j.filesMu.Lock()
	defer j.filesMu.Unlock()
	if j.closed {
		return nil, errJournalClosed
	}
	if bf := j.files[end]; bf != nil {
		return bf, nil
	}
	for e, bf := range j.files {
		if e <= now.Unix() {
			bf.close()
			os.Remove(filepath.Join(j.dir, journalName(e)))
			delete(j.files, e)
		}
	}
	f, err := os.OpenFile(filepath.Join(j.dir, journalName(end)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	if j.sync {
		if err := syncDir(j.dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	bf := &bucketFile{f: f, off: j.resume[end], allocated: fi.Size()}
	if bf.off > bf.allocated { // cannot be, unless the file changed since Open
		bf.off = bf.allocated
	}
	bf.work.L = &bf.mu
	// Durable mode writes each batch with one system call: after each
	// sync the kernel write-protects a mapped page again, and the next
	// store's fault cost more than a write (single caller 370 against
	// 131 µs a nonce; end to end (d) 0.62 against 0.69).
	bf.noMap = j.sync
	if j.sync {
		bf.stopped = make(chan struct{})
		go bf.syncer(j)
	}
	j.files[end] = bf
	return bf, nil
}

func journalName(end int64) string { return "nonce-" + strconv.FormatInt(end, 10) + ".log" }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	return nil
}

// restore records id as used until exp without asking whether it was
// (nonces carried over from the Badger records of an older version); the
// caller syncs with syncAll.
func (j *nonceJournal) restore(id uint64, now, exp time.Time) error {
	end := bucketEnd(exp)
	if end <= now.Unix() {
		return nil
	}
	j.shard(id).add(end, id, exp.UnixNano())
	if j.dir == "" {
		return nil
	}
	bf, err := j.file(end, now)
	if err != nil {
		return err
	}
	return bf.write(id, exp.UnixNano())
}

// syncAll syncs every open file.
func (j *nonceJournal) syncAll() error {
	j.filesMu.Lock()
	defer j.filesMu.Unlock()
	for _, bf := range j.files {
		if err := bf.f.Sync(); err != nil {
			return fmt.Errorf("store/badger: nonce journal sync: %w", err)
		}
	}
	return nil
}

// write appends id's record without waiting for a sync.
func (bf *bucketFile) write(id uint64, exp int64) error {
	bf.mu.Lock()
	defer bf.mu.Unlock()
	return bf.writeLocked(id, exp)
}

func (bf *bucketFile) writeLocked(id uint64, exp int64) error {
	if err := bf.reserveLocked(); err != nil {
		return err
	}
	if bf.m != nil || !bf.noMap && bf.remap() {
		rec := bf.m[bf.off-bf.mOff:][:recordSize]
		binary.LittleEndian.PutUint64(rec, id)
		binary.LittleEndian.PutUint64(rec[8:], uint64(exp))
	} else {
		var rec [recordSize]byte
		binary.LittleEndian.PutUint64(rec[:], id)
		binary.LittleEndian.PutUint64(rec[8:], uint64(exp))
		if _, err := bf.f.WriteAt(rec[:], bf.off); err != nil {
			bf.err = fmt.Errorf("store/badger: nonce journal: %w", err)
			return bf.err
		}
	}
	bf.off += recordSize
	return nil
}

// reserveLocked makes room for a record at off, growing the file.
func (bf *bucketFile) reserveLocked() error {
	if bf.err != nil {
		return bf.err
	}
	if bf.off+recordSize > bf.allocated {
		if err := bf.grow(); err != nil {
			bf.err = err
			return err
		}
	}
	return nil
}

// remap maps the file from the page of off to its allocated end and
// reports whether it did; where mapping fails the journal writes with
// WriteAt. Only the chunk being filled stays mapped, so the journal holds
// at most about a chunk of resident memory per bucket.
func (bf *bucketFile) remap() bool {
	bf.unmap()
	page := int64(os.Getpagesize())
	start := bf.off - bf.off%page
	m, err := mapJournal(bf.f, start, int(bf.allocated-start))
	if err != nil {
		bf.noMap = true
		return false
	}
	bf.m, bf.mOff = m, start
	return true
}

func (bf *bucketFile) unmap() {
	if bf.m != nil {
		unmapJournal(bf.m)
		bf.m = nil
	}
}

// grow adds a zero-filled, synced chunk to the file (the caller holds mu).
func (bf *bucketFile) grow() error {
	at := max(bf.off, bf.allocated-bf.allocated%recordSize)
	if _, err := bf.f.WriteAt(make([]byte, journalChunk), at); err != nil {
		return fmt.Errorf("store/badger: nonce journal: %w", err)
	}
	if err := bf.f.Sync(); err != nil {
		return fmt.Errorf("store/badger: nonce journal sync: %w", err)
	}
	bf.allocated = at + journalChunk
	bf.unmap()
	return nil
}

// append writes id's record and, in durable mode, waits until it is on
// disk. In durable mode the record goes into the batch of the next sync,
// which the file's syncer writes and syncs with one system call, so the
// appends themselves make none.
func (bf *bucketFile) append(id uint64, exp int64, j *nonceJournal) error {
	bf.mu.Lock()
	if bf.closing {
		bf.mu.Unlock()
		return errJournalClosed
	}
	if !j.sync {
		err := bf.writeLocked(id, exp)
		bf.mu.Unlock()
		return err
	}
	if err := bf.reserveLocked(); err != nil {
		bf.mu.Unlock()
		return err
	}
	b := bf.next
	if b == nil {
		b = &syncBatch{done: make(chan struct{}), at: bf.off}
		bf.next = b
		bf.work.Signal()
	}
	b.recs = binary.LittleEndian.AppendUint64(b.recs, id)
	b.recs = binary.LittleEndian.AppendUint64(b.recs, uint64(exp))
	bf.off += recordSize
	bf.mu.Unlock()
	<-b.done
	return b.err
}

// syncBatch is the appends one sync covers. Its waiters wake on a closed
// channel, not a condition variable, so they need not take the file's
// lock again one after another to leave.
type syncBatch struct {
	at   int64         // where recs go in the file
	recs []byte        // the records, in the order of their offsets
	done chan struct{} // closed when the records are written and synced
	err  error         // set before done is closed
}

// syncer syncs the file whenever appends wait for it, until it closes.
// One goroutine per file starts the next sync as soon as the last one
// returns, rather than when one of the waiting callers is next scheduled
// (~250 µs of a ~1 ms sync cycle under load). One sync at a time: two or
// three at once made BenchmarkUseNonceUnderLoad slower on ext4.
func (bf *bucketFile) syncer(j *nonceJournal) {
	bf.mu.Lock()
	for {
		for bf.next == nil && !bf.closing {
			bf.work.Wait()
		}
		b := bf.next
		if b == nil {
			break // closing, and nothing waits
		}
		bf.next = nil
		if bf.err == nil {
			bf.mu.Unlock()
			err := writeSynced(bf.f, b.recs, b.at)
			j.syncs.Add(1)
			bf.mu.Lock()
			if err != nil {
				bf.err = fmt.Errorf("store/badger: nonce journal sync: %w", err)
			}
		}
		b.err = bf.err
		close(b.done)
	}
	bf.mu.Unlock()
	close(bf.stopped)
}

func (bf *bucketFile) close() {
	bf.mu.Lock()
	bf.closing = true // appends from now on fail
	bf.work.Signal()
	bf.mu.Unlock()
	if bf.stopped != nil {
		<-bf.stopped // the syncer syncs what waits, then ends
	}
	bf.mu.Lock()
	if bf.err == nil {
		bf.err = errJournalClosed
	}
	bf.unmap()
	bf.mu.Unlock()
	bf.f.Close()
}

// close closes the files; later uses fail.
func (j *nonceJournal) close() {
	j.filesMu.Lock()
	defer j.filesMu.Unlock()
	j.closed = true
	for e, bf := range j.files {
		bf.close()
		delete(j.files, e)
	}
}

// live returns the ids of the nonces live at now, sorted (tests).
func (j *nonceJournal) live(now time.Time) []uint64 {
	var out []uint64
	for i := range j.shards {
		s := &j.shards[i]
		s.mu.Lock()
		for _, m := range s.buckets {
			for id, exp := range m {
				if exp > now.UnixNano() {
					out = append(out, id)
				}
			}
		}
		s.mu.Unlock()
	}
	slices.Sort(out)
	return out
}
