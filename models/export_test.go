package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SetBeganHook makes s call fn as each of its transactions starts, for
// tests that act on a write while it runs.
func SetBeganHook(s *Store, fn func()) { s.began = fn }

// PlanTwice re-plans member id with two planners that both read its state
// before either writes, in one transaction: the same decision made twice,
// as a replayed one would be.
func PlanTwice(ctx context.Context, s *Store, id, actor string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		first, second := s.newPlanner(tx, actor), s.newPlanner(tx, actor)
		if err := first.plan([]*Member{m}, false); err != nil {
			return err
		}
		if err := second.plan([]*Member{m}, false); err != nil {
			return err
		}
		if err := first.flush(); err != nil {
			return err
		}
		return second.flush()
	})
}

// MigrateTo brings db's schema up to version to, and no further.
func MigrateTo(ctx context.Context, db *DB, to int) ([]string, error) { return db.migrateTo(ctx, to) }

// CountStatements makes db call fn for every SQL statement it runs through
// gorm (every statement the store runs), on the write and the read pool.
func CountStatements(db *DB, fn func(sql string)) {
	hook := func(g *gorm.DB) { fn(g.Statement.SQL.String()) }
	for _, g := range []*gorm.DB{db.gorm, db.read} {
		cb := g.Callback()
		_ = cb.Create().After("gorm:create").Register("test:count", hook)
		_ = cb.Query().After("gorm:query").Register("test:count", hook)
		_ = cb.Update().After("gorm:update").Register("test:count", hook)
		_ = cb.Delete().After("gorm:delete").Register("test:count", hook)
		_ = cb.Row().After("gorm:row").Register("test:count", hook)
		_ = cb.Raw().After("gorm:raw").Register("test:count", hook)
		if db.read == db.gorm {
			break
		}
	}
}

// OneConnection limits db's write pool to one connection, so that what a
// transaction leaves on its session is seen by the next.
func OneConnection(t interface{ Fatal(...any) }, db *DB) {
	sqlDB, err := db.gorm.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
}

// SessionLockWait runs a transaction with ctx, as the store runs every
// write, and answers the lock wait its session had in it (MySQL only).
func SessionLockWait(ctx context.Context, s *Store) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		return tx.Raw("SELECT @@SESSION.innodb_lock_wait_timeout").Scan(&n).Error
	})
	return n, err
}

// AgeHeartbeat makes owner's last heartbeat age old, in the database's
// clock, as if its process had stopped beating then.
func AgeHeartbeat(ctx context.Context, s *Store, owner string, age time.Duration) error {
	return s.db.gorm.WithContext(ctx).Exec("UPDATE instances SET heartbeat_ms = "+s.dbNowMs()+" - ? WHERE owner = ?", age.Milliseconds(), owner).Error
}

// SetGroupHooks makes g call batched with the size of each batch it
// commits, and fail on each write of a batch before the flush: an error
// fails the batch's transaction on that write.
func SetGroupHooks(g *GroupCommit, batched func(n int), fail func(member string) error) {
	g.batched, g.fail = batched, fail
}

// CaptureStatements makes db call fn with every SQL statement it runs
// through gorm and the values bound to it, on the write and the read pool.
func CaptureStatements(db *DB, fn func(sql string, vars []any)) {
	hook := func(g *gorm.DB) { fn(g.Statement.SQL.String(), append([]any(nil), g.Statement.Vars...)) }
	for _, g := range []*gorm.DB{db.gorm, db.read} {
		cb := g.Callback()
		_ = cb.Query().After("gorm:query").Register("test:capture", hook)
		_ = cb.Update().After("gorm:update").Register("test:capture", hook)
		_ = cb.Raw().After("gorm:raw").Register("test:capture", hook)
		if db.read == db.gorm {
			break
		}
	}
}
