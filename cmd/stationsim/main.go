// Command stationsim simulates a network of air-quality stations and
// surface-water sections: it publishes plausible readings for every station
// of a registry over MQTT (QoS 1) in envpipe's JSON payload, on a simulated
// clock that can run faster than wall time, with silent stations, faulty
// sensors and pollution episodes on demand. For demos, tests and load.
// With -hj212 mqtt|tcp the stations that have an hj212_mn speak HJ 212
// instead, over MQTT or straight to envpipe's TCP listener, keep their
// history and answer envpipe's history requests (hj212.go).
//
// Run "stationsim -h" for the flags and the scenario syntax.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stationsim:", err)
		os.Exit(2)
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		cfg.Log.Error("stationsim failed", "err", err)
		os.Exit(1)
	}
}
