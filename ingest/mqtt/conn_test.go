package mqtt

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// TestBufferedConnKeepsOrderUnderConcurrentFlushes writes many small
// packets while the flusher drains them; the peer must receive every byte
// in order (run with -race).
func TestBufferedConnKeepsOrderUnderConcurrentFlushes(t *testing.T) {
	a, b := net.Pipe()
	bc := newBufferedConn(a)
	var want bytes.Buffer
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(&got, b)
	}()
	for i := 0; i < 20000; i++ {
		p := []byte{0x40, 0x02, byte(i >> 8), byte(i)}
		want.Write(p)
		if _, err := bc.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	bc.Close()
	wg.Wait()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("received %d bytes, want %d, or out of order", got.Len(), want.Len())
	}
}
