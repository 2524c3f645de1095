//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir only creates the lock file where flock is unavailable: exclusive
// use of the directory is then the deployment's responsibility.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("wal: open lock file %s: %w", path, err)
	}
	return f, nil
}
