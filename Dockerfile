# syntax=docker/dockerfile:1

# Build: a static binary (no cgo; the SQLite driver is pure Go).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mdebot ./cmd/mdebot
# The working directory of the final image, where file:mdebot.db lands, and
# a /tmp for spooling packages served without Content-Length before upload.
RUN mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

# Run: nothing but the binary, the CA roots, an empty data directory and /tmp.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/mdebot /mdebot
USER 65532:65532
# Mount a volume here: the default store.dsn file:mdebot.db and an optional
# ./config.yaml are read relative to it. Without config.yaml, MDEBOT_* variables configure the bot.
WORKDIR /data
VOLUME /data
# http.listen: Slack requests (http mode), /auth/callback, /healthz, /readyz, /metrics.
EXPOSE 8080
ENTRYPOINT ["/mdebot", "serve"]
