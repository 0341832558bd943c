package models

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/karmagate/karmagate/gate"
)

// Member is a website member as stored.
type Member struct {
	ID         int64  `gorm:"primaryKey"`
	ExternalID string `gorm:"column:external_id"`
	Karma      int64
	GroupList  string `gorm:"column:group_list"` // sorted, comma-separated
	Name       *string
	Phone      *string
	Username   *string
	TgUserID   *int64  `gorm:"column:tg_user_id"`
	TgUsername *string `gorm:"column:tg_username"`
	LinkedAt   *time.Time
	// LanguageCode is the Telegram client's language (IETF tag), for the
	// texts the bot sends.
	LanguageCode *string `gorm:"column:language_code"`
	// UnreachableAt is when the bot found it cannot message the member (they
	// blocked it, or never started it); nil when it can.
	UnreachableAt *time.Time `gorm:"column:unreachable_at"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the members table.
func (Member) TableName() string { return "members" }

// Groups returns the member's groups, sorted.
func (m *Member) Groups() []string {
	if m.GroupList == "" {
		return []string{}
	}
	return strings.Split(m.GroupList, ",")
}

// Linked reports whether the member has linked a Telegram account.
func (m *Member) Linked() bool { return m.TgUserID != nil }

func (m *Member) gate() gate.Member {
	return gate.Member{Karma: m.Karma, Groups: m.Groups(), Linked: m.Linked()}
}

// MemberInput is a member as the website sends it.
type MemberInput struct {
	ID       string
	Karma    int64
	Groups   []string
	Name     *string
	Phone    *string
	Username *string
}

// Limits on what a member may carry.
const (
	MaxGroups    = 64
	MaxNameRunes = 255
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	phonePattern    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	usernamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)
)

// ValidID reports whether id is a well-formed website member id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// CheckID explains what is wrong with a member id. "." and ".." are
// refused (in a URL they name other resources), and "bulk" is reserved (the
// REST API's bulk import is /api/v1/members/bulk).
func CheckID(id string) error {
	if !ValidID(id) {
		return inputErrorf("id", "%q is not a member id: use 1-64 characters of A-Z a-z 0-9 . _ -", Truncate(id, 80))
	}
	switch id {
	case ".", "..":
		return inputErrorf("id", "%q is not a member id: it must not be . or ..", id)
	case "bulk":
		return inputErrorf("id", `"bulk" is reserved: /api/v1/members/bulk is the bulk import`)
	}
	return nil
}

// Normalize validates the input against the rules and puts it in canonical
// form: groups sorted and deduplicated, username without '@', empty optional
// fields as nil.
func (in *MemberInput) Normalize(rules *gate.Rules) error {
	if err := CheckID(in.ID); err != nil {
		return err
	}
	if len(in.Groups) > MaxGroups {
		return inputErrorf("groups", "%d groups; at most %d are allowed", len(in.Groups), MaxGroups)
	}
	gs := make([]string, 0, len(in.Groups))
	for _, g := range in.Groups {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if !gate.ValidGroup(g) {
			return inputErrorf("groups", "%q is not a group name: use 1-64 characters of A-Z a-z 0-9 . _ -", Truncate(g, 80))
		}
		if rules != nil && !rules.GroupAllowed(g) {
			return inputErrorf("groups", "unknown group %q: the rules file lists %s", g, strings.Join(rules.Groups, ", "))
		}
		gs = append(gs, g)
	}
	slices.Sort(gs)
	in.Groups = slices.Compact(gs)

	in.Name = blankToNil(in.Name)
	if in.Name != nil {
		n := *in.Name
		if !utf8.ValidString(n) || strings.ContainsFunc(n, unicode.IsControl) {
			return inputErrorf("name", "must be UTF-8 text without control characters")
		}
		if c := utf8.RuneCountInString(n); c > MaxNameRunes {
			return inputErrorf("name", "is %d characters; at most %d", c, MaxNameRunes)
		}
	}
	in.Phone = blankToNil(in.Phone)
	if in.Phone != nil {
		p := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(*in.Phone)
		if !phonePattern.MatchString(p) {
			return inputErrorf("phone", "%q is not an E.164 number such as +14155550123", Truncate(*in.Phone, 40))
		}
		in.Phone = &p
	}
	in.Username = blankToNil(in.Username)
	if in.Username != nil {
		u := strings.TrimPrefix(*in.Username, "@")
		if !usernamePattern.MatchString(u) {
			return inputErrorf("username", "%q is not a Telegram username (4-32 of A-Z a-z 0-9 _, starting with a letter)", Truncate(*in.Username, 40))
		}
		in.Username = &u
	}
	return nil
}

func (in *MemberInput) groupList() string { return strings.Join(in.Groups, ",") }

// differs reports whether applying in to m would change it.
func (in *MemberInput) differs(m *Member) bool {
	return in.Karma != m.Karma || in.groupList() != m.GroupList ||
		!eqPtr(in.Name, m.Name) || !eqPtr(in.Phone, m.Phone) || !eqPtr(in.Username, m.Username)
}

func eqPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func blankToNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}
