package lease

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Fence checks, inside the transaction of a write made under a lease,
// that the lease still carries token and has not run out (the database's
// clock): else it returns an error wrapping ErrLost and the caller rolls
// back. On MariaDB it holds a shared lock on the lease's row until the
// transaction ends, so that a take-over waits for a write that passed the
// fence, and a write that comes after the take-over is refused. Call it
// before the transaction takes other locks.
func Fence(tx *gorm.DB, name string, token int64) error {
	var n int64
	q := "SELECT COUNT(*) FROM leases WHERE name = ? AND token = ? AND owner <> '' AND until_ms > " + nowMs(tx) + shareLock(tx)
	if err := tx.Raw(q, name, token).Scan(&n).Error; err != nil {
		return fmt.Errorf("check lease %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("lease %s token %d: another owner holds it, or it ran out: %w", name, token, ErrLost)
	}
	return nil
}

type fenceKey struct{}

// WithFence returns ctx carrying l: every write transaction run with it
// (models' inTx calls Check) is fenced by l's token, and refused once l is
// lost. Hold hands out such a context.
func WithFence(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, fenceKey{}, &l)
}

// WithoutFence returns ctx carrying no fence: for writes that must go
// through whoever holds the lease (releasing it, say).
func WithoutFence(ctx context.Context) context.Context {
	if _, ok := FenceOf(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, fenceKey{}, (*Lease)(nil))
}

// FenceOf returns the lease ctx carries, if any.
func FenceOf(ctx context.Context) (Lease, bool) {
	l, _ := ctx.Value(fenceKey{}).(*Lease)
	if l == nil {
		return Lease{}, false
	}
	return *l, true
}

// Check fences tx by the lease ctx carries (WithFence); with none, it
// does nothing.
func Check(ctx context.Context, tx *gorm.DB) error {
	l, ok := FenceOf(ctx)
	if !ok {
		return nil
	}
	return Fence(tx, l.Name, l.Token)
}
