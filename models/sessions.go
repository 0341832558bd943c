package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DashboardSession is one signed-in dashboard admin. The browser's cookie
// carries a random token; the row keeps only a keyed hash of it, so that
// whoever reads the database cannot sign in with what it holds.
type DashboardSession struct {
	ID int64 `gorm:"primaryKey"`
	// TokenHash names the session: the dashboard's keyed hash of the
	// cookie's token, hex.
	TokenHash string
	UserName  string
	// Credential fingerprints the key or password hash the admin signed in
	// with: when it has changed, the session is no longer valid.
	Credential string
	Remote     string // the client's address at sign-in
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// TableName is the dashboard_sessions table.
func (DashboardSession) TableName() string { return "dashboard_sessions" }

// CreateDashboardSession records a new session, and forgets those that
// expired before it began.
func (s *Store) CreateDashboardSession(ctx context.Context, sess *DashboardSession) error {
	sess.CreatedAt = sess.CreatedAt.UTC().Truncate(time.Microsecond)
	sess.ExpiresAt = sess.ExpiresAt.UTC().Truncate(time.Microsecond)
	return s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at <= ?", sess.CreatedAt).Delete(&DashboardSession{}).Error; err != nil {
			return fmt.Errorf("delete expired dashboard sessions: %w", err)
		}
		if err := tx.Create(sess).Error; err != nil {
			return fmt.Errorf("record dashboard session: %w", err)
		}
		return nil
	})
}

// FindDashboardSession returns the session a token hash names, expired or
// not; ErrNotFound when there is none.
func (s *Store) FindDashboardSession(ctx context.Context, tokenHash string) (*DashboardSession, error) {
	var sess DashboardSession
	err := s.db.read.WithContext(ctx).Where("token_hash = ?", tokenHash).Take(&sess).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, fmt.Errorf("dashboard session: %w", ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("find dashboard session: %w", err)
	}
	return &sess, nil
}

// DeleteDashboardSession ends one session; ending one that is gone is no
// error.
func (s *Store) DeleteDashboardSession(ctx context.Context, tokenHash string) error {
	if err := s.db.gorm.WithContext(ctx).Where("token_hash = ?", tokenHash).Delete(&DashboardSession{}).Error; err != nil {
		return fmt.Errorf("delete dashboard session: %w", err)
	}
	return nil
}

// DeleteDashboardSessions ends every session of user and says how many
// there were.
func (s *Store) DeleteDashboardSessions(ctx context.Context, user string) (int64, error) {
	res := s.db.gorm.WithContext(ctx).Where("user_name = ?", user).Delete(&DashboardSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete %s's dashboard sessions: %w", user, res.Error)
	}
	return res.RowsAffected, nil
}

// PruneDashboardSessions ends the sessions that expired by now, and those
// whose user is not in valid or signed in with another credential than
// valid names for them (a password changed, an admin removed). It says how
// many it ended.
func (s *Store) PruneDashboardSessions(ctx context.Context, now time.Time, valid map[string]string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		n = 0
		res := tx.Where("expires_at <= ?", now.UTC()).Delete(&DashboardSession{})
		if res.Error != nil {
			return fmt.Errorf("delete expired dashboard sessions: %w", res.Error)
		}
		n += res.RowsAffected
		var held []struct{ UserName, Credential string }
		if err := tx.Model(&DashboardSession{}).Distinct("user_name", "credential").Scan(&held).Error; err != nil {
			return fmt.Errorf("list dashboard sessions: %w", err)
		}
		for _, h := range held {
			if cred, ok := valid[h.UserName]; ok && cred == h.Credential {
				continue
			}
			res := tx.Where("user_name = ? AND credential = ?", h.UserName, h.Credential).Delete(&DashboardSession{})
			if res.Error != nil {
				return fmt.Errorf("delete stale dashboard sessions: %w", res.Error)
			}
			n += res.RowsAffected
		}
		return nil
	})
	return n, err
}
