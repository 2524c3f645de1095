// Command envpipe ingests environmental monitoring readings from MQTT into
// InfluxDB through a write-ahead log. See README.md.
//
//	envpipe run -config configs/envpipe.yaml
//	envpipe check-config -config configs/envpipe.yaml
//	envpipe aqi ...         (AQI per HJ 633, see envpipe aqi -h)
//	envpipe waterclass ...  (class per GB 3838-2002)
//	envpipe healthcheck     (for container health checks)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

var version = "dev"

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return cmdRun(rest, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "aqi":
		return cmdAQI(rest, stdin, stdout, stderr)
	case "waterclass":
		return cmdWaterClass(rest, stdin, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "envpipe", version)
		return 0
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "envpipe: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: envpipe <command> [flags]

commands:
  run            run the daemon (-config configs/envpipe.yaml)
  check-config   validate envpipe.yaml and the stations file; print every problem
  aqi            compute AQI (HJ 633-2012/2026) from values or a CSV
  waterclass     compute the GB 3838-2002 water class from values or a CSV
  healthcheck    exit 0 if a running envpipe answers /healthz (for container health checks)
  version        print the version
`)
}

// cmdHealthcheck asks a running envpipe whether it is alive: the images
// have no curl, so a container's health check runs envpipe itself.
func cmdHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9274/healthz", "URL to GET; 200 OK is healthy")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintln(stderr, "envpipe healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "envpipe healthcheck: %s: %s %s\n", *url, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", *url, resp.Status)
	return 0
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "configs/envpipe.yaml", "configuration file")
	var ov overrides
	fs.StringVar(&ov.Stations, "stations", "", "stations file, overriding the config's `stations` (relative to the working directory)")
	fs.StringVar(&ov.Rules, "rules", "", "rules file, overriding the config's `alert.rules` (relative to the working directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the default action is back: a second one
	// ends a shutdown that hangs.
	context.AfterFunc(ctx, stop)
	if err := runWith(ctx, *path, ov, stderr); err != nil {
		fmt.Fprintln(stderr, "envpipe:", err)
		return 1
	}
	return 0
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "configs/envpipe.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, reg, errs := loadConfig(*path)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "%d problem(s) found\n", len(errs))
		return 1
	}
	for _, n := range cfg.notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "%s: ok (%d stations from %s)\n", *path, reg.Len(), cfg.path(cfg.Stations))
	return 0
}

func newLogger(c logConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
