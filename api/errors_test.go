package api

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/karmagate/karmagate/models"
)

// TestServer_WriteErrorMapsEveryStoreError walks every exported error
// sentinel of models, read from its source so that a new one cannot be
// missed, and checks that none reaches a client as a 500.
func TestServer_WriteErrorMapsEveryStoreError(t *testing.T) {
	sentinels := map[string]error{
		"ErrNotFound":      models.ErrNotFound,
		"ErrAlreadyLinked": models.ErrAlreadyLinked,
		"ErrChatBound":     models.ErrChatBound,
		"ErrNotBound":      models.ErrNotBound,
		"ErrLeaseLost":     models.ErrLeaseLost,
		"ErrBusy":          models.ErrBusy,
		"ErrUserbotExists": models.ErrUserbotExists,
		"ErrBindCode":      models.ErrBindCode,
		"ErrLoginUnknown":  models.ErrLoginUnknown,
		"ErrLoginUsed":     models.ErrLoginUsed,
		"ErrLoginExpired":  models.ErrLoginExpired,
	}
	files, err := filepath.Glob("../models/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("models sources: %v %v", files, err)
	}
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if id.IsExported() && strings.HasPrefix(id.Name, "Err") {
						found = append(found, id.Name)
					}
				}
			}
		}
	}
	if len(found) < len(sentinels) {
		t.Fatalf("found %v in models, fewer than this test knows", found)
	}
	s := New(Options{WriteWait: 3 * time.Second})
	for _, name := range found {
		t.Run(name, func(t *testing.T) {
			sentinel, ok := sentinels[name]
			if !ok {
				t.Fatalf("models.%s is new: map it in writeError and add it to this test", name)
			}
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("POST", "/api/v1/members/x", nil), fmt.Errorf("some store call: %w", sentinel))
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s: %d %s %s", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if strings.Contains(rec.Body.String(), `"internal"`) || strings.Contains(rec.Body.String(), "server log") {
				t.Fatalf("%s reads as an internal error: %s", name, rec.Body)
			}
			if rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "3" {
				t.Errorf("%s: 503 with Retry-After %q", name, rec.Header().Get("Retry-After"))
			}
		})
	}
	// And what is not the store's stays a 500 that shows nothing.
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("GET", "/api/v1/chats", nil), errors.New("secret detail"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("other error: %d %s", rec.Code, rec.Body)
	}
}

// TestServer_WriteErrorDatabaseUnreachable: a database that cannot be
// reached (a restart) answers 503 with Retry-After, not a 500.
func TestServer_WriteErrorDatabaseUnreachable(t *testing.T) {
	s := New(Options{WriteWait: 3 * time.Second})
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"refused", fmt.Errorf("connect to the database: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})},
		{"connection gone bad", fmt.Errorf("load member: %w", mysql.ErrInvalidConn)},
		{"bad conn", fmt.Errorf("load member: %w", driver.ErrBadConn)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("GET", "/api/v1/members/x", nil), tc.err)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "3" || !strings.Contains(rec.Body.String(), "database-unavailable") {
				t.Fatalf("%d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
		})
	}
}
