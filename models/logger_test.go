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

func TestIsolationVariableFor(t *testing.T) {
	tests := []struct {
		version string
		want    string
		wantErr bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", "tx_isolation", false},
		{"11.0.2-MariaDB", "tx_isolation", false},
		{"11.1.0-MariaDB", "transaction_isolation", false},
		{"11.4.2-MariaDB-log", "transaction_isolation", false},
		{"8.0.36", "transaction_isolation", false},
		{"MariaDB", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			got, err := isolationVariableFor(tt.version)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("isolationVariableFor(%q) = %q, %v; want %q (error %v)", tt.version, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
