package caddyoauth

import (
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// auditLogger turns engine events into zap entries: who got which token
// for which client, and why a request was refused. Events never carry a
// secret, so neither do these entries.
func auditLogger(logger *zap.Logger) provider.Auditor {
	return func(e provider.Event) {
		if ce := logger.Check(auditLevel(e.Name), strings.ReplaceAll(e.Name, "_", " ")); ce != nil {
			fields := make([]zap.Field, 0, 6)
			if e.Protocol != "" {
				fields = append(fields, zap.String("protocol", e.Protocol))
			}
			if e.ClientID != "" {
				fields = append(fields, zap.String("client_id", e.ClientID))
			}
			if e.User != "" {
				fields = append(fields, zap.String("user", e.User))
			}
			if e.Grant != "" {
				fields = append(fields, zap.String("grant", e.Grant))
			}
			if len(e.Scopes) > 0 {
				fields = append(fields, zap.Strings("scopes", e.Scopes))
			}
			if e.Reason != "" {
				fields = append(fields, zap.String("reason", e.Reason))
			}
			if e.Revoked > 0 {
				fields = append(fields, zap.Int("revoked", e.Revoked))
			}
			ce.Write(fields...)
		}
	}
}

// auditLevel: replays and internal failures are worth an operator's
// attention; the rest is the normal record of issued and refused tokens.
func auditLevel(name string) zapcore.Level {
	switch name {
	case "code_replayed", "refresh_reused", "nonce_replayed", "login_refused", "device_code_throttled":
		// login_refused: a lockout or a forged login form;
		// device_code_throttled: user codes being guessed.
		return zapcore.WarnLevel
	case "store_error":
		return zapcore.ErrorLevel
	}
	return zapcore.InfoLevel
}
