# One image, two servers: inventory-server and cart-server.
# The container command picks which one runs, e.g.
#   podman run IMAGE inventory-server --help
#   podman run IMAGE cart-server migrate
# Kubernetes sets `command:` to the absolute path of the binary it wants.

# Base: Debian 12 slim. For reproducible builds pin it by digest in your
# registry mirror (debian:bookworm-slim@sha256:...); deploy/image/ shows how to
# import a locally made base under this same name where no registry is reachable.

# ---------------------------------------------------------------------------
# Build stage: the build subset of deploy/local/packages.txt (the set-up
# script's list; tests/deploy checks that every package here is in it).
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential \
      cmake \
      pkg-config \
      libgrpc++-dev \
      protobuf-compiler-grpc \
      libprotobuf-dev \
      protobuf-compiler \
      libpqxx-dev \
      libgoogle-perftools-dev \
      libabsl-dev \
      libgtest-dev \
      libgmock-dev \
      libbenchmark-dev \
      grpc-proto \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Parallel jobs for the compile; raise it on a bigger build machine.
ARG BUILD_JOBS=2
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --parallel "${BUILD_JOBS}" --target inventory-server cart-server \
 && install -D -m 0755 -s build/services/inventory/inventory-server /out/inventory-server \
 && install -D -m 0755 -s build/services/cart/cart-server /out/cart-server

# ---------------------------------------------------------------------------
# Runtime stage: shared libraries only (no compiler, no headers, no cmake).
# tests/deploy/check-runtime-packages.sh keeps this list honest.
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libgrpc++1.51 \
      libgrpc29 \
      libpq5 \
      libpqxx-6.4 \
      libprotobuf32 \
      libtcmalloc-minimal4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin shop

COPY --from=build /out/inventory-server /out/cart-server /usr/local/bin/

# Fail the build, not the pod, if a shared library is missing from the list above.
RUN for bin in /usr/local/bin/inventory-server /usr/local/bin/cart-server; do \
      if ldd "${bin}" | grep 'not found'; then exit 1; fi; \
    done

# Containers listen on all interfaces; the local run keeps the loopback defaults.
ENV INVENTORY_LISTEN=0.0.0.0:50051 \
    CART_LISTEN=0.0.0.0:50052

EXPOSE 50051 50052

# Numeric so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

# env(1) execs the named server in place: it is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["/usr/bin/env", "--"]
CMD ["inventory-server"]
