package badger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogLogger routes Badger's logging into slog. Badger reports routine
// events (replays, compactions, flushes) at INFO, which would flood a
// server's log, so those go to Debug; warnings and errors keep their level.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Errorf(format string, args ...any) { s.log(slog.LevelError, format, args) }

func (s slogLogger) Warningf(format string, args ...any) { s.log(slog.LevelWarn, format, args) }

func (s slogLogger) Infof(format string, args ...any) { s.log(slog.LevelDebug, format, args) }

func (s slogLogger) Debugf(format string, args ...any) { s.log(slog.LevelDebug, format, args) }

func (s slogLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return // skip formatting what nobody reads
	}
	s.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
