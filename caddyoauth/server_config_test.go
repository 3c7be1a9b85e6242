package caddyoauth

import (
	"strings"
	"testing"
)

func TestValidateSizes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     ServerConfig
		wantErr string
	}{
		{"defaults", ServerConfig{}, ""},
		{"explicit", ServerConfig{VerifyCacheSize: 1, OAuth1CacheSize: maxCacheSize}, ""},
		{"caches off", ServerConfig{VerifyCacheSize: -1, OAuth1CacheSize: -1}, ""},
		{"verify cache negative", ServerConfig{VerifyCacheSize: -2}, "verify_cache_size"},
		{"oauth1 cache too large", ServerConfig{OAuth1CacheSize: maxCacheSize + 1}, "oauth1_cache_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validateSizes()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("validateSizes() = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Fatalf("validateSizes() = %v, want an error about %s", err, tc.wantErr)
			}
		})
	}
}
