package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/envpipe/envpipe/ingest/station"
)

// progressInterval is how often a long run logs its progress.
const progressInterval = 10 * time.Second

// run loads the registry, checks the scenario, connects to the broker and
// publishes until the context is cancelled, -duration has passed or -count
// messages were sent; then it waits for the outstanding acknowledgements,
// disconnects and writes a summary to stdout. It returns an error when the
// setup fails or when publishes failed.
func run(ctx context.Context, cfg config, stdout io.Writer) error {
	if cfg.HJ212.Mode != "" {
		return runHJ212(ctx, cfg, stdout)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg, errs := station.Load(cfg.Stations)
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", cfg.Stations, errors.Join(errs...))
	}
	start := cfg.Start
	if start.IsZero() {
		start = time.Now()
	}
	sc, err := newScenario(reg, cfg.Silent, cfg.Faulty, cfg.Episodes, start)
	if err != nil {
		return err
	}
	opts := simOptions{Topic: cfg.Topic, Interval: cfg.Interval, Batch: cfg.Batch, Count: cfg.Count}
	sim := newSimulator(reg.All(), Model{Seed: cfg.Seed}, sc, simClock{start: start, speed: cfg.Speed, live: cfg.Live}, opts, log)
	if len(sim.stations) == 0 {
		return errors.New("every station is silent: nothing to publish")
	}
	silent := reg.Len() - len(sim.stations)

	pub, err := connect(ctx, mqttOptions{
		Broker: cfg.Broker, Username: cfg.Username, Password: cfg.Password,
		PerStationAuth: cfg.PerStationAuth, StationPassword: cfg.StationPassword,
		ClientID: cfg.ClientID, Conns: cfg.Conns, Window: cfg.Window,
	}, sim.stations, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while connecting
		}
		return err
	}

	// The clocks start once the connections are up.
	wall0 := time.Now()
	sim.clock.wall0 = wall0
	if cfg.Duration > 0 {
		sim.opts.Deadline = wall0.Add(cfg.Duration)
	}
	log.Info("publishing", "stations", len(sim.stations), "silent", silent,
		"start", start.In(cst).Format(time.RFC3339), "speed", cfg.Speed, "seed", cfg.Seed)

	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	go func() {
		defer close(progressStopped)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				log.Info("progress", "messages", sim.messages.Load(), "acked", pub.acked.Load(),
					"failed", pub.failed.Load(), "simulated", time.Unix(0, sim.simNow.Load()).In(cst).Format(time.RFC3339))
			}
		}
	}()

	reason := sim.run(ctx, pub)
	close(progressDone)
	<-progressStopped
	pub.close(ctx, cfg.Drain)
	elapsed := time.Since(wall0)

	s := summary{
		Reason: reason, Messages: sim.messages.Load(), Readings: sim.readings.Load(),
		Acked: pub.acked.Load(), Failed: pub.failed.Load(), Unconfirmed: pub.unconfirmed.Load(),
		Stations: len(sim.stations), Silent: silent, Conns: len(pub.conns),
		Elapsed: elapsed, First: sim.first,
	}
	if n := sim.simNow.Load(); n != 0 {
		s.Last = time.Unix(0, n)
	}
	fmt.Fprint(stdout, s)
	log.Info("done", "reason", reason.String(), "messages", s.Messages, "acked", s.Acked, "failed", s.Failed, "unconfirmed", s.Unconfirmed)
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d publishes failed", s.Failed, s.Messages)
	}
	return nil
}

// summary is what a run did, printed at exit.
type summary struct {
	Reason                     stopReason
	Messages, Readings         int64
	Acked, Failed, Unconfirmed int64
	Stations, Silent, Conns    int
	Elapsed                    time.Duration
	First, Last                time.Time
}

func (s summary) String() string {
	rate := 0.0
	if sec := s.Elapsed.Seconds(); sec > 0 {
		rate = float64(s.Acked) / sec
	}
	out := fmt.Sprintf("stationsim: %s after %s: %d messages sent (%d readings), %d published (acknowledged), %d failed, %d unconfirmed; %.1f msg/s\n",
		s.Reason, s.Elapsed.Round(time.Millisecond), s.Messages, s.Readings, s.Acked, s.Failed, s.Unconfirmed, rate)
	out += fmt.Sprintf("stationsim: %d stations (%d silent) over %d connection(s)", s.Stations, s.Silent, s.Conns)
	if !s.First.IsZero() {
		out += fmt.Sprintf("; simulated %s .. %s", s.First.In(cst).Format(time.RFC3339), s.Last.In(cst).Format(time.RFC3339))
	}
	return out + "\n"
}
