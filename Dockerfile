# syntax=docker/dockerfile:1
#
# karmagate as a small container image: a static binary (no cgo: SQLite is
# pure Go) on distroless/static, which brings CA certificates, tzdata and a
# non-root user (65532) and nothing else: no shell, no package manager.
#
#   docker build -t karmagate --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm karmagate version
#
# The first build compiles gotd's MTProto package (the sandbox is inside the
# binary): minutes on two cores; the cache mounts (BuildKit, Docker's default
# builder since 23.0) keep later builds quick. With SQLite instead of
# MariaDB, keep its folder in a volume: -v karmagate:/var/lib/karmagate.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/karmagate ./cmd/karmagate
# The state folder for SQLite (KARMAGATE_DB below),
# owned by the image's non-root user.
RUN mkdir -p /out/var/lib/karmagate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/karmagate /usr/local/bin/karmagate
COPY --from=build --chown=65532:65532 /out/var/lib/karmagate /var/lib/karmagate
WORKDIR /var/lib/karmagate
# distroless's nonroot, by number so that runAsNonRoot can check it.
USER 65532:65532
# In a container, listen on every interface of the container's network; do
# not publish this port to the world: nginx sits in front (docker-compose.yml).
ENV KARMAGATE_LISTEN=0.0.0.0:8080 \
    KARMAGATE_DB=sqlite:/var/lib/karmagate/karmagate.db \
    KARMAGATE_RULES=/etc/karmagate/rules.yaml
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/karmagate"]
CMD ["serve"]
