//go:build !linux

package wal

import "errors"

// Elsewhere the read buffer lives on Go's heap.
func mapAnon(int) ([]byte, error) { return nil, errors.ErrUnsupported }
func releasePages([]byte) error   { return errors.ErrUnsupported }
func unmap([]byte) error          { return nil }
