package models

import "testing"

func TestStatementShape(t *testing.T) {
	tests := []struct{ sql, want string }{
		{"SELECT * FROM `members` WHERE external_id = 'alice'", "SELECT * FROM `members`"},
		{"UPDATE `members` SET `karma`=5 WHERE id = 1", "UPDATE `members`"},
		{"INSERT INTO members (external_id, name) VALUES ('bob', 'Bob Smith')", "INSERT INTO members"},
		{"INSERT INTO events (at) SELECT value->>0 FROM json_each(jsonb('[[\"x\"]]'))", "INSERT INTO events"},
	}
	for _, tt := range tests {
		if got := statementShape(tt.sql); got != tt.want {
			t.Errorf("statementShape(%q) = %q, want %q", tt.sql, got, tt.want)
		}
	}
}
