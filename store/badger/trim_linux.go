package badger

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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
}

var pageSize = int64(os.Getpagesize())

// trim measures the resident pages of the store's mapped tables and value
// log files and, when they exceed the budget, asks the kernel to reclaim
// them, mappings with the most resident pages first, until half the budget
// is left (so that it does not run again at once). It returns the resident
// bytes it found and those it left.
//
// The mappings are found in /proc/self/maps and measured in
// /proc/self/pagemap, and
// between reading the maps and the madvise Badger may have unmapped a table
// that a compaction replaced, and the Go runtime may have mapped its heap at
// the same addresses. That is why the advice is MADV_PAGEOUT and never
// MADV_DONTNEED: DONTNEED on anonymous memory discards it (the heap would
// read zeros: memory corruption), while PAGEOUT never changes what memory
// holds, on any kind of mapping: a clean file page is dropped and read
// back on access, an anonymous page goes to swap or stays. Dirty file pages
// (Badger syncs what it writes) are left to the kernel's writeback. A range
// that is gone by then (ENOMEM) is skipped.
func (t *trimmer) trim() (found, left int64, err error) {
	s := &t.state
	if s.maps, err = readInto(s.maps[:0], "/proc/self/maps"); err != nil {
		return 0, 0, err
	}
	s.list = s.list[:0]
	prefix := t.dir + "/"
	for line := range bytes.Lines(s.maps) {
		m, path, ok := parseMapsLine(line)
		if !ok || !strings.HasPrefix(path, prefix) {
			continue
		}
		path = strings.TrimSuffix(path, " (deleted)")
		if !strings.HasSuffix(path, ".sst") && !strings.HasSuffix(path, ".vlog") {
			continue
		}
		m.resident = s.resident(m)
		found += m.resident
		s.list = append(s.list, m)
	}
	left = found
	defer func() {
		s.left, s.scanned = left, time.Now()
		s.sharedAfter, _ = sharedResident()
	}()
	if found <= t.budget {
		return found, left, nil
	}
	slices.SortFunc(s.list, func(a, b mapped) int { return int(b.resident - a.resident) })
	for _, m := range s.list {
		if left <= t.budget/2 {
			break
		}
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT)
		switch errno {
		case 0:
			left -= m.resident
		case unix.EINVAL:
			// A kernel before 5.4, without MADV_PAGEOUT.
			return found, left, errors.New("madvise(MADV_PAGEOUT): " + errno.Error())
		}
		// ENOMEM: unmapped since maps was read; nothing to do.
	}
	return found, left, nil
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
