// Command envbench measures an MQTT → envpipe → InfluxDB deployment end to
// end, for users sizing their own: it publishes N readings from M stations
// over C connections at QoS 1 (as fast as possible, or at a fixed rate), and
// reports
//
//   - end-to-end readings/s: from the first publish until all N are visible
//     in InfluxDB by count;
//   - publish → queryable latency p50/p99 of probe readings (with -rate);
//   - envpipe's CPU seconds per 100 000 readings and peak RSS, read from
//     /proc when -pid names an envpipe on the same host.
//
// Every loop is bounded by -n and -timeout.
//
//	envbench -broker tcp://127.0.0.1:1883 -influx http://127.0.0.1:8086 -n 200000 -stations 1000
//	envbench ... -rate 10000 -duration 60s      (latency at a steady rate)
//	envbench ... -stations 10000 -primed        (stations already known: no first contact in the run)
//	envbench -influx ... -direct 4194304 -stations 10000 -pid $(pgrep -x influxd)
//	                                            (InfluxDB alone: its CPU per point at a batch size)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type config struct {
	broker, influx, db  string
	measurement, prefix string
	n, stations, digits int
	conns, window       int
	rate                float64
	duration, timeout   time.Duration
	probeEvery          time.Duration
	rssEvery            time.Duration
	pid                 int
	base                time.Time
	step                time.Duration // event time between consecutive readings
	jsonOut             bool
	primed              bool
	direct              int    // -direct: batch bytes; 0 = through MQTT and envpipe
	bucket, org         string // -direct's write target
}

// at is the event time of reading i.
func (c *config) at(i int) time.Time { return c.base.Add(c.span(i)) }

// span is the event time that n readings take.
func (c *config) span(n int) time.Duration { return time.Duration(n) * c.step }

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("envbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker envpipe subscribes to")
	fs.StringVar(&c.influx, "influx", "http://127.0.0.1:8086", "InfluxDB HTTP URL envpipe writes to")
	fs.StringVar(&c.db, "db", "env", "InfluxQL database to count in")
	fs.StringVar(&c.measurement, "measurement", "air", "measurement envpipe writes the readings to")
	fs.StringVar(&c.prefix, "prefix", "zz-air-", "station id prefix (ids are <prefix><n>, zero-padded to -digits)")
	fs.IntVar(&c.digits, "digits", 4, "digits of the station number")
	fs.IntVar(&c.n, "n", 200000, "readings to publish")
	fs.IntVar(&c.stations, "stations", 1000, "distinct stations")
	fs.IntVar(&c.conns, "conns", 4, "MQTT connections")
	fs.IntVar(&c.window, "window", 1000, "unacknowledged publishes per connection")
	fs.Float64Var(&c.rate, "rate", 0, "readings per second (0 = as fast as possible)")
	fs.DurationVar(&c.duration, "duration", 0, "with -rate: publish for this long instead of -n readings")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up waiting for the readings this long after publishing should have ended (at once without -rate)")
	fs.DurationVar(&c.probeEvery, "probe-every", 200*time.Millisecond, "with -rate: a latency probe this often")
	fs.DurationVar(&c.rssEvery, "rss-every", 10*time.Second, "with -rate and -pid: sample envpipe's RSS this often")
	fs.IntVar(&c.pid, "pid", 0, "envpipe's process id, for CPU and RSS from /proc (same host only)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&c.primed, "primed", false, "first publish one reading per station (before -base, not counted) and wait for all of them in InfluxDB: "+
		"measures stations whose state and series exist, as in operation, instead of their first contact")
	fs.IntVar(&c.direct, "direct", 0, "write the readings as envpipe stores them straight to InfluxDB in batches of this many bytes, "+
		"one after another, without a broker or envpipe; -pid then names influxd: InfluxDB's own CPU per point at a station count and batch size")
	fs.StringVar(&c.bucket, "bucket", "", "with -direct: the bucket to write to (default: -db/autogen, as InfluxDB 1.8 takes it)")
	fs.StringVar(&c.org, "org", "", "with -direct: the organisation (InfluxDB 2.x)")
	fs.DurationVar(&c.step, "step", time.Millisecond, "event time between consecutive readings: with -stations S each station reports every S × step. "+
		"At -rate R a step of 1/R runs event time at the clock's pace, as a real network's; the default 1ms runs it R/1000 times as fast")
	base := fs.String("base", "", "time of the first reading (RFC 3339; default: 2 h before now less the run's span of event time, -n × -step, so that no reading is in the future)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.n <= 0 || c.stations <= 0 || c.conns <= 0 || c.window <= 0 || c.step <= 0 {
		fmt.Fprintln(stderr, "envbench: -n, -stations, -conns, -window and -step must be positive")
		return 2
	}
	if c.direct < 0 || (c.direct > 0 && (c.rate > 0 || c.primed)) {
		fmt.Fprintln(stderr, "envbench: -direct takes a positive batch size and neither -rate nor -primed")
		return 2
	}
	if c.rate > 0 && c.duration > 0 {
		c.n = int(c.rate * c.duration.Seconds())
	}
	// The run's last reading is then two hours old at the start, never
	// in the future however long the run (a 20-minute steady run at
	// 10 000/s spans 3⅓ hours of event time with the default step).
	c.base = time.Now().Add(-2*time.Hour - c.span(c.n)).Truncate(time.Second)
	if *base != "" {
		t, err := time.Parse(time.RFC3339, *base)
		if err != nil {
			fmt.Fprintln(stderr, "envbench: -base:", err)
			return 2
		}
		c.base = t
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var res *result
	var err error
	if c.direct > 0 {
		res, err = runDirect(ctx, c)
	} else {
		res, err = run(ctx, c, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "envbench:", err)
		return 1
	}
	if c.jsonOut {
		json.NewEncoder(stdout).Encode(res)
	} else {
		res.print(stdout)
	}
	return 0
}
