package hj212srv

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
)

// A station that sends its frames and shuts down its writing side still gets
// the answers to the frames whose readings became durable.
func TestListenerAnswersAStationThatHalfCloses(t *testing.T) {
	tests := []struct {
		name   string
		frames int
		hold   time.Duration // how long the WAL holds the records; 0: durable at once
	}{
		{"one frame, durable at once", 1, 0},
		{"three frames, durable at once", 3, 0},
		{"two frames, durable after the half-close", 2, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), tt.hold > 0)
			c := dial(t, r.addr)
			for i := 1; i <= tt.frames; i++ {
				c.send(rtFrame(t, i, "pw"))
			}
			if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the WAL appends", func() bool { return r.log.count() == tt.frames })
			if tt.hold > 0 {
				time.Sleep(tt.hold)
				r.log.release()
			}
			for i := 1; i <= tt.frames; i++ {
				c.expect(hj212.CNDataResponse, qn(i), 0)
			}
			c.closed(5 * time.Second)
			waitFor(t, time.Second, "the disconnect metric", func() bool {
				return r.metric(t, "envpipe_hj212_disconnects_total", "reason", closeEOF) == 1
			})
		})
	}
}

// Junk does not keep a connection open: it does not reset the idle timeout,
// and a run of invalid frames closes the connection.
func TestListenerClosesConnectionsThatSendOnlyJunk(t *testing.T) {
	oversized := append([]byte("##"), bytes.Repeat([]byte("x"), 1100)...)
	short := []byte("##0001X0000\r\n")
	tests := []struct {
		name   string
		junk   []byte
		every  time.Duration // one junk frame this often
		reason string        // why the connection closes
	}{
		{"an oversized frame every 300ms", oversized, 300 * time.Millisecond, closeIdle},
		{"a short framed junk every 300ms", short, 300 * time.Millisecond, closeIdle},
		{"a run of short framed junk", short, 0, closeInvalid},
		{"a run of oversized frames", oversized, 0, closeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.IdleTimeout = time.Second
			cfg.MaxFrameBytes = 1024
			r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
			c := dial(t, r.addr)
			start := time.Now()
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				for time.Since(start) < 3*time.Second {
					if _, err := c.nc.Write(tt.junk); err != nil {
						return
					}
					time.Sleep(tt.every)
				}
			}()
			waitFor(t, 3*time.Second, "the connection to close", func() bool {
				return r.metric(t, "envpipe_hj212_disconnects_total", "reason", tt.reason) == 1
			})
			<-closed
		})
	}
}

// Valid frames keep a connection open past the idle timeout, and invalid
// ones between them do not add up to a run.
func TestListenerKeepsAStationThatSendsValidFrames(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = time.Second
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	for i := 1; i <= 8; i++ {
		for range maxInvalidFrames - 1 {
			c.send([]byte("##0001X0000\r\n"))
		}
		c.send(rtFrame(t, i, "pw"))
		c.expect(hj212.CNDataResponse, qn(i), 0)
		time.Sleep(300 * time.Millisecond)
	}
	if n := r.l.Connections(); n != 1 {
		t.Fatalf("%d connections after 2.4s of valid frames, want 1", n)
	}
}

// Frames that end in LF alone (or CR LF) are cut and ingested over TCP.
func TestListenerTakesFramesEndingInLFAlone(t *testing.T) {
	tests := []struct {
		name string
		end  string
	}{
		{"CR LF", "\r\n"},
		{"LF alone", "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
			c := dial(t, r.addr)
			for i := 1; i <= 3; i++ {
				f := rtFrame(t, i, "pw")
				c.send(append(f[:len(f)-2:len(f)-2], tt.end...))
			}
			for i := 1; i <= 3; i++ {
				c.expect(hj212.CNDataResponse, qn(i), 0)
			}
			if n := r.log.count(); n != 3 {
				t.Errorf("%d WAL records, want 3", n)
			}
		})
	}
}
