package testenv

// A minimal MQTT 3.1.1 client over a raw connection, enough to check the
// test broker without a Go MQTT dependency: CONNECT, SUBSCRIBE, PUBLISH
// (QoS 0/1, acknowledging what it receives), DISCONNECT.

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

type mqttClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	id   uint16
	// noAck: do not acknowledge received QoS 1 messages
	noAck bool
	// publishes that arrived while waiting for something else
	pending []mqttMessage
}

type mqttMessage struct {
	Topic   string
	Payload string
	QoS     byte
	Dup     bool
}

// mqttDial connects to addr (over TLS if cfg is not nil).
func mqttDial(t testing.TB, addr string, cfg *tls.Config) (*mqttClient, error) {
	t.Helper()
	var conn net.Conn
	var err error
	d := &net.Dialer{Timeout: 5 * time.Second}
	if cfg != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &mqttClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	return c, nil
}

// mqttConnect dials and sends CONNECT; it returns the client, the CONNACK
// return code (0 = accepted) and whether the broker had a session.
func mqttConnect(t testing.TB, addr string, cfg *tls.Config, clientID, user, pass string, clean bool) (*mqttClient, byte, bool) {
	t.Helper()
	c, err := mqttDial(t, addr, cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	rc, sp, err := c.connect(clientID, user, pass, clean)
	if err != nil {
		t.Fatalf("CONNECT to %s as %q: %v", addr, user, err)
	}
	return c, rc, sp
}

// mustConnect is mqttConnect that fails the test unless the broker accepts.
func mustConnect(t testing.TB, addr, clientID, user, pass string, clean bool) *mqttClient {
	t.Helper()
	c, rc, _ := mqttConnect(t, addr, nil, clientID, user, pass, clean)
	if rc != 0 {
		t.Fatalf("CONNECT as %q refused, return code %d", user, rc)
	}
	return c
}

func mqttString(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func (c *mqttClient) send(header byte, body []byte) error {
	pkt := []byte{header}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		pkt = append(pkt, d)
		if n == 0 {
			break
		}
	}
	pkt = append(pkt, body...)
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.conn.Write(pkt)
	return err
}

func (c *mqttClient) readPacket(timeout time.Duration) (byte, []byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	h, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		d, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mult
		mult *= 128
		if d&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return h, body, nil
}

func (c *mqttClient) connect(clientID, user, pass string, clean bool) (rc byte, sessionPresent bool, err error) {
	flags := byte(0)
	if clean {
		flags |= 0x02
	}
	if user != "" {
		flags |= 0x80
	}
	if pass != "" {
		flags |= 0x40
	}
	body := append(mqttString("MQTT"), 4, flags, 0, 60) // level 4 = 3.1.1, keepalive 60 s
	body = append(body, mqttString(clientID)...)
	if user != "" {
		body = append(body, mqttString(user)...)
	}
	if pass != "" {
		body = append(body, mqttString(pass)...)
	}
	if err := c.send(0x10, body); err != nil {
		return 0, false, err
	}
	h, b, err := c.readPacket(5 * time.Second)
	if err != nil {
		return 0, false, fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if h != 0x20 || len(b) != 2 {
		return 0, false, fmt.Errorf("expected CONNACK, got packet 0x%02x %x", h, b)
	}
	return b[1], b[0]&1 == 1, nil
}

func (c *mqttClient) nextID() uint16 {
	c.id++
	if c.id == 0 {
		c.id = 1
	}
	return c.id
}

// subscribe subscribes to filter and returns the granted QoS (0x80 =
// refused).
func (c *mqttClient) subscribe(filter string, qos byte) byte {
	c.t.Helper()
	id := c.nextID()
	body := binary.BigEndian.AppendUint16(nil, id)
	body = append(body, mqttString(filter)...)
	body = append(body, qos)
	if err := c.send(0x82, body); err != nil {
		c.t.Fatalf("SUBSCRIBE %s: %v", filter, err)
	}
	for {
		h, b, err := c.readPacket(5 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for SUBACK of %s: %v", filter, err)
		}
		if h>>4 == 3 {
			c.stash(h, b)
			continue
		}
		if h != 0x90 || len(b) != 3 || binary.BigEndian.Uint16(b) != id {
			c.t.Fatalf("expected SUBACK %d, got packet 0x%02x %x", id, h, b)
		}
		return b[2]
	}
}

// publish publishes payload; with QoS 1 it waits for the PUBACK.
func (c *mqttClient) publish(topic, payload string, qos byte) {
	c.t.Helper()
	body := mqttString(topic)
	var id uint16
	if qos > 0 {
		id = c.nextID()
		body = binary.BigEndian.AppendUint16(body, id)
	}
	body = append(body, payload...)
	if err := c.send(0x30|qos<<1, body); err != nil {
		c.t.Fatalf("PUBLISH %s: %v", topic, err)
	}
	if qos == 0 {
		return
	}
	for {
		h, b, err := c.readPacket(5 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for PUBACK of %s: %v", topic, err)
		}
		if h>>4 == 3 {
			c.stash(h, b)
			continue
		}
		if h != 0x40 || len(b) < 2 || binary.BigEndian.Uint16(b) != id {
			c.t.Fatalf("expected PUBACK %d, got packet 0x%02x %x", id, h, b)
		}
		return
	}
}

// stash parses an incoming PUBLISH, acknowledges it and keeps it for
// receive.
func (c *mqttClient) stash(h byte, b []byte) {
	c.t.Helper()
	m, err := c.parsePublish(h, b)
	if err != nil {
		c.t.Fatal(err)
	}
	c.pending = append(c.pending, m)
}

func (c *mqttClient) parsePublish(h byte, b []byte) (mqttMessage, error) {
	if len(b) < 2 {
		return mqttMessage{}, errors.New("short PUBLISH")
	}
	tl := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+tl {
		return mqttMessage{}, errors.New("short PUBLISH topic")
	}
	m := mqttMessage{Topic: string(b[2 : 2+tl]), QoS: (h >> 1) & 3, Dup: h&0x08 != 0}
	rest := b[2+tl:]
	if m.QoS > 0 {
		if len(rest) < 2 {
			return m, errors.New("PUBLISH without packet id")
		}
		id := rest[:2]
		rest = rest[2:]
		if m.QoS == 1 && !c.noAck {
			if err := c.send(0x40, id); err != nil {
				return m, err
			}
		}
	}
	m.Payload = string(rest)
	return m, nil
}

// receive returns the next PUBLISH, or ok=false when none arrives within
// timeout.
func (c *mqttClient) receive(timeout time.Duration) (mqttMessage, bool) {
	c.t.Helper()
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, true
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return mqttMessage{}, false
		}
		h, b, err := c.readPacket(left)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return mqttMessage{}, false
		}
		if err != nil {
			c.t.Fatalf("waiting for PUBLISH: %v", err)
		}
		if h>>4 != 3 {
			continue // PINGRESP and the like
		}
		m, err := c.parsePublish(h, b)
		if err != nil {
			c.t.Fatal(err)
		}
		return m, true
	}
}

func (c *mqttClient) disconnect() {
	_ = c.send(0xe0, nil)
	c.conn.Close()
}
