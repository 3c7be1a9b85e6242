package badger

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// trimState holds the buffers trim reuses between runs.
type trimState struct {
	// What the last trim left and the process's file-backed resident
	// memory just after it, so that quiet can tell growth since then.
	left, sharedAfter int64
	scanned           time.Time
	maps              []byte   // the last /proc/self/maps read
	vec               []byte   // a read of /proc/self/pagemap
	pagemap           *os.File // opened on first use, kept open
	list              []mapped // the store's mappings found in maps
}

// mapped is one mapping of a store file and its resident bytes.
type mapped struct {
	start, end uintptr
	resident   int64
	pinned     bool // a table an open iterator holds (see trim)
}

var pageSize = int64(os.Getpagesize())

// trim measures the resident pages of the store's mapped tables and value
// log files and, when they exceed the budget, takes them out of the
// process's memory, mappings with the most resident pages first, until
// half the budget is left (so that it does not run again at once). It
// returns the resident bytes it found and those it left.
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
// mapping of the store, the value log (whose files the value-log GC
// deletes) or a table written since, gets MADV_PAGEOUT, which never
// changes what memory holds, on any kind of mapping (a clean file page
// is written back or dropped and read from disk on access, an anonymous
// page goes to swap or stays), so the race is harmless there; it is rare,
// as new tables are pinned on the next run. A range that is gone by then
// (ENOMEM) is skipped.
func (t *trimmer) trim() (found, left int64, err error) {
	s := &t.state
	if s.maps, err = readInto(s.maps[:0], "/proc/self/maps"); err != nil {
		return 0, 0, err
	}
	found = s.scan(t.dir, nil)
	left = found
	defer func() {
		s.left, s.scanned = left, time.Now()
		s.sharedAfter, _ = sharedResident()
	}()
	if found <= t.budget {
		return found, left, nil
	}

	// Pin the tables, then read the maps again: the addresses of the
	// pinned tables cannot change until the iterator is closed.
	before := tableIDs(t.db, nil)
	txn := t.db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badgerdb.IteratorOptions{})
	defer it.Close()
	pinned := tableIDs(t.db, before)
	if s.maps, err = readInto(s.maps[:0], "/proc/self/maps"); err != nil {
		return found, left, err
	}
	found = s.scan(t.dir, pinned)
	left = found
	slices.SortFunc(s.list, func(a, b mapped) int { return int(b.resident - a.resident) })
	for _, m := range s.list {
		if left <= t.budget/2 {
			break
		}
		advice := uintptr(unix.MADV_PAGEOUT)
		if m.pinned {
			advice = unix.MADV_DONTNEED
		}
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, advice)
		switch errno {
		case 0:
			left -= m.resident
		case unix.EINVAL:
			// PAGEOUT on a kernel before 5.4; nothing to do there.
		}
		// ENOMEM: unmapped since maps was read; nothing to do.
	}
	return found, left, nil
}

// scan fills s.list with the mappings of the store's tables and value log
// in s.maps and their resident bytes, marking the tables whose ID is in
// pinned, and returns the sum.
func (s *trimState) scan(dir string, pinned map[uint64]bool) (found int64) {
	s.list = s.list[:0]
	prefix := dir + "/"
	for line := range bytes.Lines(s.maps) {
		m, path, ok := parseMapsLine(line)
		if !ok || !strings.HasPrefix(path, prefix) {
			continue
		}
		name := strings.TrimSuffix(path[len(prefix):], " (deleted)")
		if id, ok := strings.CutSuffix(name, ".sst"); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			m.pinned = err == nil && pinned[n]
		} else if !strings.HasSuffix(name, ".vlog") {
			continue
		}
		m.resident = s.resident(m)
		found += m.resident
		s.list = append(s.list, m)
	}
	return found
}

// tableIDs returns the IDs of the tables in db's levels; with in, only
// those also in in.
func tableIDs(db *badgerdb.DB, in map[uint64]bool) map[uint64]bool {
	ids := make(map[uint64]bool)
	for _, ti := range db.Tables() {
		if in == nil || in[ti.ID] {
			ids[ti.ID] = true
		}
	}
	return ids
}

// quiet reports whether trim can be skipped: the last exact measure is
// recent, and the process's file-backed resident memory has not grown
// since by more than what the budget still allowed. Any file's pages
// count in that growth, so it errs towards measuring.
func (s *trimState) quiet(budget int64) bool {
	if s.scanned.IsZero() || time.Since(s.scanned) >= rescanInterval {
		return false
	}
	shared, ok := sharedResident()
	return ok && s.left+(shared-s.sharedAfter) <= budget
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
	return pages * pageSize, err == nil
}

// resident is how many bytes of m are mapped into the process (in its
// RSS), from /proc/self/pagemap: 8 bytes a page, bit 63 set when the page
// is present. (mincore would answer for the page cache instead, which
// also holds pages of these files that are not mapped, such as readahead,
// and which MADV_PAGEOUT does not touch.) 0 when it cannot be read.
func (s *trimState) resident(m mapped) int64 {
	if s.pagemap == nil {
		f, err := os.Open("/proc/self/pagemap")
		if err != nil {
			return 0
		}
		s.pagemap = f
	}
	const chunk = 1 << 13 // pages per read: 64 KiB of entries
	if len(s.vec) < chunk*8 {
		s.vec = make([]byte, chunk*8)
	}
	var n int64
	for page := int64(m.start) / pageSize; page < int64(m.end)/pageSize; {
		count := min(chunk, int64(m.end)/pageSize-page)
		got, err := s.pagemap.ReadAt(s.vec[:count*8], page*8)
		for i := 0; i+8 <= got; i += 8 {
			n += int64(s.vec[i+7] >> 7) // bit 63, little-endian
		}
		if err != nil {
			break
		}
		page += count
	}
	return n * pageSize
}

// close releases the open pagemap.
func (s *trimState) close() {
	if s.pagemap != nil {
		s.pagemap.Close()
		s.pagemap = nil
	}
}

// parseMapsLine reads "start-end perms offset dev inode path" from one line
// of /proc/self/maps.
func parseMapsLine(line []byte) (mapped, string, bool) {
	fields := bytes.Fields(line)
	if len(fields) < 6 {
		return mapped{}, "", false
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	if !ok {
		return mapped{}, "", false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapped{}, "", false
	}
	// The path is the rest of the line after the inode (it may hold spaces).
	i := bytes.Index(line, fields[5])
	path := string(bytes.TrimRight(line[i:], "\n"))
	return mapped{start: uintptr(start), end: uintptr(end)}, path, true
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
