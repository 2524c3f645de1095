# envpipe. `make demo` runs the whole thing locally; `make test` runs every test.
GO      ?= go
BIN     := bin
TOOLS   := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)

.PHONY: all build test test-short vet demo servers clean fuzz

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
