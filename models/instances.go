package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Instances: every running karmagate process registers (Heartbeat) and
// beats every second or so, in the database's clock. Work a process holds
// (a claimed action or update, the poller lease) is free for others as soon
// as its heart has stopped for InstanceStale, or at once when it is marked
// dead (MarkDead: a process of the same host whose pid is gone), instead of
// when its lease runs out. An owner that never registered (an older
// version, a test) is judged by its leases alone.

// InstanceStale is how long a heart may stay silent before its process
// counts as gone.
const InstanceStale = 5 * time.Second

// Instance is one registered process.
type Instance struct {
	Owner       string `gorm:"primaryKey"`
	Host        string
	PID         int `gorm:"column:pid"`
	Version     string
	StartedMs   int64
	HeartbeatMs int64
}

// TableName is the instances table.
func (Instance) TableName() string { return "instances" }

// InstanceView is an instance as the API shows it.
type InstanceView struct {
	Owner     string    `json:"owner"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	Heartbeat time.Time `json:"heartbeat_at"`
	Alive     bool      `json:"alive"`
}

// dbNowMs is an SQL expression for the database's clock in milliseconds
// since the epoch: every host compares heartbeats with the same clock.
func (s *Store) dbNowMs() string {
	if s.db.dialect == SQLite {
		return "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"
	}
	return "CAST(ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000) AS SIGNED)"
}

// deadOwners is a subquery of the owners whose heart stopped: for
// `lease_owner IN (…)` conditions.
func (s *Store) deadOwners() string {
	return fmt.Sprintf("SELECT owner FROM instances WHERE heartbeat_ms < %s - %d", s.dbNowMs(), InstanceStale.Milliseconds())
}

// DBTime is the database's clock now.
func (s *Store) DBTime(ctx context.Context) (time.Time, error) {
	var ms int64
	if err := s.db.gorm.WithContext(ctx).Raw("SELECT " + s.dbNowMs()).Scan(&ms).Error; err != nil {
		return time.Time{}, fmt.Errorf("read the database's clock: %w", err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Heartbeat registers in (its Owner, Host, PID, Version) the first time
// and records, each time, that it is alive, at the database's time.
func (s *Store) Heartbeat(ctx context.Context, in Instance) error {
	now := s.dbNowMs()
	var q string
	if s.db.dialect == SQLite {
		q = "INSERT INTO instances (owner, host, pid, version, started_ms, heartbeat_ms) VALUES (?, ?, ?, ?, " + now + ", " + now + ") " +
			"ON CONFLICT (owner) DO UPDATE SET heartbeat_ms = " + now
	} else {
		q = "INSERT INTO instances (owner, host, pid, version, started_ms, heartbeat_ms) VALUES (?, ?, ?, ?, " + now + ", " + now + ") " +
			"ON DUPLICATE KEY UPDATE heartbeat_ms = " + now
	}
	if err := s.db.gorm.WithContext(ctx).Exec(q, in.Owner, in.Host, in.PID, in.Version).Error; err != nil {
		return fmt.Errorf("heartbeat of %s: %w", in.Owner, err)
	}
	return nil
}

// MarkDead records that owner's process is gone (its pid no longer exists
// on its host): what it held is free at once.
func (s *Store) MarkDead(ctx context.Context, owner string) error {
	if err := s.db.gorm.WithContext(ctx).Model(&Instance{}).Where("owner = ?", owner).Update("heartbeat_ms", 0).Error; err != nil {
		return fmt.Errorf("mark %s dead: %w", owner, err)
	}
	return nil
}

// RemoveInstance deletes owner's registration (a clean shutdown, after it
// released what it held), and those of processes gone for a day.
func (s *Store) RemoveInstance(ctx context.Context, owner string) error {
	err := s.db.gorm.WithContext(ctx).
		Where("owner = ? OR heartbeat_ms < "+s.dbNowMs()+" - ?", owner, (24 * time.Hour).Milliseconds()).
		Delete(&Instance{}).Error
	if err != nil {
		return fmt.Errorf("remove instance %s: %w", owner, err)
	}
	return nil
}

// Instances lists the registered processes, the living first, with
// whether each is alive (its heart beat within InstanceStale).
func (s *Store) Instances(ctx context.Context) ([]InstanceView, error) {
	var rows []struct {
		Instance
		Alive bool
	}
	err := s.db.read.WithContext(ctx).Model(&Instance{}).
		Select(fmt.Sprintf("*, heartbeat_ms >= %s - %d AS alive", s.dbNowMs(), InstanceStale.Milliseconds())).
		Order("alive DESC, started_ms DESC").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]InstanceView, len(rows))
	for i, r := range rows {
		out[i] = InstanceView{Owner: r.Owner, Host: r.Host, PID: r.PID, Version: r.Version,
			StartedAt: time.UnixMilli(r.StartedMs).UTC(), Heartbeat: time.UnixMilli(r.HeartbeatMs).UTC(), Alive: r.Alive}
	}
	return out, nil
}

// ownerDead reports whether owner is a registered process whose heart
// stopped (inside a transaction).
func (s *Store) ownerDead(tx *gorm.DB, owner string) (bool, error) {
	var n int64
	err := tx.Model(&Instance{}).Where("owner = ? AND heartbeat_ms < "+s.dbNowMs()+" - ?", owner, InstanceStale.Milliseconds()).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("is %s alive: %w", owner, err)
	}
	return n > 0, nil
}
