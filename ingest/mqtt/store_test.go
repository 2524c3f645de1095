package mqtt

import (
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func TestSessionStoreKeepsAllButReceivedQoS1Publishes(t *testing.T) {
	s := newSessionStore()
	s.Open()
	defer s.Close()
	pub := func(qos byte) packets.ControlPacket {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.Qos = qos
		return p
	}
	s.Put("i.1", pub(1)) // received QoS 1: not kept
	s.Put("i.2", pub(2)) // received QoS 2: kept until PUBREL
	s.Put("o.3", pub(1)) // our own publish: kept until PUBACK
	if got := s.Get("i.1"); got != nil {
		t.Errorf("received QoS 1 publish kept")
	}
	for _, k := range []string{"i.2", "o.3"} {
		if s.Get(k) == nil {
			t.Errorf("%s not kept", k)
		}
	}
	if n := len(s.All()); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
	s.Del("i.2")
	s.Del("o.3")
	if n := len(s.All()); n != 0 {
		t.Errorf("%d entries after Del, want 0", n)
	}
}
