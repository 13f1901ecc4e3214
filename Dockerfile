# Doctor: REST API, MCP and crawl workers over one DuckDB file in the /data volume.
#
#   docker build -t doctor .                                  # with Chromium, for JavaScript-rendered pages
#   docker build -t doctor:slim --build-arg WITH_CHROMIUM=false .
#
# Deployment: compose.yaml (README, "Deploying with Docker"). `npm run test:image` builds this file
# with podman and runs the image on a machine without a container runtime.

# --- build: Doctor's code and the packages it imports, bundled and minified by esbuild (a dev dependency)
# into one ES module per entry point, the CLI and each worker thread (scripts/image-bundle.mjs): ~25 MB of
# JavaScript in dist/ and node_modules, most of it never loaded, becomes ~4 MB. Packages that need their
# own files beside them (native add-ons, pdf.js, playwright, ...: scripts/image-externals.mjs) stay out of
# it. No install scripts (esbuild needs none; the project's `prepare` script would run tsc).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/image-bundle.mjs scripts/image-externals.mjs ./scripts/
RUN node scripts/image-bundle.mjs /app/bundle

# --- deps: production dependencies only, with their install scripts (native prebuilds of DuckDB,
# usearch, onnxruntime-node), built against the runtime image's own glibc. Only the root `prepare`
# script (tsc, a dev dependency) is dropped. Then trimmed to what the service loads on this platform
# (scripts/image-prune.sh: other platforms' binaries, onnxruntime-web, pdf.js's canvas, typings, source
# maps, docs, unused module formats, debug symbols, sharp's image library), to the packages the bundle
# leaves out and their dependencies (scripts/image-keep.mjs), and their JavaScript minified file by file
# without renaming anything (scripts/image-minify.mjs, with the build stage's esbuild); ~530 MB -> ~126 MB.
# And a copy of the node binary without its debug symbols (99 -> 86 MB).
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/* \
 && strip -o /node /usr/local/bin/node
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY scripts/image-prune.sh scripts/image-keep.mjs scripts/image-externals.mjs scripts/image-minify.mjs /tmp/image/
COPY --from=build /app/node_modules/esbuild /tmp/image/node_modules/esbuild
COPY --from=build /app/node_modules/@esbuild /tmp/image/node_modules/@esbuild
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --no-audit --no-fund \
 && sh /tmp/image/image-prune.sh node_modules \
 && node /tmp/image/image-keep.mjs . \
 && node /tmp/image/image-minify.mjs node_modules \
 && rm -rf /tmp/image
# Without Chromium nothing loads playwright-core (the renderer imports it only when the browser exists).
ARG WITH_CHROMIUM=true
RUN if [ "$WITH_CHROMIUM" = false ]; then rm -rf node_modules/playwright-core; fi

# --- system: the base image with what the service needs and nothing it does not. Flattened into one
# layer below, so what is removed here is really gone from the image (files deleted in a later layer
# still weigh in the layers under it).
FROM node:20-bookworm-slim AS system
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
# What the service never uses:
# - npm, npx, corepack, yarn and Node's C headers (Doctor runs `node` directly; ~75 MB);
# - documentation, man pages and translations (the copyright files stay), apt's and debconf's caches;
# - of Chromium (headless, --disable-gpu): Vulkan's validation layer and mock driver (debugging aids,
#   24 MB) and translations other than en-US. With the headless shell also: the desktop browser's resources
#   (resources.pak and the UI scale packs, 22 MB; the shell has its own headless_lib_*.pak) and its
#   translations; SwiftShader, the software GPU, with the Vulkan loader and the GL stubs (with --disable-gpu
#   it only gives pages WebGL, which draws pixels, never text Doctor reads; 6 MB); the crash reporter's
#   handler (nothing collects reports in a container; 3 MB); and of the libraries it links against, the data
#   only a display uses: X keyboard layouts (xkb) and X input-method locales, and the fonts but one (7 MB).
#   DejaVu Sans stays: without any font, text lays out at 0x0 px and scripts that measure the page see nothing.
RUN set -eu; \
    rm -rf /usr/local/include /usr/local/lib/node_modules /opt/yarn-* /usr/local/share/doc /usr/local/share/man \
      /usr/local/share/systemtap /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /usr/local/bin/docker-entrypoint.sh \
      /usr/local/CHANGELOG.md /usr/local/README.md; \
    find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete; \
    find /usr/share/doc -mindepth 1 -type d -empty -delete; \
    rm -rf /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian /usr/share/linda \
      /var/cache/apt/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /tmp/* /root/.npm; \
    if [ -d /usr/lib/chromium ]; then \
      cd /usr/lib/chromium; \
      rm -f libVkLayer_khronos_validation.so* libVkICD_mock_icd.so* ./*.TOC; \
      if [ "$CHROMIUM_PACKAGE" = chromium-headless-shell ]; then \
        rm -rf resources.pak chrome_100_percent.pak chrome_200_percent.pak locales chrome_crashpad_handler \
          libvk_swiftshader.so vk_swiftshader_icd.json libvulkan.so.1 libEGL.so libGLESv2.so \
          /usr/share/X11/xkb /usr/share/X11/locale; \
        find /usr/share/fonts -type f ! -name DejaVuSans.ttf -delete; \
      fi; \
      if [ -d locales ]; then find locales -name '*.pak' ! -name 'en-US.pak' -delete; fi; \
    fi
COPY --from=deps /node /usr/local/bin/node
# Then what the image does not run: every Debian package that is not glibc, libstdc++, tini, tar
# (README's backup of /data: `docker compose run --entrypoint tar ...`) or Chromium, or a dependency of
# one (scripts/image-system-trim.mjs): apt, dpkg, debconf, perl, the shells, coreutils (but /usr/bin/env,
# for `doctor`'s #!/usr/bin/env node), util-linux, gzip, PAM, GnuTLS, ..., glibc's commands, iconv
# modules and unused libraries (~70 MB; what stays of Debian outside Chromium is ~9 MB). tzdata goes too:
# Node, DuckDB and Chromium read time zones from their own ICU data, so TZ=Europe/Berlin still works. The image has no shell afterwards: the entrypoint is tini -> node, the HEALTHCHECK runs node,
# and playwright starts Chromium without one. So /data, the `doctor` command and the user's home are
# made here, first, while the tools exist.
COPY scripts/image-system-trim.mjs /tmp/
RUN set -euf; \
    mkdir -p /data; \
    chown node:node /data /home/node; \
    ln -s /app/bin/doctor.js /usr/local/bin/doctor; \
    roots="libc6 libc-bin libstdc++6 libgcc-s1 base-files tini tar"; \
    if [ "$WITH_CHROMIUM" = true ]; then roots="$roots $CHROMIUM_PACKAGE"; fi; \
    node /tmp/image-system-trim.mjs $roots; \
    node -e 'require("fs").rmSync("/tmp/image-system-trim.mjs")'

# --- runtime: the system above as one layer, then Doctor's dependencies and code as their own layers
# (a code change rebuilds and ships only the small ones). No RUN here: the image has no shell.
FROM scratch
COPY --from=system / /
LABEL org.opencontainers.image.title="Doctor" \
      org.opencontainers.image.description="Crawl documentation sites into one DuckDB file; search them over REST, MCP and a CLI." \
      org.opencontainers.image.licenses="MIT"
ARG CHROMIUM_PACKAGE=chromium-headless-shell
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DATA_DIR=/data \
    DOCTOR_CHROMIUM_PATH=/usr/lib/chromium/${CHROMIUM_PACKAGE}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/bundle ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
# The web interface's script, stylesheet and icon (served as they are, not compiled).
COPY src/http/ui/assets ./src/http/ui/assets

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
