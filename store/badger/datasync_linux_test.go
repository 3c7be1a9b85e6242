package badger

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// writeSynced writes the same bytes with pwritev2(RWF_DSYNC) and, on a
// kernel without it, with write + fdatasync.
func TestWriteSyncedWithAndWithoutPwritev2(t *testing.T) {
	for _, missing := range []bool{false, true} {
		if missing {
			orig := pwritev2
			pwritev2 = func(int, [][]byte, int64, int) (int, error) { return 0, unix.ENOSYS }
			t.Cleanup(func() { pwritev2 = orig })
		}
		path := filepath.Join(t.TempDir(), "f")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		rec := []byte("0123456789abcdef0123456789abcdef")
		if err := writeSynced(f, rec, 16); err != nil {
			t.Fatalf("pwritev2 missing %v: %v", missing, err)
		}
		f.Close()
		got, _ := os.ReadFile(path)
		want := append(append(make([]byte, 16), rec...), make([]byte, 16)...)
		if !bytes.Equal(got, want) {
			t.Errorf("pwritev2 missing %v: file %q, want %q", missing, got, want)
		}
	}
}
