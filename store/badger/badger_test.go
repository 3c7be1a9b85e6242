package badger_test

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
	"github.com/caddy-oauth/caddy-oauth/store/storetest"
)

func openOrFail(t testing.TB, opts badger.Options) *badger.DB {
	t.Helper()
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openOrFail(t, badger.Options{InMemory: true})
	})
}

func TestConformanceOnDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openOrFail(t, badger.Options{Dir: t.TempDir()})
	})
}

func TestPersistence(t *testing.T) {
	storetest.RunPersistence(t, func(t *testing.T, dir string) store.Store {
		return openOrFail(t, badger.Options{Dir: dir})
	})
}

// crashDirEnv marks the child process of TestCrash and names its directory.
const crashDirEnv = "CADDY_OAUTH_BADGER_CRASH_DIR"

// TestCrash kills a process that is issuing tokens (SIGKILL, no chance to
// flush or close) and checks that every token whose SaveTokens had
// returned is there after reopening: a token is answered to a client only
// after SaveTokens returns, so it must survive.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for a few seconds")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var hashes [][]byte
	read := make(chan string)
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			read <- sc.Text()
		}
	}()
	lines := read
	killAt := time.After(3 * time.Second)
	killed := false
	kill := func() {
		if !killed {
			killed = true
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
			}
		}
	}
	for lines != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				break
			}
			// Lines printed before the kill were durable when printed;
			// keep reading them after it, and skip test-runner chatter.
			hexHash, found := strings.CutPrefix(line, "saved ")
			if !found {
				continue
			}
			h, err := hex.DecodeString(hexHash)
			if err != nil || len(h) != 32 {
				continue // a line cut short by the kill
			}
			hashes = append(hashes, h)
			if len(hashes) >= 2000 {
				kill()
			}
		case <-killAt:
			kill()
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited on its own (%v) before being killed", err)
	}
	if len(hashes) == 0 {
		t.Fatal("child saved no tokens before it was killed")
	}
	t.Logf("child reported %d saved tokens before SIGKILL", len(hashes))

	db := openOrFail(t, badger.Options{Dir: dir})
	defer db.Close()
	missing := 0
	for _, h := range hashes {
		if _, err := db.GetToken(t.Context(), h); err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d tokens reported saved are missing after the crash", missing, len(hashes))
	}
}

// TestCrashChild is TestCrash's child: it issues tokens from 8 goroutines
// until killed, printing each hash only after SaveTokens returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as TestCrash's child process")
	}
	db := openOrFail(t, badger.Options{Dir: dir})
	var out sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second) // the parent kills us long before
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				access := newToken(store.KindAccess)
				refresh := newToken(store.KindRefresh)
				refresh.Family = access.Family
				if err := db.SaveTokens(t.Context(), access, refresh); err != nil {
					t.Errorf("SaveTokens: %v", err)
					return
				}
				// One write per line: a pipe write this small is atomic.
				line := fmt.Sprintf("saved %x\nsaved %x\n", access.Hash, refresh.Hash)
				out.Lock()
				os.Stdout.WriteString(line)
				out.Unlock()
			}
		})
	}
	wg.Wait()
	db.Close()
}
