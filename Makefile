# envpipe. `make demo` runs the whole thing locally; `make test` runs every test.
GO      ?= go
BIN     := bin
TOOLS   := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)

.PHONY: all build test test-short vet demo servers clean bench bench-peer soak fuzz

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

# Integration tests start Mosquitto, influxd and Alertmanager themselves.
# scripts/install-servers.sh installs what is missing.
test: vet
	$(GO) test -race -count=1 -timeout 12m ./...

test-short:
	$(GO) test -short -count=1 ./...

servers:
	scripts/install-servers.sh

demo: servers build
	scripts/demo.sh

clean:
	rm -rf $(BIN) data

# The shared harness (../shared/bench): broker and InfluxDB ceilings, Telegraf
# and envpipe on the same load in one run. N and REPS as in its README.
BENCH_HARNESS ?= ../shared/bench/run.sh
bench-peer: build
	PIPELINE_NAME=envpipe PIPELINE_CONF=configs/bench.yaml.tmpl \
	PIPELINE_CMD='exec ./bin/envpipe run -config @CONF@ -stations configs/bench-stations.yaml -rules configs/rules.yaml' \
	bash $(BENCH_HARNESS)

# envbench's standard scenarios on loopback servers it starts.
bench: servers build
	scripts/bench.sh

# Soak-length variants of the resilience tests (60 s InfluxDB outage,
# 100 000 readings with 10 SIGKILLs); CI runs the same scenarios smaller.
soak:
	ENVPIPE_SOAK=1 $(GO) test -count=1 -timeout 60m -run 'TestInfluxOutage|TestSIGKILL' -v ./cmd/envpipe/

# Each fuzz target for FUZZTIME (default 10m); the seed corpora run in every `go test`.
FUZZTIME ?= 10m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzJSON$$' -fuzztime $(FUZZTIME) ./ingest/decode
	$(GO) test -run '^$$' -fuzz '^FuzzRecover$$' -fuzztime $(FUZZTIME) ./ingest/wal
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./ingest/hj212
	$(GO) test -run '^$$' -fuzz '^FuzzFramer$$' -fuzztime $(FUZZTIME) ./ingest/hj212
	$(GO) test -run '^$$' -fuzz '^FuzzAppendFloat$$' -fuzztime $(FUZZTIME) ./ingest/influx
	$(GO) test -run '^$$' -fuzz '^FuzzOffsetSet$$' -fuzztime $(FUZZTIME) ./alert/derive
