# The operator image: the manager, a static binary, on distroless running as a non-root user.
#   docker build -t ghcr.io/inferencepool-operator/inferencepool-operator:v<version> .
# (test/bundle checks that this copies every package the manager needs and that the build is static.)

# Build stage: go.mod's Go toolchain line is honoured (GOTOOLCHAIN=auto) if this image is older.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace

# Modules first, so a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/

# CGO off: distroless/static has no libc, so the binary must be fully static.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o manager ./cmd

# Runtime: no shell, no package manager; nothing but the binary and CA certificates.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /manager
# distroless' nonroot user, numeric so the kubelet can check runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/manager"]
