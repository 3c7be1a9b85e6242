//go:build unix

package badger

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapJournal maps n bytes of f from off (a multiple of the page size),
// shared: a store into the mapping is in the page cache at once, as a
// write(2) would put it, without the system call.
func mapJournal(f *os.File, off int64, n int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func unmapJournal(m []byte) error { return unix.Munmap(m) }
