package mqtt

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
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

// TestCoalescingReaderWaitsOnlyAfterShortReads: every byte arrives in
// order either way; a trickle of small messages makes the reader wait
// before each next read, a backlog (full reads) never does.
func TestCoalescingReaderWaitsOnlyAfterShortReads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		chunk     int
		wantWaits bool
	}{
		{"trickle of 250-byte messages", 250, true},
		{"backlog in 16 KiB reads", 16 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			waits := 0
			r := &coalescingReader{Conn: a, sleep: func(time.Duration) { waits++ }}
			var want bytes.Buffer
			go func() {
				for i := 0; i < 200; i++ {
					p := bytes.Repeat([]byte{byte(i)}, tc.chunk)
					want.Write(p)
					b.Write(p)
				}
				b.Close()
			}()
			// As bufio fills its 64 KiB buffer.
			var got []byte
			buf := make([]byte, 64<<10)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("read %d bytes, want %d, or out of order", len(got), want.Len())
			}
			// The read that returns io.EOF follows the last full one
			// (a short read, 0 bytes, is what ends a backlog too).
			if tc.wantWaits && waits < 150 || !tc.wantWaits && waits > 1 {
				t.Errorf("%d waits over 200 writes of %d bytes", waits, tc.chunk)
			}
		})
	}
}

// TestPubackWritesTheFourBytePacketAndNothingAfterClose: envpipe's own
// PUBACKs (instead of paho's) are MQTT 3.1.1 PUBACK packets with the
// message id big-endian, interleaved whole with paho's packets; an ack
// for a closed connection is dropped.
func TestPubackWritesTheFourBytePacketAndNothingAfterClose(t *testing.T) {
	a, b := net.Pipe()
	bc := newBufferedConn(a)
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&got, b)
	}()
	bc.puback(1)
	bc.Write([]byte{0xc0, 0x00}) // paho's PINGREQ between two acks
	bc.puback(0xbeef)
	bc.Close()
	bc.puback(7)
	<-done
	want := []byte{0x40, 0x02, 0x00, 0x01, 0xc0, 0x00, 0x40, 0x02, 0xbe, 0xef}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("peer received % x, want % x", got.Bytes(), want)
	}
}
