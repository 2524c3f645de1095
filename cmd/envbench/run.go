package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/envpipe/envpipe/ingest"
)

type result struct {
	N                 int     `json:"n"`
	Stations          int     `json:"stations"`
	Conns             int     `json:"conns"`
	Primed            bool    `json:"primed,omitempty"`
	StepSeconds       float64 `json:"step_seconds,omitempty"`
	Rate              float64 `json:"rate,omitempty"`
	PublishSeconds    float64 `json:"publish_seconds"`
	EndToEndSeconds   float64 `json:"end_to_end_seconds"`
	ReadingsPerSecond float64 `json:"readings_per_second"`
	Probes            int     `json:"probes,omitempty"`
	LatencyP50Ms      float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms      float64 `json:"latency_p99_ms,omitempty"`
	LatencyMaxMs      float64 `json:"latency_max_ms,omitempty"`
	CPUPer100k        float64 `json:"cpu_seconds_per_100k,omitempty"`
	PeakRSSMiB        float64 `json:"peak_rss_mib,omitempty"`
	RSSStartMiB       float64 `json:"rss_start_mib,omitempty"`
	RSSEndMiB         float64 `json:"rss_end_mib,omitempty"`
	// With -rate: VmRSS every RSSEverySeconds while publishing, and its
	// growth after the first tenth of the run (the warm-up): the largest
	// later sample over the sample that ends the warm-up, minus one.
	RSSEverySeconds float64   `json:"rss_every_seconds,omitempty"`
	RSSSamplesMiB   []float64 `json:"rss_samples_mib,omitempty"`
	RSSGrowth       *float64  `json:"rss_growth_after_warmup,omitempty"`
	// With -direct: the batch size and the number of writes.
	DirectBatchBytes int `json:"direct_batch_bytes,omitempty"`
	Posts            int `json:"posts,omitempty"`
}

// rssGrowth is the growth of samples after the first tenth (at least one
// sample): max(later) / sample ending the warm-up − 1.
func rssGrowth(samples []float64) (float64, bool) {
	w := max(1, len(samples)/10)
	if len(samples) < w+1 || samples[w-1] <= 0 {
		return 0, false
	}
	peak := 0.0
	for _, v := range samples[w:] {
		peak = max(peak, v)
	}
	return peak/samples[w-1] - 1, true
}

func (r *result) print(w io.Writer) {
	if r.DirectBatchBytes > 0 {
		r.printDirect(w)
		return
	}
	fmt.Fprintf(w, "readings            %d from %d stations over %d connections\n", r.N, r.Stations, r.Conns)
	if r.Primed {
		fmt.Fprintf(w, "primed              one reading per station before the run, not counted\n")
	}
	if r.Rate > 0 {
		fmt.Fprintf(w, "offered rate        %.0f readings/s; readings %v apart in event time (%.3g × the clock's pace)\n",
			r.Rate, time.Duration(math.Round(r.StepSeconds*1e9)), r.Rate*r.StepSeconds)
	}
	fmt.Fprintf(w, "publish time        %.2f s\n", r.PublishSeconds)
	fmt.Fprintf(w, "end-to-end          %.2f s  → %.0f readings/s (until all are visible in InfluxDB)\n", r.EndToEndSeconds, r.ReadingsPerSecond)
	if r.Probes > 0 {
		fmt.Fprintf(w, "publish→queryable   p50 %.0f ms  p99 %.0f ms  max %.0f ms  (%d probes)\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.Probes)
	}
	if r.PeakRSSMiB > 0 {
		fmt.Fprintf(w, "envpipe CPU         %.2f s per 100 000 readings\n", r.CPUPer100k)
		fmt.Fprintf(w, "envpipe RSS         peak %.1f MiB (VmHWM); %.1f MiB at start, %.1f MiB at end\n", r.PeakRSSMiB, r.RSSStartMiB, r.RSSEndMiB)
	}
	if r.RSSGrowth != nil {
		fmt.Fprintf(w, "envpipe RSS growth  %+.1f %% after the first tenth of the run (samples every %.0f s, MiB:", *r.RSSGrowth*100, r.RSSEverySeconds)
		for _, v := range r.RSSSamplesMiB {
			fmt.Fprintf(w, " %.1f", v)
		}
		fmt.Fprintln(w, ")")
	}
}

// deadline bounds a run: -timeout beyond the time publishing takes at a
// fixed rate (a 20-minute steady run must not end at a 20-minute timeout).
func (c *config) deadline() time.Duration {
	if c.rate > 0 {
		return c.timeout + time.Duration(float64(c.n)/c.rate*float64(time.Second))
	}
	return c.timeout
}

func (c *config) station(i int) string {
	return fmt.Sprintf("%s%0*d", c.prefix, c.digits, i%c.stations)
}

func payload(station string, t time.Time, i int) string {
	var vs [6]ingest.Value
	readingValues(vs[:], i)
	b := fmt.Appendf(nil, `{"station":"%s","time":"%s","values":{`, station, t.UTC().Format(time.RFC3339Nano))
	for j, v := range vs {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, v.Param...)
		b = append(b, '"', ':')
		b = strconv.AppendFloat(b, v.V, 'f', -1, 64)
	}
	return string(append(b, "}}"...))
}

// readingValues sets vs[:6] to reading i's values, in its payload's order:
// the one definition of a reading's values for payload and for -direct.
func readingValues(vs []ingest.Value, i int) {
	vs[0] = ingest.Value{Param: "pm25", V: float64(20+i%60) + 0.4}
	vs[1] = ingest.Value{Param: "pm10", V: float64(40+i%90) + 0.2}
	vs[2] = ingest.Value{Param: "so2", V: 8.4}
	vs[3] = ingest.Value{Param: "no2", V: 35.2}
	vs[4] = ingest.Value{Param: "co", V: 0.8}
	vs[5] = ingest.Value{Param: "o3", V: 96.2}
}

func run(ctx context.Context, c config, logw io.Writer) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.deadline())
	defer cancel()
	db := &influx{url: c.influx, db: c.db, client: &http.Client{Timeout: 10 * time.Second}}
	countQ, err := db.emptyRange(ctx, c)
	if err != nil {
		return nil, err
	}

	clients := make([]paho.Client, c.conns)
	for i := range clients {
		o := paho.NewClientOptions().AddBroker(c.broker).SetClientID(fmt.Sprintf("envbench-%d-%d", os.Getpid(), i)).
			SetCleanSession(true).SetMaxResumePubInFlight(c.window).SetWriteTimeout(30 * time.Second).SetKeepAlive(30 * time.Second)
		if u := os.Getenv("ENVBENCH_MQTT_USERNAME"); u != "" {
			o.SetUsername(u).SetPassword(os.Getenv("ENVBENCH_MQTT_PASSWORD"))
		}
		clients[i] = paho.NewClient(o)
		if tok := clients[i].Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return nil, fmt.Errorf("connect to %s: %v", c.broker, tok.Error())
		}
		defer clients[i].Disconnect(100)
	}

	if c.primed {
		if err := prime(ctx, c, clients[0], db); err != nil {
			return nil, err
		}
	}

	var before procStat
	if c.pid > 0 {
		before = readProc(c.pid)
	}
	res := &result{N: c.n, Stations: c.stations, Conns: c.conns, Rate: c.rate, Primed: c.primed, StepSeconds: c.step.Seconds()}
	start := time.Now()

	// Probes: with a steady rate, a reading of station 0 every probeEvery in
	// a time range of its own; each is polled until queryable.
	var lat []float64
	var latMu sync.Mutex
	var probes sync.WaitGroup
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	if c.rate > 0 {
		probes.Add(1)
		go func() {
			defer probes.Done()
			tick := time.NewTicker(c.probeEvery)
			defer tick.Stop()
			st := c.station(0)
			for k := 0; ; k++ {
				select {
				case <-probeCtx.Done():
					return
				case <-tick.C:
				}
				ts := c.base.Add(-time.Hour + time.Duration(k)*time.Millisecond)
				sent := time.Now()
				clients[0].Publish("env/"+st+"/data", 1, false, payload(st, ts, k))
				probes.Add(1)
				go func() {
					defer probes.Done()
					q := fmt.Sprintf(`SELECT count(pm25) FROM %q WHERE station = '%s' AND time = %d`, c.measurement, st, ts.UnixNano())
					for probeCtx.Err() == nil {
						if n, err := db.count(probeCtx, q); err == nil && n == 1 {
							latMu.Lock()
							lat = append(lat, float64(time.Since(sent).Microseconds())/1000)
							latMu.Unlock()
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
		}()
	}

	// RSS samples while publishing at a fixed rate: is memory flat?
	var rssSamples []float64
	var sampler sync.WaitGroup
	stopSampling := make(chan struct{})
	if c.rate > 0 && c.pid > 0 {
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			tick := time.NewTicker(c.rssEvery)
			defer tick.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
					rssSamples = append(rssSamples, readProc(c.pid).rssMiB)
				}
			}
		}()
	}

	var published atomic.Int64
	var pubErr atomic.Value
	var wg sync.WaitGroup
	for ci := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[ci]
			w := inflight{max: c.window}
			for i := ci; i < c.n; i += c.conns {
				if ctx.Err() != nil {
					return
				}
				if c.rate > 0 {
					due := start.Add(time.Duration(float64(i) / c.rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				st := c.station(i)
				if err := w.add(cl.Publish("env/"+st+"/data", 1, false, payload(st, c.at(i), i))); err != nil {
					pubErr.Store(err)
				}
				published.Add(1)
			}
			if err := w.wait(); err != nil {
				pubErr.Store(err)
			}
		}()
	}
	wg.Wait()
	res.PublishSeconds = time.Since(start).Seconds()
	close(stopSampling)
	sampler.Wait()
	if len(rssSamples) > 0 {
		res.RSSEverySeconds, res.RSSSamplesMiB = c.rssEvery.Seconds(), rssSamples
		if g, ok := rssGrowth(rssSamples); ok {
			res.RSSGrowth = &g
		}
	}
	if err, _ := pubErr.Load().(error); err != nil {
		return nil, err
	}

	// Poll until every reading is visible.
	var rssStart float64
	if c.pid > 0 {
		rssStart = before.rssMiB
	}
	if n, ok := db.waitCount(ctx, countQ, c.n); !ok {
		return nil, fmt.Errorf("only %d of %d readings visible %s after the last publish (-timeout)", n, c.n, c.timeout)
	}
	res.EndToEndSeconds = time.Since(start).Seconds()
	res.ReadingsPerSecond = float64(c.n) / res.EndToEndSeconds
	stopProbes()
	probes.Wait()
	if len(lat) > 0 {
		sort.Float64s(lat)
		res.Probes = len(lat)
		res.LatencyP50Ms = lat[len(lat)*50/100]
		res.LatencyP99Ms = lat[min(len(lat)-1, len(lat)*99/100)]
		res.LatencyMaxMs = lat[len(lat)-1]
	}
	if c.pid > 0 {
		res.procFigures(c, before, rssStart)
	}
	return res, nil
}

// procFigures fills in what /proc tells of c.pid since before: CPU per
// 100 000 readings and memory.
func (r *result) procFigures(c config, before procStat, rssStart float64) {
	after := readProc(c.pid)
	r.CPUPer100k = (after.cpuSeconds - before.cpuSeconds) / float64(c.n) * 100000
	r.PeakRSSMiB = after.hwmMiB
	r.RSSStartMiB, r.RSSEndMiB = rssStart, after.rssMiB
}

// emptyRange checks that InfluxDB holds no reading in the run's time range
// (a second run over it would be counted with the first) and returns the
// query that counts them.
func (in *influx) emptyRange(ctx context.Context, c config) (string, error) {
	span := fmt.Sprintf("time >= %d AND time < %d", c.base.UnixNano(), c.at(c.n).UnixNano())
	countQ := fmt.Sprintf(`SELECT count(pm25) FROM %q WHERE %s`, c.measurement, span)
	if n, err := in.count(ctx, countQ); err != nil {
		return "", fmt.Errorf("InfluxDB: %w", err)
	} else if n != 0 {
		return "", fmt.Errorf("%d readings already in InfluxDB in this run's time range; pass another -base", n)
	}
	return countQ, nil
}

// inflight bounds a connection's unacknowledged publishes: add waits for
// all of them once max are out.
type inflight struct {
	max  int
	toks []paho.Token
}

func (w *inflight) add(t paho.Token) error {
	w.toks = append(w.toks, t)
	if len(w.toks) < w.max {
		return nil
	}
	return w.wait()
}

// wait waits for every publish out and returns the first failure.
func (w *inflight) wait() error {
	var err error
	for _, t := range w.toks {
		if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
			if err == nil {
				err = fmt.Errorf("publish: %v", t.Error())
			}
		}
	}
	w.toks = w.toks[:0]
	return err
}

// prime publishes one reading per station in the steps before c.base and
// waits until InfluxDB has them all, so that the measured run finds every
// station's state in envpipe and its series in InfluxDB.
func prime(ctx context.Context, c config, cl paho.Client, db *influx) error {
	from := c.base.Add(-c.span(c.stations))
	q := fmt.Sprintf(`SELECT count(pm25) FROM %q WHERE time >= %d AND time < %d`, c.measurement, from.UnixNano(), c.base.UnixNano())
	if n, err := db.count(ctx, q); err != nil {
		return fmt.Errorf("InfluxDB: %w", err)
	} else if n != 0 {
		return fmt.Errorf("%d readings already in InfluxDB in the priming range; pass another -base", n)
	}
	w := inflight{max: c.window}
	for i := range c.stations {
		st := c.station(i)
		if err := w.add(cl.Publish("env/"+st+"/data", 1, false, payload(st, from.Add(c.span(i)), i))); err != nil {
			return fmt.Errorf("prime: %w", err)
		}
	}
	if err := w.wait(); err != nil {
		return fmt.Errorf("prime: %w", err)
	}
	if n, ok := db.waitCount(ctx, q, c.stations); !ok {
		return fmt.Errorf("prime: only %d of %d readings visible: %w", n, c.stations, ctx.Err())
	}
	return nil
}

// influx runs InfluxQL counts over the 1.x query API (InfluxDB 1.8, or 2.x
// and 3.x with a DBRP mapping).
type influx struct {
	url, db string
	client  *http.Client
}

// waitCount polls q every 50 ms until it counts want, or ctx ends (false,
// with the last count).
func (in *influx) waitCount(ctx context.Context, q string, want int) (int, bool) {
	for {
		n, err := in.count(ctx, q)
		if err == nil && n >= want {
			return n, true
		}
		if ctx.Err() != nil {
			return n, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (in *influx) count(ctx context.Context, q string) (int, error) {
	u := in.url + "/query?" + url.Values{"db": {in.db}, "q": {q}, "epoch": {"ms"}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if tok := os.Getenv("ENVBENCH_INFLUX_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Token "+tok)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]json.Number `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("query: %s: %w", resp.Status, err)
	}
	if len(body.Results) == 0 {
		return 0, fmt.Errorf("query: no result")
	}
	if e := body.Results[0].Error; e != "" {
		return 0, fmt.Errorf("query: %s", e)
	}
	if len(body.Results[0].Series) == 0 || len(body.Results[0].Series[0].Values) == 0 {
		return 0, nil
	}
	v := body.Results[0].Series[0].Values[0]
	n, err := v[len(v)-1].Int64()
	return int(n), err
}

type procStat struct {
	cpuSeconds     float64
	rssMiB, hwmMiB float64
}

// readProc reads a process's CPU time and memory from /proc.
func readProc(pid int) procStat {
	var ps procStat
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command name; utime and stime are
		// the 14th and 15th fields, in clock ticks (100 Hz on Linux).
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+2:])
			if len(f) > 13 {
				ut, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				ps.cpuSeconds = (ut + st) / 100
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmRSS:":
				ps.rssMiB = kb / 1024
			case "VmHWM:":
				ps.hwmMiB = kb / 1024
			}
		}
	}
	return ps
}
