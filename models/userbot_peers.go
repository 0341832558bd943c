package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Peers a userbot account has seen, with the access hashes its calls need.

// Peer kinds.
const (
	PeerUser    = "user"
	PeerChannel = "channel"
)

// UserbotPeer is a user or supergroup an account has seen, with the access
// hash its calls need.
type UserbotPeer struct {
	UserbotID  int64  `gorm:"primaryKey;autoIncrement:false"`
	Kind       string `gorm:"primaryKey"`
	PeerID     int64  `gorm:"primaryKey;autoIncrement:false"`
	AccessHash int64
	Username   *string
	SeenAt     time.Time
}

// TableName is the userbot_peers table.
func (UserbotPeer) TableName() string { return "userbot_peers" }

// SavePeers records access hashes an account has seen (newest wins).
func (u *Userbots) SavePeers(ctx context.Context, peers []UserbotPeer) error {
	if len(peers) == 0 {
		return nil
	}
	now := u.clock()
	for i := range peers {
		peers[i].SeenAt = now
	}
	return chunks(peers, 200, func(part []UserbotPeer) error {
		err := u.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "userbot_id"}, {Name: "kind"}, {Name: "peer_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"access_hash", "username", "seen_at"}),
		}).Create(&part).Error
		if err != nil {
			return fmt.Errorf("record peers: %w", err)
		}
		return nil
	})
}

// Peer returns what an account knows of a user or supergroup.
func (u *Userbots) Peer(ctx context.Context, id int64, kind string, peerID int64) (*UserbotPeer, error) {
	return takeOne[UserbotPeer](u.db.read.WithContext(ctx).Where("userbot_id = ? AND kind = ? AND peer_id = ?", id, kind, peerID),
		fmt.Sprintf("%s %d of userbot %d", kind, peerID, id))
}

// PeerHolders returns the accounts that know a user or supergroup.
func (u *Userbots) PeerHolders(ctx context.Context, kind string, peerID int64) ([]UserbotPeer, error) {
	var out []UserbotPeer
	if err := u.db.read.WithContext(ctx).Where("kind = ? AND peer_id = ?", kind, peerID).Order("userbot_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load peers: %w", err)
	}
	return out, nil
}

// ForgetPeer drops what an account knew of a peer (it left the group).
func (u *Userbots) ForgetPeer(ctx context.Context, id int64, kind string, peerID int64) error {
	if err := u.db.gorm.WithContext(ctx).Where("userbot_id = ? AND kind = ? AND peer_id = ?", id, kind, peerID).Delete(&UserbotPeer{}).Error; err != nil {
		return fmt.Errorf("forget peer: %w", err)
	}
	return nil
}
