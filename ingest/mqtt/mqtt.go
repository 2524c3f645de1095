// Package mqtt is envpipe's MQTT source: a paho client with a persistent
// session (clean session off, stable client id), QoS 1, and auto-ack off.
// Each message becomes a pipeline.Delivery whose Ack sends the PUBACK; the
// pipeline calls Ack in arrival order once the readings are durable. A
// message never acked is redelivered by the broker on the next connection.
//
// Backpressure: the handler blocks while the pipeline's queue is full, so
// paho stops reading and the broker keeps the rest queued for the session.
package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/pipeline"
)

// Config is the `mqtt` section of envpipe.yaml.
type Config struct {
	Broker   string `yaml:"broker"`
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	// The password comes from the environment or a file, never the YAML.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`

	// DataTopic and HJ212Topic are filters with one '+' level for the station.
	DataTopic  string `yaml:"data_topic"`
	HJ212Topic string `yaml:"hj212_topic"`
	// SharedGroup, when set, subscribes as $share/<group>/<filter> so that
	// several replicas split the load.
	SharedGroup string `yaml:"shared_group"`

	KeepAlive            time.Duration `yaml:"keepalive"`
	ConnectTimeout       time.Duration `yaml:"connect_timeout"`
	MaxReconnectInterval time.Duration `yaml:"max_reconnect_interval"`
	// QueueSize bounds the messages waiting between paho and the pipeline.
	QueueSize int `yaml:"queue_size"`

	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig configures a TLS broker connection (ssl:// or tls:// URLs).
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// DefaultConfig is used where envpipe.yaml is silent.
func DefaultConfig() Config {
	return Config{
		Broker:               "tcp://127.0.0.1:1883",
		ClientID:             "envpipe",
		PasswordEnv:          "ENVPIPE_MQTT_PASSWORD",
		DataTopic:            "env/+/data",
		HJ212Topic:           "env/+/hj212",
		KeepAlive:            30 * time.Second,
		ConnectTimeout:       10 * time.Second,
		MaxReconnectInterval: 30 * time.Second,
		QueueSize:            4096,
	}
}

// Validate returns the problems of c, each naming its key.
func (c Config) Validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("mqtt.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	switch {
	case strings.HasPrefix(c.Broker, "tcp://"), strings.HasPrefix(c.Broker, "mqtt://"),
		strings.HasPrefix(c.Broker, "ssl://"), strings.HasPrefix(c.Broker, "tls://"),
		strings.HasPrefix(c.Broker, "mqtts://"), strings.HasPrefix(c.Broker, "ws://"), strings.HasPrefix(c.Broker, "wss://"):
	default:
		bad("broker", "%q must be a URL like tcp://host:1883 or ssl://host:8883", c.Broker)
	}
	if c.ClientID == "" {
		bad("client_id", "missing: a persistent session needs a stable client id")
	}
	if c.DataTopic == "" && c.HJ212Topic == "" {
		bad("data_topic", "no topic to subscribe to")
	}
	for key, f := range map[string]string{"data_topic": c.DataTopic, "hj212_topic": c.HJ212Topic} {
		if f != "" && strings.Count(f, "+") != 1 {
			bad(key, "%q must have exactly one '+' level, where the station id is", f)
		}
	}
	if strings.ContainsAny(c.SharedGroup, "/+#") {
		bad("shared_group", "%q must be a plain name", c.SharedGroup)
	}
	if c.KeepAlive < time.Second {
		bad("keepalive", "must be at least 1s")
	}
	if c.QueueSize <= 0 {
		bad("queue_size", "must be positive")
	}
	for key, f := range map[string]string{"tls.ca_file": c.TLS.CAFile, "tls.cert_file": c.TLS.CertFile,
		"tls.key_file": c.TLS.KeyFile, "password_file": c.PasswordFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", "cert_file and key_file go together")
	}
	return errs
}

func (c Config) password() (string, error) {
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("mqtt.password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if c.PasswordEnv != "" {
		return os.Getenv(c.PasswordEnv), nil
	}
	return "", nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	t := c.TLS
	if t.CAFile == "" && t.CertFile == "" && !t.InsecureSkipVerify && t.ServerName == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Metrics of the MQTT source.
type Metrics struct {
	connected prometheus.Gauge
	lost      prometheus.Counter
	connects  prometheus.Counter
}

// NewMetrics registers the source's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envpipe_mqtt_connected",
			Help: "1 while connected to the MQTT broker.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_mqtt_connection_lost_total",
			Help: "Lost MQTT connections.",
		}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_mqtt_connects_total",
			Help: "Successful MQTT connections (the first and every reconnect).",
		}),
	}
	reg.MustRegister(m.connected, m.lost, m.connects)
	return m
}

// Source subscribes and hands messages to the pipeline.
type Source struct {
	cfg       Config
	out       chan<- pipeline.Delivery
	m         *Metrics
	logger    *slog.Logger
	client    paho.Client
	connected atomic.Bool
	ctx       context.Context // the Run context, for the paho handler; set before connecting
	quiesce   chan struct{}
	quiesced  atomic.Bool
	data      filter
	hj212     filter
	// conn is the connection envpipe dialed last (nil for schemes paho
	// dials): paho reads messages from one connection at a time and opens
	// the next only after the last message of the one before was handled,
	// so in onMessage it is the connection the message came in on.
	conn atomic.Pointer[bufferedConn]
}

// New builds a source that sends deliveries to out.
func New(cfg Config, out chan<- pipeline.Delivery, m *Metrics, logger *slog.Logger) (*Source, error) {
	s := &Source{cfg: cfg, out: out, m: m, logger: logger.With("component", "mqtt"), quiesce: make(chan struct{}),
		data: newFilter(cfg.DataTopic), hj212: newFilter(cfg.HJ212Topic)}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(pw).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetStore(newSessionStore()).
		SetKeepAlive(cfg.KeepAlive).
		SetPingTimeout(cfg.KeepAlive).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		SetDefaultPublishHandler(s.onMessage).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(s.onLost).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			s.logger.Debug("reconnecting to the broker")
		})
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	if buffered(cfg.Broker) {
		o.SetCustomOpenConnectionFn(s.openConnection)
	}
	s.client = paho.NewClient(o)
	return s, nil
}

// Quiesce stops handing messages to the pipeline; messages arriving after
// it stay unacked and are redelivered on the next connection. Run still
// owns the connection, so acks for messages already handed over go out.
func (s *Source) Quiesce() {
	if s.quiesced.CompareAndSwap(false, true) {
		close(s.quiesce)
	}
}

// Connected reports whether the broker connection is up.
func (s *Source) Connected() bool { return s.connected.Load() }

// Run connects (retrying until ctx ends), keeps the subscription across
// reconnects, and disconnects when ctx ends.
func (s *Source) Run(ctx context.Context) error {
	s.ctx = ctx
	s.logger.Info("connecting to the broker", "broker", s.cfg.Broker, "client_id", s.cfg.ClientID)
	tok := s.client.Connect()
	// With ConnectRetry the token completes only once connected; wait for
	// either that or shutdown.
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to %s: %w", s.cfg.Broker, err)
		}
	case <-ctx.Done():
	}
	<-ctx.Done()
	s.client.Disconnect(250)
	s.connected.Store(false)
	s.m.connected.Set(0)
	return nil
}

func (s *Source) filters() map[string]byte {
	f := map[string]byte{}
	for _, t := range []string{s.cfg.DataTopic, s.cfg.HJ212Topic} {
		if t == "" {
			continue
		}
		if s.cfg.SharedGroup != "" {
			t = "$share/" + s.cfg.SharedGroup + "/" + t
		}
		f[t] = 1
	}
	return f
}

func (s *Source) onConnect(c paho.Client) {
	s.m.connects.Inc()
	// (Re)subscribe on every connection: harmless with a persistent session,
	// and needed when the broker lost it (no persistence, session expiry).
	filters := s.filters()
	go func() {
		// Not on paho's callback goroutine: waiting there would deadlock.
		for attempt := 1; c.IsConnectionOpen(); attempt++ {
			tok := c.SubscribeMultiple(filters, nil)
			if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
				s.connected.Store(true)
				s.m.connected.Set(1)
				s.logger.Info("connected and subscribed", "broker", s.cfg.Broker, "filters", filters)
				return
			}
			s.logger.Error("subscribe failed; retrying", "err", tok.Error(), "filters", filters, "attempt", attempt)
			select {
			case <-time.After(time.Duration(min(attempt, 30)) * time.Second):
			case <-s.ctx.Done():
				return
			}
		}
	}()
}

func (s *Source) openConnection(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	c, err := openConnection(uri, o)
	if err != nil {
		return nil, err
	}
	s.conn.Store(c)
	return c, nil
}

func (s *Source) onLost(_ paho.Client, err error) {
	s.connected.Store(false)
	s.m.connected.Set(0)
	s.m.lost.Inc()
	s.logger.Warn("broker connection lost; reconnecting", "err", err)
}

// onMessage runs on paho's goroutine, one message at a time in arrival
// order. It blocks while the pipeline queue is full.
func (s *Source) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	d := pipeline.Delivery{Topic: topic, Payload: m.Payload()}
	if c := s.conn.Load(); c != nil && m.Qos() == 1 {
		id := m.MessageID()
		d.Ack = func() { c.puback(id) } // see bufferedConn.puback
	} else {
		d.Ack = m.Ack
	}
	if st, ok := s.data.station(topic); ok {
		d.Format, d.Station = pipeline.FormatJSON, st
	} else if st, ok := s.hj212.station(topic); ok {
		d.Format, d.Station = pipeline.FormatHJ212, st
	}
	// A topic matching neither filter (a stale subscription of the session)
	// keeps an empty Format: the pipeline refuses it as bad_topic and acks
	// it, so the broker does not redeliver it forever.
	select {
	case <-s.quiesce:
		return // left unacked: redelivered on the next connection
	default:
	}
	select {
	case s.out <- d: // the queue has room: no two-way select
		return
	default:
	}
	select {
	case s.out <- d:
	case <-s.quiesce:
	}
}

// filter matches topics against a subscription with one '+' level.
type filter struct {
	levels []string
	plus   int
}

func newFilter(f string) filter {
	if f == "" {
		return filter{plus: -1}
	}
	lv := strings.Split(f, "/")
	for i, l := range lv {
		if l == "+" {
			return filter{levels: lv, plus: i}
		}
	}
	return filter{plus: -1}
}

// station returns the topic's level at the '+' when topic matches f.
func (f filter) station(topic string) (string, bool) {
	if f.plus < 0 {
		return "", false
	}
	st := ""
	for i, want := range f.levels {
		var lvl string
		j := strings.IndexByte(topic, '/')
		if j < 0 {
			lvl, topic = topic, ""
			if i != len(f.levels)-1 {
				return "", false
			}
		} else {
			lvl, topic = topic[:j], topic[j+1:]
		}
		if i == f.plus {
			st = lvl
		} else if lvl != want {
			return "", false
		}
	}
	if topic != "" {
		return "", false
	}
	return st, st != ""
}
