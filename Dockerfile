# Switchyard's container image: `switchyard serve` on 0.0.0.0, gRPC on 50051
# and Prometheus metrics on 9090, serving the built-in demo model unless
# flags say otherwise:
#
#   podman build --format docker -t switchyard .
#   podman run --rm -p 127.0.0.1:50051:50051 -p 127.0.0.1:9090:9090 switchyard
#   podman run --rm -v /models/m:/models/m:ro switchyard --model /models/m
#
# Arguments after the image replace CMD (the port defaults below) and go to
# `switchyard serve` after `--host 0.0.0.0`. `--format docker` keeps the
# HEALTHCHECK, which the OCI format has no field for (podman drops it).
#
# CPU image (the default; built and run by tests/deploy/image.sh):
#   BASE_IMAGE    Debian 12 to build and run on: debian:bookworm-slim, or the
#                 image tools/make_base_image.sh makes with debootstrap where
#                 no registry is reachable.
#
# GPU image (the CUDA plugin, lib/switchyard/libswitchyard_cuda.so, which
# `--backend=auto|cuda` loads):
#   podman build --format docker -t switchyard:cuda \
#     --build-arg BASE_IMAGE=docker.io/nvidia/cuda:13.0.1-devel-ubuntu24.04 \
#     --build-arg RUNTIME_IMAGE=docker.io/nvidia/cuda:13.0.1-runtime-ubuntu24.04 \
#     --build-arg SWITCHYARD_CUDA=ON \
#     --build-arg RUNTIME_PACKAGES="libabsl20220623t64 libgrpc++1.51t64 libgomp1 libonig5 \
#       libopenblas0-openmp libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprotobuf32t64 libspdlog1.12" .
#   podman run --device nvidia.com/gpu=all ... switchyard:cuda --backend=cuda   (docker: --gpus all)
# The GPU image has never been built: NVIDIA's base images cannot be pulled
# where this project is developed and tested. The Ubuntu 24.04 runtime
# package names above are Debian's with Ubuntu's 64-bit time_t renames, not
# checked against that archive; `ldd /usr/local/bin/switchyard` and
# `ldd /usr/local/lib/switchyard/libswitchyard_cuda.so` inside the image show
# anything missing.
#
# CPU flags: the project compiles for x86-64-v3 (AVX2, FMA, F16C) unless
# SWITCHYARD_NATIVE is set, so the image runs on any AVX2 machine, whatever
# machine built it. Keep it that way: -march=native would tie the image to
# the build machine.

ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
ARG RUNTIME_IMAGE=${BASE_IMAGE}

# ---- build: the -dev packages, and only what the image ships ----
FROM ${BASE_IMAGE} AS build
# tools/setup.sh's DEBIAN_PACKAGES less what only the tests use (Python, GTest,
# Google Benchmark, promtool, openssl). Before COPY, so that a source change
# reuses this layer.
# Not pinned to versions (DL3008): the suite of BASE_IMAGE fixes every
# library's ABI (the runtime names carry it), and exact Debian versions would
# stop resolving at the suite's next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libabsl-dev nlohmann-json3-dev libspdlog-dev libonig-dev libopenblas-openmp-dev \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler prometheus-cpp-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# ON also builds the CUDA plugin; the build stage must then have nvcc
# (/usr/local/cuda in NVIDIA's -devel images), or CMake leaves it out.
ARG SWITCHYARD_CUDA=OFF
# The plugin's target exists only when CMake found nvcc; its absence then
# fails the build rather than shipping a GPU image without it.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DSWITCHYARD_BUILD_TESTS=OFF -DSWITCHYARD_BUILD_BENCH=OFF -DSWITCHYARD_CUDA="${SWITCHYARD_CUDA}" \
 && cmake --build /build --target switchyard switchyard-cli \
 && if [ "${SWITCHYARD_CUDA}" = ON ]; then cmake --build /build --target switchyard_cuda; fi \
 && cmake --install /build --strip --prefix /staging

# ---- runtime: the shared libraries the binaries link, nothing else ----
FROM ${RUNTIME_IMAGE} AS runtime
# The packages of the libraries `ldd` lists for switchyard and switchyard-cli
# (tests/deploy/image.sh checks that none is missing); their own dependencies
# (libgrpc29, libfmt9, civetweb, ...) come with them.
ARG RUNTIME_PACKAGES="libabsl20220623 libgrpc++1.51 libgomp1 libonig5 libopenblas0-openmp \
libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprotobuf32 libspdlog1.10"
# DL3008 as above. apt-get clean: the downloaded packages and apt's caches
# (~90 MB) would stay in the layer where the base image does not remove them.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

# bin/switchyard, bin/switchyard-cli, share/switchyard/demo-model (and
# lib/switchyard/ on the GPU image), which the binaries find relative to
# their own directory.
COPY --from=build /staging/ /usr/local/

LABEL org.opencontainers.image.title="switchyard" \
      org.opencontainers.image.description="gRPC inference server for Mixture-of-Experts language models"

# Any numeric non-root user works (Kubernetes' runAsNonRoot needs a number to
# check); the server writes nothing but its log to stderr, so the root
# filesystem can be mounted read-only.
USER 65532:65532
EXPOSE 50051 9090
# SIGTERM drains: health NOT_SERVING, new calls UNAVAILABLE, calls in flight
# finish for up to --drain-timeout (30s), exit 0. Give `podman stop -t` /
# terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
# Through the gRPC health service, in plaintext on the default port: serving
# on another --port, or with TLS (--tls-cert-file), needs the check overridden
# too (podman run --health-cmd). Kubernetes ignores HEALTHCHECK and probes by
# itself (deploy/). The start period covers loading a large model.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["switchyard-cli", "health", "--addr=127.0.0.1:50051", "--timeout=4s"]
# --host 0.0.0.0: the server's own default is loopback only, which a published
# container port cannot reach.
ENTRYPOINT ["switchyard", "serve", "--host", "0.0.0.0"]
CMD ["--port", "50051", "--metrics-port", "9090"]
