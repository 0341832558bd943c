package main

import (
	"fmt"
	"os"
)

// writePrivateFile writes data to path readable by its owner only (0600),
// also when a file of that name was there with a looser mode: os.WriteFile
// keeps an existing file's mode. The mode is set before anything is
// written, so the data is never readable by others.
func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("make %s readable by its owner only: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
