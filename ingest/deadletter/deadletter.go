// Package deadletter records refused input so that an operator can see what
// a station sent and why it was refused: one JSON object per line with the
// time, the reason, the topic (or peer) and the raw payload in base64.
package deadletter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Record is one line of the dead-letter file.
type Record struct {
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason"`
	Topic   string    `json:"topic,omitempty"`
	Station string    `json:"station,omitempty"`
	Param   string    `json:"param,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Payload string    `json:"payload"` // base64 of the raw bytes
}

// File appends records to a JSON-lines file, rotating it to <path>.1 when it
// exceeds maxBytes so that a flood of bad input cannot fill the disk.
type File struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	f        *os.File // nil after a failed rotation: reopened at the next Write
	size     int64
	closed   bool
}

// Open opens (creating) the file at path. maxBytes <= 0 means 64 MiB.
func Open(path string, maxBytes int64) (*File, error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	d := &File{path: path, maxBytes: maxBytes}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *File) open() error {
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat dead-letter file: %w", err)
	}
	d.f, d.size = f, st.Size()
	return nil
}

// Write appends one record; payload is the raw input.
func (d *File) Write(r Record, payload []byte) error {
	r.Payload = base64.StdEncoding.EncodeToString(payload)
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	line = append(line, '\n')
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("dead-letter file closed")
	}
	if d.f != nil && d.size+int64(len(line)) > d.maxBytes && d.size > 0 {
		d.f.Close()
		d.f = nil
		// Not rotated (the rename failed): write on in the file as it is,
		// rather than lose records; the next record tries again.
		_ = os.Rename(d.path, d.path+".1")
	}
	if d.f == nil {
		// After a failed rotation or reopen: try again with each record.
		if err := d.open(); err != nil {
			return err
		}
	}
	n, err := d.f.Write(line)
	d.size += int64(n)
	if err != nil {
		return fmt.Errorf("write dead letter: %w", err)
	}
	return nil
}

// Close closes the file.
func (d *File) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
