# Multi-stage build: a static envpipe (and stationsim) on a minimal, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/envpipe ./cmd/envpipe && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/stationsim ./cmd/stationsim && \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/envpipe /out/stationsim /usr/local/bin/
COPY configs/ /etc/envpipe/
# The WAL and dead letters live here; mount a volume. The directory belongs
# to nonroot (uid 65532) in the image, so that a new named volume, which
# takes its owner from the image, is writable by envpipe.
COPY --from=build --chown=65532:65532 /out/data /var/lib/envpipe
VOLUME ["/var/lib/envpipe"]
USER nonroot:nonroot
EXPOSE 9274 9212
ENTRYPOINT ["/usr/local/bin/envpipe"]
CMD ["run", "-config", "/etc/envpipe/envpipe.yaml"]
