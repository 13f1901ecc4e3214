# Doctor: REST API, MCP and crawl workers over one DuckDB file in the /data volume.
#
#   docker build -t doctor .                                  # with Chromium, for JavaScript-rendered pages
#   docker build -t doctor:slim --build-arg WITH_CHROMIUM=false .
#
# Deployment: compose.yaml (README, "Deploying with Docker"). `npm run test:image` builds this file
# with podman and runs the image on a machine without a container runtime.

# --- build: compile TypeScript. Dev dependencies; no install scripts (tsc needs none, and the
# project's `prepare` script would run tsc before the sources are here).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only, with their install scripts (native prebuilds of DuckDB,
# usearch and whatever package.json lists next), built against the runtime image's own glibc.
# Only the root `prepare` script (tsc, a dev dependency) is dropped.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node ships its native library for every OS and CPU (~290 MB): only this image's is kept.
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --no-audit --no-fund \
 && ort=node_modules/onnxruntime-node/bin/napi-v6 \
 && arch="$(node -p process.arch)" \
 && if [ -d "$ort/linux/$arch" ]; then \
      find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + ; \
      find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + ; \
    fi

# --- runtime
FROM node:20-bookworm-slim
LABEL org.opencontainers.image.title="Doctor" \
      org.opencontainers.image.description="Crawl documentation sites into one DuckDB file; search them over REST, MCP and a CLI." \
      org.opencontainers.image.licenses="MIT"
# WITH_CHROMIUM=false leaves Chromium out (no JavaScript rendering; static pages crawl as usual).
ARG WITH_CHROMIUM=true
# Debian's headless build of Chromium (what playwright runs for headless pages), without the desktop
# browser's GTK stack; CHROMIUM_PACKAGE=chromium installs the full browser instead.
ARG CHROMIUM_PACKAGE=chromium-headless-shell
# chromium-common depends on x11-utils (glxinfo, xdpyinfo, ...: X11 desktop tools), which brings Mesa,
# LLVM and ICU, about 215 MB that a headless browser never loads. An empty package that provides
# x11-utils satisfies the dependency; every library Chromium links against is still installed.
# tini is PID 1: it forwards SIGTERM to Doctor (which then shuts down cleanly and removes server.json)
# and reaps Chromium's orphaned helper processes.
RUN set -eu; \
    case "$WITH_CHROMIUM" in \
      true) packages="tini $CHROMIUM_PACKAGE" ;; \
      false) packages="tini" ;; \
      *) echo "WITH_CHROMIUM must be true or false, not '$WITH_CHROMIUM'" >&2; exit 1 ;; \
    esac; \
    if [ "$WITH_CHROMIUM" = true ]; then \
      mkdir -p /tmp/x11-stub/DEBIAN; \
      printf '%s\n' 'Package: doctor-x11-utils-stub' 'Version: 1.0' 'Architecture: all' \
        'Maintainer: Doctor <doctor@localhost>' 'Provides: x11-utils' \
        'Description: stands in for x11-utils, which headless Chromium does not use' >/tmp/x11-stub/DEBIAN/control; \
      dpkg-deb --build /tmp/x11-stub /tmp/x11-stub.deb >/dev/null; \
      dpkg -i /tmp/x11-stub.deb; \
      rm -rf /tmp/x11-stub /tmp/x11-stub.deb; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends $packages; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log

ENV DATA_DIR=/data \
    DOCTOR_CHROMIUM_PATH=/usr/lib/chromium/${CHROMIUM_PACKAGE}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
RUN ln -s /app/bin/doctor.js /usr/local/bin/doctor \
 && mkdir -p /data \
 && chown node:node /data

# The image's files belong to root; Doctor runs as `node` (uid 1000) and writes only to /data.
USER node
VOLUME /data
EXPOSE 9111
# /health never needs the token. The port follows DOCTOR_PORT (set it rather than --port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.DOCTOR_PORT || 9111) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "doctor"]
# Inside a container the server must listen on all interfaces to be reachable through a published
# port; set DOCTOR_API_TOKEN (compose.yaml requires it).
CMD ["serve", "--host", "0.0.0.0"]
