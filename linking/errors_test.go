package linking_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/karmagate/karmagate/linking"
)

func TestError_Is(t *testing.T) {
	detailed := &linking.Error{Code: linking.CodeExpired, Message: "link token expired at 10:15"}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
		code   linking.Code
	}{
		{"sentinel", linking.ErrUsed, linking.ErrUsed, true, linking.CodeUsed},
		{"wrapped", fmt.Errorf("start: %w", linking.ErrUsed), linking.ErrUsed, true, linking.CodeUsed},
		{"detailed matches its code", detailed, linking.ErrExpired, true, linking.CodeExpired},
		{"other code", linking.ErrUsed, linking.ErrExpired, false, linking.CodeUsed},
		{"plain error", errDisk, linking.ErrUsed, false, ""},
		{"joined", errors.Join(errDisk, linking.ErrForged), linking.ErrForged, true, linking.CodeForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v; want %v", tt.err, tt.target, got, tt.want)
			}
			if got := linking.CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf(%v) = %q; want %q", tt.err, got, tt.code)
			}
		})
	}
}
