package userbot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/karmagate/karmagate/models"
)

// storedBytes returns every byte the database stores: the SQLite files,
// or every value of every table on MySQL.
func (h *harness) storedBytes() []byte {
	h.t.Helper()
	db := h.store.DB()
	if db.Dialect() == models.SQLite {
		path := strings.TrimPrefix(h.o.spec, "sqlite:")
		var all []byte
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				h.t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	sqlDB, err := db.Gorm().DB()
	if err != nil {
		h.t.Fatal(err)
	}
	rows, err := sqlDB.Query("SHOW TABLES")
	if err != nil {
		h.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			h.t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var all bytes.Buffer
	for _, table := range tables {
		rows, err := sqlDB.Query("SELECT * FROM `" + table + "`")
		if err != nil {
			h.t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			h.t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				h.t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					all.Write(b)
				} else {
					fmt.Fprint(&all, v)
				}
				all.WriteByte(0)
			}
		}
		rows.Close()
	}
	return all.Bytes()
}

// wantNoSecrets fails if the database stores an account's auth key (raw,
// hex or base64), a login code or one of the passwords.
func (h *harness) wantNoSecrets(passwords ...string) {
	h.t.Helper()
	ctx := context.Background()
	rows, err := h.ub.ListUserbots(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	all := h.storedBytes()
	if len(all) == 0 {
		h.t.Fatal("read nothing from the database")
	}
	for _, r := range rows {
		// The scan sees the session column: a session in the clear would
		// be found.
		if !bytes.Contains(all, r.Session[len(r.Session)-64:]) {
			h.t.Fatalf("the scan does not see userbot %d's sealed session", r.ID)
		}
		raw, err := h.vault.Open(r.Session, fmt.Sprintf("userbot/%d/session", r.ID))
		if err != nil {
			h.t.Fatalf("userbot %d's session: %v", r.ID, err)
		}
		var s struct{ Data struct{ AuthKey []byte } }
		if err := json.Unmarshal(raw, &s); err != nil || len(s.Data.AuthKey) != 256 {
			h.t.Fatalf("userbot %d's session: %v", r.ID, err)
		}
		k := s.Data.AuthKey
		for name, form := range map[string][]byte{"raw": k, "prefix": k[:32], "hex": []byte(hex.EncodeToString(k)),
			"base64": []byte(base64.StdEncoding.EncodeToString(k)), "base64url": []byte(base64.URLEncoding.EncodeToString(k))} {
			if bytes.Contains(all, form) {
				h.t.Errorf("the database stores userbot %d's auth key (%s)", r.ID, name)
			}
		}
	}
	for _, p := range passwords {
		if bytes.Contains(all, []byte(p)) {
			h.t.Errorf("the database stores a password")
		}
	}
	for _, c := range h.codes {
		if regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`).Match(all) {
			h.t.Errorf("the database stores the login code %s", c)
		}
	}
}
