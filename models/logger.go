package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// SlowQuery is how long a statement may take before it is logged.
const SlowQuery = 500 * time.Millisecond

// gormLogger sends gorm's messages to slog: slow statements at warn, failed
// ones at debug (the caller wraps and reports the error), nothing else.
// Statements are logged only up to where their values start: values may be
// members' personal data.
type gormLogger struct{ log *slog.Logger }

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && l.log.Enabled(ctx, slog.LevelDebug):
		sql, _ := fc()
		l.log.DebugContext(ctx, "statement failed", "elapsed", elapsed, "sql", statementShape(sql), "err", err)
	case elapsed >= SlowQuery:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow statement", "elapsed", elapsed, "rows", rows, "sql", statementShape(sql))
	}
}

// statementShape is the head of a statement, up to where values start, so
// that logs never carry members' data.
func statementShape(sql string) string {
	cut := len(sql)
	for _, mark := range []string{" VALUES", " WHERE", " SET ", "(", "'", "\""} {
		if i := strings.Index(sql, mark); i >= 0 && i < cut {
			cut = i
		}
	}
	return Truncate(strings.TrimSpace(sql[:cut]), 120)
}
