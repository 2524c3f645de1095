package mqtt

import (
	"strings"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// sessionStore is paho's memory store without the copies of received QoS 1
// PUBLISH packets. paho keeps each one until its PUBACK is sent, but never
// uses them: after a reconnect it discards inbound PUBLISH packets found in
// the store, and the broker redelivers every unacknowledged message of the
// persistent session. Skipping them saves a lock, a map insert and delete
// per message and the memory of up to the broker's in-flight window of
// payloads. Everything else (our outbound packets, QoS 2 state) is kept.
type sessionStore struct {
	paho.Store
	inbound atomic.Int64 // inbound entries passed on, so Del can skip the lock when none are
}

func newSessionStore() *sessionStore { return &sessionStore{Store: paho.NewMemoryStore()} }

func (s *sessionStore) Put(key string, m packets.ControlPacket) {
	if strings.HasPrefix(key, "i.") {
		if p, ok := m.(*packets.PublishPacket); ok && p.Qos == 1 {
			return
		}
		s.inbound.Add(1)
	}
	s.Store.Put(key, m)
}

func (s *sessionStore) Del(key string) {
	if strings.HasPrefix(key, "i.") {
		if s.inbound.Load() == 0 {
			return
		}
		s.inbound.Add(-1)
	}
	s.Store.Del(key)
}

func (s *sessionStore) Reset() {
	s.inbound.Store(0)
	s.Store.Reset()
}
