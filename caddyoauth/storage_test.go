package caddyoauth

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/store/redis"
)

func TestBadgerStorageValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       BadgerStorage
		wantErr string
	}{
		{"defaults", BadgerStorage{}, ""},
		{"explicit", BadgerStorage{Memory: 16 << 20, NonceDurability: "page_cache"}, ""},
		{"memory too small", BadgerStorage{Memory: 1 << 20}, "storage badger: memory"},
		{"memory negative", BadgerStorage{Memory: -1}, "storage badger: memory"},
		{"mapped memory off", BadgerStorage{MappedMemory: -1}, ""},
		{"mapped memory", BadgerStorage{MappedMemory: 4 << 20}, ""},
		{"mapped memory too small", BadgerStorage{MappedMemory: 1 << 20}, "storage badger: mapped_memory"},
		{"mapped memory negative", BadgerStorage{MappedMemory: -2}, "storage badger: mapped_memory"},
		{"unknown nonce durability", BadgerStorage{NonceDurability: "fast"}, `nonce_durability "fast"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want an error starting %q", err, tc.wantErr)
			}
		})
	}
}

// provisionApp provisions an oauth app from JSON as Caddy would, and
// cleans it up with the test.
func provisionApp(t *testing.T, servers string) (*App, error) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	app := new(App)
	if err := json.Unmarshal([]byte(`{"servers":`+servers+`}`), app); err != nil {
		t.Fatal(err)
	}
	err := app.Provision(ctx)
	t.Cleanup(func() {
		if err := app.Cleanup(); err != nil {
			t.Error(err)
		}
	})
	return app, err
}

func TestAppRefusesSharedStorage(t *testing.T) {
	dir := t.TempDir()
	dirJSON, _ := json.Marshal(dir)
	dotJSON, _ := json.Marshal(dir + "/.")
	for _, tc := range []struct {
		name, servers, want string
	}{
		{"one badger directory, written two ways",
			`{"a": {"issuer": "https://a.example.com", "storage_dir": ` + string(dirJSON) + `},
			  "b": {"issuer": "https://b.example.com", "storage": {"module": "badger", "dir": ` + string(dotJSON) + `}}}`,
			`oauth servers "a" and "b" use the same storage (badger:` + dir + `)`},
		{"one redis key prefix",
			`{"a": {"issuer": "https://a.example.com", "storage": {"module": "redis", "address": ["127.0.0.1:1"]}},
			  "b": {"issuer": "https://b.example.com", "storage": {"module": "redis", "address": ["127.0.0.1:1"], "key_prefix": "caddy-oauth:", "password": "other"}}}`,
			`oauth servers "a" and "b" use the same storage (redis:127.0.0.1:1/0/caddy-oauth:)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := provisionApp(t, tc.servers)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if err := app.Cleanup(); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Server("a"); err == nil {
				t.Fatal("a cleaned-up app still has servers")
			}
			open := 0
			stores.Range(func(any, any) bool { open++; return true })
			if open != 0 {
				t.Fatalf("%d stores still open after the refused provision", open)
			}
		})
	}

	// Other prefixes or databases on one Redis are other states. Redis
	// is not listening on port 1: the app provisions anyway (Caddy starts
	// while Redis is down) and the servers wait for it, not ready.
	app, err := provisionApp(t, `{
		"a": {"issuer": "https://a.example.com", "storage": {"module": "redis", "address": ["127.0.0.1:1"], "key_prefix": "a:", "dial_timeout": 50000000}},
		"b": {"issuer": "https://b.example.com", "storage": {"module": "redis", "address": ["127.0.0.1:1"], "key_prefix": "b:", "dial_timeout": 50000000}},
		"c": {"issuer": "https://c.example.com", "storage": {"module": "redis", "address": ["127.0.0.1:1"], "db": 1, "dial_timeout": 50000000}}}`)
	if err != nil {
		t.Fatalf("provisioning with Redis down: %v", err)
	}
	for _, name := range []string{"a", "b", "c"} {
		srv, err := app.Server(name)
		if err != nil {
			t.Fatal(err)
		}
		if srv.Ready() {
			t.Errorf("server %s ready without its storage", name)
		}
	}
}

func TestStorageLegacyFieldsNextToTheModuleAreRefused(t *testing.T) {
	_, err := provisionApp(t, `{"a": {"issuer": "https://a.example.com", "storage_memory": 33554432,
		"storage": {"module": "badger", "dir": `+jsonString(t.TempDir())+`}}}`)
	if err == nil || !strings.Contains(err.Error(), "inside the badger storage module") {
		t.Fatalf("err %v, want the legacy field refused next to storage", err)
	}
	_, err = provisionApp(t, `{"a": {"issuer": "https://a.example.com", "storage": {"module": "postgres"}}}`)
	if err == nil || !strings.Contains(err.Error(), "oauth.storage.postgres") {
		t.Fatalf("err %v, want the unknown module named", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRedisStorageProvision(t *testing.T) {
	t.Setenv("CADDY_OAUTH_TEST_REDIS_PASSWORD", "s3cret")
	t.Setenv("CADDY_OAUTH_TEST_REDIS_ADDR", "10.1.2.3:6380")
	ctx := caddy.Context{Context: context.Background()}
	r := &RedisStorage{Address: []string{"{env.CADDY_OAUTH_TEST_REDIS_ADDR}"}, Password: "{env.CADDY_OAUTH_TEST_REDIS_PASSWORD}", Username: "app"}
	if err := r.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.opts.Addresses; len(got) != 1 || got[0] != "10.1.2.3:6380" {
		t.Errorf("addresses %v: placeholder not replaced", got)
	}
	if r.opts.Password != "s3cret" || r.opts.Username != "app" {
		t.Errorf("credentials %q/%q: placeholder not replaced", r.opts.Username, r.opts.Password)
	}
	if key, _ := r.StorageKey("default"); key != "redis:10.1.2.3:6380/0/"+redis.DefaultKeyPrefix {
		t.Errorf("storage key %q", key)
	}

	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    RedisStorage
		want string
	}{
		{"unset variable", RedisStorage{Password: "{env.CADDY_OAUTH_TEST_UNSET_VARIABLE}"}, "password"},
		{"address without port", RedisStorage{Address: []string{"redis.internal"}}, "must be host:port"},
		{"missing ca file", RedisStorage{TLS: &RedisTLS{CAFile: filepath.Join(dir, "missing.pem")}}, "tls ca_file"},
		{"ca file without a certificate", RedisStorage{TLS: &RedisTLS{CAFile: notPEM}}, "no PEM certificate"},
		{"certificate without key", RedisStorage{TLS: &RedisTLS{CertFile: notPEM}}, "cert_file and key_file go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Provision(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRedisStoresAreShared: configs with the same options share one
// store (one set of connections over any number of reloads); a changed
// password opens another.
func TestRedisStoresAreShared(t *testing.T) {
	ctx := caddy.Context{Context: context.Background()}
	open := func(pwd string) (any, func() error) {
		r := &RedisStorage{Address: []string{"127.0.0.1:1"}, KeyPrefix: "shared-test:", Password: pwd}
		if err := r.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		st, release, err := r.OpenStore("default")
		if err != nil {
			t.Fatal(err)
		}
		return st, release
	}
	a, releaseA := open("one")
	b, releaseB := open("one")
	c, releaseC := open("two")
	if a != b {
		t.Error("two configs with the same options opened two stores")
	}
	if a == c {
		t.Error("a changed password reused the store of the old one")
	}
	for _, release := range []func() error{releaseA, releaseB, releaseC} {
		if err := release(); err != nil {
			t.Fatal(err)
		}
	}
	open2 := 0
	stores.Range(func(any, any) bool { open2++; return true })
	if open2 != 0 {
		t.Fatalf("%d stores open after every release", open2)
	}
}
