package mqtt

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"runtime"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// paho reads each packet with several small reads straight from the socket
// and writes each PUBACK with its own write: at thousands of messages a
// second those syscalls cost more than everything envpipe does with a
// message. bufferedConn batches both: reads go through a bufio.Reader, and
// writes are appended to a buffer that one goroutine flushes while paho
// keeps writing, so a burst of acks released by one WAL group commit leaves
// in a few writes instead of one per ack. Order is kept; nothing waits on a
// timer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	pending []byte
	spare   []byte
	werr    error
	closing bool // Close has begun: late acks are dropped
	kick    chan struct{}
	done    chan struct{}
	flushed chan struct{} // closed when the flusher has exited
	once    sync.Once
}

// maxPending bounds the write buffer; beyond it Write waits for the flusher,
// which is how a plain socket write blocks when the peer does not read.
const maxPending = 1 << 20

// writeTimeout bounds one flush, like paho's own write timeout would.
const writeTimeout = 30 * time.Second

func newBufferedConn(c net.Conn) *bufferedConn {
	b := &bufferedConn{Conn: c, r: bufio.NewReaderSize(&coalescingReader{Conn: c}, 64<<10),
		kick: make(chan struct{}, 1), done: make(chan struct{}), flushed: make(chan struct{})}
	go b.flusher()
	return b
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *bufferedConn) Write(p []byte) (int, error) {
	for {
		b.mu.Lock()
		if b.werr != nil {
			err := b.werr
			b.mu.Unlock()
			return 0, err
		}
		if len(b.pending) < maxPending {
			b.pending = append(b.pending, p...)
			b.mu.Unlock()
			break
		}
		b.mu.Unlock()
		select {
		case <-b.flushed:
			return 0, net.ErrClosed
		case <-time.After(time.Millisecond):
		}
	}
	b.wake()
	return len(p), nil
}

// wake tells the flusher there is something to write.
func (b *bufferedConn) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// coalescingReader waits briefly before a read that follows a short one.
// When envpipe keeps up with the broker, every message wakes the reader on
// its own: a poll, a read syscall and a round through the scheduler for
// 250 bytes, which cost more CPU than decoding and storing the reading. A
// short wait first lets the messages of the next fraction of a millisecond
// arrive and be read in one call. In the shared harness (200 000 readings
// as fast as the box allows, three alternating pairs, 2026-11-28) envpipe
// spent 5–16 % less CPU per reading with it; at a steady 10 000/s `make
// bench` measured no difference (2 ms waits, two pairs). Under a backlog
// reads come back full and never wait.
type coalescingReader struct {
	net.Conn
	short bool                // the last read returned less than coalesceBelow and did not fill p
	sleep func(time.Duration) // time.Sleep; tests count the waits
}

const (
	coalesceBelow = 4 << 10
	coalesceWait  = 500 * time.Microsecond
)

func (r *coalescingReader) Read(p []byte) (int, error) {
	if r.short {
		if r.sleep != nil {
			r.sleep(coalesceWait)
		} else {
			time.Sleep(coalesceWait)
		}
	}
	n, err := r.Conn.Read(p)
	// A read that filled p says nothing about the socket: more may wait.
	r.short = n < coalesceBelow && n < len(p)
	return n, err
}

// puback queues the PUBACK of the QoS 1 message id. envpipe sends its acks
// here itself instead of through paho's message.Ack: that path allocates a
// packet, a store key (fmt.Sprintf) and a bytes.Buffer per ack, eight
// objects, and passes each through two goroutines. A PUBACK is four bytes
// and needs none of it. Under the shared harness (2026-11-28) the process
// allocated about 16 objects per message instead of 26; its CPU per
// reading fell by 4 % in four alternating pairs, and by nothing this noisy
// machine could resolve in five more. The ack goes to the connection the
// message came in on, as paho's does: after a reconnect an ack for the old
// connection is dropped and the broker redelivers the message.
func (b *bufferedConn) puback(id uint16) {
	b.mu.Lock()
	if b.werr != nil || b.closing {
		b.mu.Unlock()
		return
	}
	b.pending = append(b.pending, 0x40, 0x02, byte(id>>8), byte(id))
	b.mu.Unlock()
	b.wake()
}

// SetWriteDeadline is applied per flush instead (see flusher): paho sets a
// deadline around each packet, which means nothing for a buffered write.
func (b *bufferedConn) SetWriteDeadline(time.Time) error { return nil }

func (b *bufferedConn) flusher() {
	defer close(b.flushed)
	for {
		select {
		case <-b.kick:
		case <-b.done:
			return
		}
		// Acks come in runs (a WAL group commit releases hundreds): let
		// the goroutines queueing them run first, so one write carries
		// more of them.
		runtime.Gosched()
		if !b.flushOnce() {
			return
		}
	}
}

// flushOnce writes what is pending; false after a write error.
func (b *bufferedConn) flushOnce() bool {
	b.mu.Lock()
	buf := b.pending
	if len(buf) == 0 {
		b.mu.Unlock()
		return true
	}
	// Swap buffers: pending and spare never share an array.
	b.pending, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	_ = b.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := b.Conn.Write(buf)
	b.mu.Lock()
	b.spare = buf[:0]
	if err != nil && b.werr == nil {
		b.werr = err
	}
	b.mu.Unlock()
	if err != nil {
		// Fail the reader too, so paho notices and reconnects.
		b.Conn.Close()
		return false
	}
	return true
}

// Close flushes what paho wrote last (its DISCONNECT) and closes.
func (b *bufferedConn) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closing = true
		b.mu.Unlock()
		close(b.done)
		<-b.flushed
		b.flushOnce()
	})
	return b.Conn.Close()
}

// openConnection dials tcp:// and ssl:// brokers itself to wrap the
// connection; other schemes (websockets, unix) return errUnsupported and
// New leaves paho's own dialer in place for them.
func openConnection(uri *url.URL, o paho.ClientOptions) (*bufferedConn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err := d.Dial("tcp", uri.Host)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	case "ssl", "tls", "mqtts", "tcps", "mqtt+ssl":
		tc := o.TLSConfig
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			tc = tc.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = uri.Hostname()
		}
		c, err := tls.DialWithDialer(d, "tcp", uri.Host, tc)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	}
	return nil, errUnsupported
}

var errUnsupported = errors.New("scheme not dialed by envpipe")

// buffered reports whether envpipe dials the broker URL itself.
func buffered(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	_, err = openConnectionScheme(u.Scheme)
	return err == nil
}

func openConnectionScheme(s string) (string, error) {
	switch s {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "mqtt+ssl":
		return s, nil
	}
	return "", errUnsupported
}
