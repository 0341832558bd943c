package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// takeOne reads the one row q selects; what names it in errors, and a
// missing row is ErrNotFound.
func takeOne[T any](q *gorm.DB, what string) (*T, error) {
	var row T
	err := q.Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	return &row, nil
}
