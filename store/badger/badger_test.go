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

// The smallest and a large memory budget must give Badger options it
// accepts (the value threshold must fit its batch limit) and a store that
// works; a budget below the minimum is refused.
func TestConformanceMemoryBudgets(t *testing.T) {
	for _, memory := range []int64{badger.MinMemory, 1 << 30} {
		t.Run(fmt.Sprintf("memory=%d", memory), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				return openOrFail(t, badger.Options{Dir: t.TempDir(), Memory: memory})
			})
		})
	}
	if db, err := badger.Open(badger.Options{Dir: t.TempDir(), Memory: badger.MinMemory - 1}); err == nil {
		db.Close()
		t.Error("Open with Memory below MinMemory succeeded")
	}
}

func TestPersistence(t *testing.T) {
	storetest.RunPersistence(t, func(t *testing.T, dir string) store.Store {
		return openOrFail(t, badger.Options{Dir: dir})
	})
}

// The weaker nonce mode is a whole store too: the suite's nonce, race and
// persistence cases run against its second database.
func TestConformanceNoncesPageCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openOrFail(t, badger.Options{Dir: t.TempDir(), Nonces: badger.NoncesPageCache})
	})
	storetest.RunPersistence(t, func(t *testing.T, dir string) store.Store {
		return openOrFail(t, badger.Options{Dir: dir, Nonces: badger.NoncesPageCache})
	})
}

// crashDirEnv marks the child process of the crash tests and names its
// directory; crashModeEnv says what the child does.
const (
	crashDirEnv  = "CADDY_OAUTH_BADGER_CRASH_DIR"
	crashModeEnv = "CADDY_OAUTH_BADGER_CRASH_MODE"
)

// runCrashChild runs TestCrashChild in mode on dir, kills it (SIGKILL, no
// chance to flush or close) once it reported enough items or after 3 s,
// and returns the items it reported: the hex after prefix on each whole
// line, decoded, of size bytes.
func runCrashChild(t *testing.T, dir, mode, prefix string, size, enough int) [][]byte {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a child process for a few seconds")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var items [][]byte
	read := make(chan string)
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			read <- sc.Text()
		}
	}()
	lines := read
	// The child gets 30 s to report its first item (a loaded CI machine,
	// -race, a slow first fsync), then 3 s more at most.
	killAt := time.After(30 * time.Second)
	started := false
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
			hexItem, found := strings.CutPrefix(line, prefix)
			if !found {
				continue
			}
			b, err := hex.DecodeString(hexItem)
			if err != nil || len(b) != size {
				continue // a line cut short by the kill
			}
			items = append(items, b)
			if !started {
				started = true
				killAt = time.After(3 * time.Second)
			}
			if len(items) >= enough {
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
	if len(items) == 0 {
		t.Fatalf("child reported nothing (%s) before it was killed", mode)
	}
	t.Logf("child reported %d items (%s) before SIGKILL", len(items), mode)
	return items
}

// TestCrash kills a process that is issuing tokens and checks that every
// token whose SaveTokens had returned is there after reopening: a token is
// answered to a client only after SaveTokens returns, so it must survive.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	hashes := runCrashChild(t, dir, "tokens", "saved ", 32, 2000)
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

// TestCrashNonces kills a process that is using nonces and checks that
// every nonce UseNonce had answered fresh is refused after reopening: the
// request it let through must not be replayable after a crash.
//
// NoncesPageCache promises the same for a crash of the process (not of
// the machine): its records are in the page cache when UseNonce answers.
func TestCrashNonces(t *testing.T) {
	for _, mode := range []string{"nonces", "nonces-page-cache"} {
		t.Run(mode, func(t *testing.T) { testCrashNonces(t, mode) })
	}
}

func testCrashNonces(t *testing.T, mode string) {
	dir := t.TempDir()
	keys := runCrashChild(t, dir, mode, "fresh ", 16, 5000)
	db := openOrFail(t, crashOptions(dir, mode))
	defer db.Close()
	replayable := 0
	for _, k := range keys {
		fresh, err := db.UseNonce(t.Context(), hex.EncodeToString(k), time.Hour)
		if err != nil {
			t.Fatalf("UseNonce after the crash: %v", err)
		}
		if fresh {
			replayable++
		}
	}
	if replayable > 0 {
		t.Fatalf("%d of %d nonces answered fresh are fresh again after the crash", replayable, len(keys))
	}
}

// crashOptions opens the crash tests' store: "nonces-page-cache" with
// NoncesPageCache, every other mode with the defaults.
func crashOptions(dir, mode string) badger.Options {
	opts := badger.Options{Dir: dir}
	if mode == "nonces-page-cache" {
		opts.Nonces = badger.NoncesPageCache
	}
	return opts
}

// TestCrashChild is the crash tests' child: until killed, from several
// goroutines, it issues tokens ("tokens": 8 goroutines, printing each
// hash only after SaveTokens returned) or uses random nonces ("nonces": 32
// goroutines, printing each key only after UseNonce answered fresh, and
// replaying every tenth, which must be refused; "nonces-page-cache" the
// same with NoncesPageCache).
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as a crash test's child process")
	}
	mode := os.Getenv(crashModeEnv)
	db := openOrFail(t, crashOptions(dir, mode))
	var out sync.Mutex
	report := func(line string) {
		// One write per line: a pipe write this small is atomic.
		out.Lock()
		os.Stdout.WriteString(line)
		out.Unlock()
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second) // the parent kills us long before
	switch mode {
	case "tokens":
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
					report(fmt.Sprintf("saved %x\nsaved %x\n", access.Hash, refresh.Hash))
				}
			})
		}
	case "nonces", "nonces-page-cache":
		for range 32 {
			wg.Go(func() {
				for i := 0; time.Now().Before(stop); i++ {
					key := hex.EncodeToString(randomBytes(16))
					fresh, err := db.UseNonce(t.Context(), key, time.Hour)
					if err != nil || !fresh {
						t.Errorf("UseNonce of a new key = %v, %v", fresh, err)
						return
					}
					report("fresh " + key + "\n")
					if i%10 == 0 {
						if fresh, err := db.UseNonce(t.Context(), key, time.Hour); err != nil || fresh {
							t.Errorf("replay = %v, %v; want refused", fresh, err)
							return
						}
					}
				}
			})
		}
	default:
		t.Fatalf("unknown crash mode %q", mode)
	}
	wg.Wait()
	db.Close()
}
