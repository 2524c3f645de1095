package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/envpipe/envpipe/ingest"
	lineproto "github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/station"
)

// runDirect is -direct: the readings of a run, as envpipe stores them
// (its line protocol encoder, the bench stations' county), written straight
// to InfluxDB's v2 write API in batches of c.direct bytes, one after
// another, with no broker and no envpipe. With -pid naming influxd it
// measures what InfluxDB itself spends per point at a station count and a
// batch size: the part of a deployment's cost that envpipe's batching
// decides.
func runDirect(ctx context.Context, c config) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.deadline())
	defer cancel()
	db := &influx{url: c.influx, db: c.db, client: &http.Client{Timeout: time.Minute}}
	countQ, err := db.emptyRange(ctx, c)
	if err != nil {
		return nil, err
	}
	// InfluxDB 1.8 takes database/retention-policy as the bucket; 2.x
	// takes its bucket name and the org from -org.
	bucket := c.bucket
	if bucket == "" {
		bucket = c.db + "/autogen"
	}
	writeURL := c.influx + "/api/v2/write?" + url.Values{"bucket": {bucket}, "org": {c.org}, "precision": {"ns"}}.Encode()

	stations := make([]*station.Station, c.stations)
	for i := range stations {
		stations[i] = &station.Station{ID: c.station(i), Kind: ingest.KindAir, County: "Bench"}
	}
	enc := lineproto.NewEncoder()
	var before procStat
	if c.pid > 0 {
		before = readProc(c.pid)
	}
	res := &result{N: c.n, Stations: c.stations, DirectBatchBytes: c.direct}
	start := time.Now()
	buf := make([]byte, 0, c.direct+4096)
	r := ingest.Reading{Values: make([]ingest.Value, 6)}
	post := func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, writeURL, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if tok := os.Getenv("ENVBENCH_INFLUX_TOKEN"); tok != "" {
			req.Header.Set("Authorization", "Token "+tok)
		}
		resp, err := db.client.Do(req)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("write: %s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		res.Posts++
		buf = buf[:0]
		return nil
	}
	for i := range c.n {
		// payload(i) as envpipe decodes it, encoded by envpipe's encoder.
		st := stations[i%c.stations]
		r.Station, r.Time = st.ID, c.at(i)
		readingValues(r.Values, i)
		buf = enc.Append(buf, st, &r)
		if len(buf) >= c.direct {
			if err := post(); err != nil {
				return nil, err
			}
		}
	}
	if len(buf) > 0 {
		if err := post(); err != nil {
			return nil, err
		}
	}
	res.PublishSeconds = time.Since(start).Seconds()
	if n, ok := db.waitCount(ctx, countQ, c.n); !ok {
		return nil, fmt.Errorf("only %d of %d readings visible after %s", n, c.n, c.timeout)
	}
	res.EndToEndSeconds = time.Since(start).Seconds()
	res.ReadingsPerSecond = float64(c.n) / res.EndToEndSeconds
	if c.pid > 0 {
		res.procFigures(c, before, before.rssMiB)
	}
	return res, nil
}

func (r *result) printDirect(w io.Writer) {
	fmt.Fprintf(w, "points              %d from %d stations, straight to InfluxDB\n", r.N, r.Stations)
	fmt.Fprintf(w, "batches             %d of up to %d bytes, one after another\n", r.Posts, r.DirectBatchBytes)
	fmt.Fprintf(w, "write time          %.2f s\n", r.PublishSeconds)
	fmt.Fprintf(w, "end-to-end          %.2f s  → %.0f points/s (until all are visible)\n", r.EndToEndSeconds, r.ReadingsPerSecond)
	if r.PeakRSSMiB > 0 {
		fmt.Fprintf(w, "InfluxDB CPU        %.2f s per 100 000 points\n", r.CPUPer100k)
		fmt.Fprintf(w, "InfluxDB RSS        peak %.1f MiB (VmHWM); %.1f MiB at start, %.1f MiB at end\n", r.PeakRSSMiB, r.RSSStartMiB, r.RSSEndMiB)
	}
}
