# Vitrine container image. Untested on the development machines (no
# container engine runs there); kept small and mirroring scripts/setup.
#
#   docker build -t vitrine .
#   docker run -e VITRINE_DATABASE_URL=postgres://... -p 8080:8080 vitrine serve
#
# The image expects an external PostgreSQL >= 15 with pgvector; the private
# cluster is for development machines.

# --- build: cgo for OpenCV (gocv) -------------------------------------------------
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopencv-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/vitrine ./cmd/vitrine
# ONNX Runtime library and model files, checked against their pinned sha256.
RUN VITRINE_HOME=/out/home /out/vitrine models fetch
# The Debian packages providing the shared libraries the binary links.
RUN ldd /out/vitrine | awk '/=> \// {print $3}' | xargs -r dpkg -S 2>/dev/null \
    | cut -d: -f1 | sort -u > /out/runtime-packages

# --- runtime -------------------------------------------------------------------------
FROM debian:bookworm-slim
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --home /var/lib/vitrine --create-home vitrine
COPY --from=build /out/vitrine /usr/local/bin/vitrine
COPY --from=build /out/home/lib /opt/vitrine/lib
COPY --from=build /out/home/models /opt/vitrine/models
COPY models /opt/vitrine/manifests
ENV VITRINE_HOME=/var/lib/vitrine \
    VITRINE_ORT_LIBRARY=/opt/vitrine/lib/libonnxruntime.so.1 \
    VITRINE_MODELS_DIR=/opt/vitrine/models \
    VITRINE_MODELS_MANIFESTS=/opt/vitrine/manifests \
    VITRINE_LOG_FORMAT=json
USER vitrine
EXPOSE 8080
ENTRYPOINT ["vitrine"]
CMD ["serve"]
