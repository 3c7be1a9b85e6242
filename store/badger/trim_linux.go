package badger

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// trimState holds what trim keeps between runs.
type trimState struct {
	// The process's file-backed resident memory just after the last
	// trim, so that quiet can tell how much has been mapped in since.
	sharedAfter int64
	trimmed     bool
	maps        []byte // the last /proc/self/maps read, reused
}

// storeMapping is one mapping of a store file in /proc/self/maps.
type storeMapping struct {
	start, end uintptr
	table      bool   // an .sst file; otherwise a value log file
	id         uint64 // the table's ID
}

// trim takes the pages of the store's mapped tables and value log out of
// the process's memory, all but the tables' indexes, without measuring
// first: measuring (the pagemap of every mapping) took 11–430 ms on a
// loaded 2-core machine, long enough for a compaction to map in another
// 100 MiB meanwhile, while dropping is a page-table walk. An index (the
// block offsets and the Bloom filter, at the end of the table's file,
// about 2 % of it with 16 KiB blocks) is read by every lookup in its
// table, so dropping the indexes too made lookups map them in again at
// once: with a million tokens they were about as large as the budget,
// and the trimmer ran eight times a second. The data blocks a lookup or
// a compaction read come back by a minor fault from the page cache.
//
// A table's pages are unmapped with MADV_DONTNEED: on a shared file
// mapping it only drops the process's page table entries (a dirty page is
// marked dirty in the page cache first), so the pages stay in the page
// cache and the next access maps them again without a disk read. On
// anonymous memory, though, DONTNEED discards the contents, and between
// reading /proc/self/maps and the madvise Badger may unmap a table that a
// compaction replaced and the Go runtime may map its heap at the same
// addresses: DONTNEED there would zero live heap memory. So DONTNEED only
// goes to the tables an open iterator holds a reference to (Badger unmaps
// a table only when its last reference goes): those that were in the
// levels both before and after the iterator was created, and so when it
// took its references (a table leaves the levels for good). Any other
// mapping of the store gets MADV_PAGEOUT, which never changes what memory
// holds, on any kind of mapping (a clean file page is written back or
// dropped and read from disk on access, an anonymous page goes to swap or
// stays), so the race is harmless there: the value log (whose files the
// value-log GC deletes; rarely read, as values are far below the value
// threshold) and the tables a compaction is writing (read from disk again
// on their first lookups). A range that is gone by then (ENOMEM) is
// skipped.
func (t *trimmer) trim() (err error) {
	s := &t.state
	defer func() {
		s.sharedAfter, _ = sharedResident()
		s.trimmed = true
	}()
	before := tableIndexes(t.db, nil)
	txn := t.db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badgerdb.IteratorOptions{})
	defer it.Close()
	pinned := tableIndexes(t.db, before)
	if s.maps, err = readInto(s.maps[:0], "/proc/self/maps"); err != nil {
		return err
	}
	for m := range storeMappings(s.maps, t.dir) {
		start, end, advice := m.start, m.end, uintptr(unix.MADV_PAGEOUT)
		if index, ok := pinned[m.id]; ok && m.table {
			end, advice = dataEnd(m, index), unix.MADV_DONTNEED
		}
		if end <= start {
			continue
		}
		// EINVAL: PAGEOUT on a kernel before 5.4, nothing to do there;
		// ENOMEM: unmapped since maps was read.
		unix.Syscall(unix.SYS_MADVISE, start, end-start, advice)
	}
	return nil
}

// storeMappings yields the mappings of the store's tables and value log
// files in maps (the text of /proc/self/maps) for the store in dir.
func storeMappings(maps []byte, dir string) func(yield func(storeMapping) bool) {
	prefix := dir + "/"
	return func(yield func(storeMapping) bool) {
		for line := range bytes.Lines(maps) {
			start, end, path, ok := parseMapsLine(line)
			if !ok || !strings.HasPrefix(path, prefix) {
				continue
			}
			m := storeMapping{start: start, end: end}
			name := strings.TrimSuffix(path[len(prefix):], " (deleted)")
			if id, ok := strings.CutSuffix(name, ".sst"); ok {
				n, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					continue
				}
				m.table, m.id = true, n
			} else if !strings.HasSuffix(name, ".vlog") {
				continue
			}
			if !yield(m) {
				return
			}
		}
	}
}

// tableIndexes returns the index size of each table in db's levels, by
// table ID; with in, only those also in in.
func tableIndexes(db *badgerdb.DB, in map[uint64]int) map[uint64]int {
	ids := make(map[uint64]int)
	for _, ti := range db.Tables() {
		if _, ok := in[ti.ID]; in == nil || ok {
			ids[ti.ID] = ti.IndexSz
		}
	}
	return ids
}

// tableFooter bounds what follows a table's index at the end of its file
// (the index's length, a checksum and its length).
const tableFooter = 64

// dataEnd is where the data blocks of the table mapped at m end, rounded
// down to a page: a table file is its blocks, then its index (block
// offsets and the Bloom filter, which every lookup in the table reads),
// then a footer. The mapping's end is the file's size rounded up to a
// page, so this errs towards keeping a page more of the index.
func dataEnd(m storeMapping, indexSize int) uintptr {
	tail := uintptr(indexSize+tableFooter) + pageSize
	if tail >= m.end-m.start {
		return m.start
	}
	return (m.end - tail) &^ (pageSize - 1)
}

var pageSize = uintptr(os.Getpagesize())

// quiet reports whether trim can be skipped: the process's file-backed
// resident memory has grown by at most the budget since the last trim
// left only the tables' indexes mapped in. Any file's pages count in that
// growth (the Caddy binary's too), so it errs towards trimming.
func (s *trimState) quiet(budget int64) bool {
	if !s.trimmed {
		return false
	}
	shared, ok := sharedResident()
	return ok && shared-s.sharedAfter <= budget
}

// sharedResident is the process's file-backed (and shared) resident
// memory in bytes, from the third field of /proc/self/statm (pages).
func sharedResident() (int64, bool) {
	var buf [128]byte
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	n, _ := f.Read(buf[:])
	f.Close()
	fields := bytes.Fields(buf[:n])
	if len(fields) < 3 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(fields[2]), 10, 64)
	return pages * int64(pageSize), err == nil
}

// parseMapsLine reads "start-end perms offset dev inode path" from one line
// of /proc/self/maps.
func parseMapsLine(line []byte) (start, end uintptr, path string, ok bool) {
	fields := bytes.Fields(line)
	if len(fields) < 6 {
		return 0, 0, "", false
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	if !ok {
		return 0, 0, "", false
	}
	s, err1 := strconv.ParseUint(string(lo), 16, 64)
	e, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	// The path is the rest of the line after the inode (it may hold spaces).
	i := bytes.Index(line, fields[5])
	return uintptr(s), uintptr(e), string(bytes.TrimRight(line[i:], "\n")), true
}

// readInto reads a whole file into buf, which /proc files (whose size is
// reported as 0) need.
func readInto(buf []byte, name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	w := bytes.NewBuffer(buf)
	_, err = w.ReadFrom(f)
	return w.Bytes(), err
}
