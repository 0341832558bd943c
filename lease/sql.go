package lease

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Where SQLite and MariaDB differ, they differ here.

func isMySQL(db *gorm.DB) bool { return db.Dialector.Name() == "mysql" }

// nowMs is an SQL expression for the database's clock in milliseconds
// since the epoch (models' instances use the same).
func nowMs(db *gorm.DB) string {
	if isMySQL(db) {
		return "CAST(ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(6)) * 1000) AS SIGNED)"
	}
	return "CAST(ROUND((julianday(strftime('%Y-%m-%d %H:%M:%f', 'now')) - 2440587.5) * 86400000.0) AS INTEGER)"
}

// dbNow reads the database's clock.
func dbNow(db *gorm.DB) (int64, error) {
	var ms int64
	if err := db.Raw("SELECT " + nowMs(db)).Scan(&ms).Error; err != nil {
		return 0, fmt.Errorf("read the database's clock: %w", err)
	}
	return ms, nil
}

// shareLock is the clause that keeps a row read in a transaction from
// changing until it ends, while letting other readers lock it too.
// SQLite needs none: its writes are serialised.
func shareLock(db *gorm.DB) string {
	if isMySQL(db) {
		return " LOCK IN SHARE MODE"
	}
	return ""
}

// retry runs fn in a transaction on db, again (up to 10 times) on a
// deadlock, a lock wait timeout, a racing create or a busy SQLite.
func retry(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	var err error
	for i := range 10 {
		if err = db.WithContext(ctx).Transaction(fn); err == nil || !conflict(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-time.After(time.Duration(1+rand.IntN(1<<min(i, 6))) * time.Millisecond):
		}
	}
	return fmt.Errorf("gave up after 10 conflicting attempts: %w", err)
}

func conflict(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 || me.Number == 1062
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return errors.Is(err, gorm.ErrDuplicatedKey)
}
