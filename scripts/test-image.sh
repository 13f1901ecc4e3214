#!/usr/bin/env bash
# `npm run test:image`: builds Doctor's container image with podman and runs it without a container
# runtime, then writes bench/results/image.md (date, machine, sizes, checks). Takes minutes; not part of
# `npm test` or .ci/run.
#
#  1. a local stand-in for node:20-bookworm-slim when the real one is absent (scripts/image-base-standin.sh,
#     cached: later runs reuse it);
#  2. `podman build --isolation chroot` of the Dockerfile, unchanged: with Chromium and WITH_CHROMIUM=false;
#  3. sizes: uncompressed (what `docker images` shows) and gzip-compressed layers (what a registry stores
#     and `docker pull` downloads);
#  4. each image's filesystem exported (podman create + export): where the bytes are (du by component);
#  5. each filesystem run in a chroot as the image's user by scripts/image-check.ts: /health, HEALTHCHECK,
#     token, crawl + search of examples/site, CLI with the server running and stopped, restart, Chromium
#     rendering, the README's tar backup, a PDF added, every package Doctor's code imports loading, and the
#     local embedder with a tiny ONNX model (made with Debian's python3-onnx; skipped without it).
#
# Needs root, podman, debootstrap, jq, dpkg-query, and the npm registry and Debian's mirror; python3-onnx for
# the local-embedder check.
# Env: DOCTOR_IMAGE_CACHE (stand-in cache, default ~/.cache/doctor-image), IMAGE_RESULTS (output file,
# default bench/results/image.md), KEEP_ROOTFS=1 (keep the exported filesystems for inspection).
# Later runs reuse podman's layer cache; `podman image prune` frees it.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RESULTS=${IMAGE_RESULTS:-$REPO/bench/results/image.md}
BASE=docker.io/library/node:20-bookworm-slim
FULL=localhost/doctor:test
SLIM=localhost/doctor:test-slim

die() { echo "test-image: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root (podman build --isolation chroot and chroot need it)"
for tool in podman debootstrap jq unshare chroot; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install podman debootstrap jq)"; done
[[ -d node_modules/tsx ]] || die "run npm ci first (the checks run under tsx)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/doctor-test-image.XXXXXX")
cleanup() {
  if [[ ${KEEP_ROOTFS:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*" >&2; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1000000 }'; }

step "base image"
bash scripts/image-base-standin.sh
BASE_LABEL=$(podman image inspect "$BASE" --format '{{ index .Labels "org.doctor.test-stand-in" }}')
[[ $BASE_LABEL == '<no value>' ]] && BASE_KIND="the real $BASE" || BASE_KIND="a local stand-in for $BASE ($BASE_LABEL)"

declare -A BUILD_SECONDS
build() { # $1 tag, $2.. build args
  local tag=$1 start=$SECONDS
  shift
  step "podman build $tag $*"
  if ! podman build --isolation chroot --format docker --pull=never --layers -t "$tag" "$@" . >"$WORK/build-${tag##*:}.log" 2>&1; then
    tail -n 40 "$WORK/build-${tag##*:}.log" >&2
    die "podman build $tag failed (log above)"
  fi
  BUILD_SECONDS[$tag]=$((SECONDS - start))
  echo "built $tag in ${BUILD_SECONDS[$tag]} s" >&2
}
build "$FULL"
build "$SLIM" --build-arg WITH_CHROMIUM=false

step "sizes"
size() { podman image inspect "$1" --format '{{.Size}}'; }
# gzip size of every layer, as a registry stores them (the base's layers shared by both images).
compressed() { # $1 image -> bytes
  local dir=$WORK/oci-${1##*:}
  rm -rf "$dir"
  podman push --quiet --compression-format gzip "$1" "oci:$dir:img" >/dev/null 2>&1 || podman push --quiet "$1" "oci:$dir:img" >/dev/null
  local manifest
  manifest=$(jq -r '.manifests[0].digest' "$dir/index.json" | sed 's/sha256://')
  jq -r '[.config.size] + [.layers[].size] | add' "$dir/blobs/sha256/$manifest"
  rm -rf "$dir"
}
declare -A RAW GZ
for img in "$BASE" "$FULL" "$SLIM"; do
  RAW[$img]=$(size "$img")
  GZ[$img]=$(compressed "$img")
  echo "$img: $(mb "${RAW[$img]}") uncompressed, $(mb "${GZ[$img]}") compressed" >&2
done

# Where the bytes of an exported image are. $1 rootfs, $2 the rootfs of the image without Chromium (the
# Debian packages only $1 has are Chromium's), $3 a title.
bytes() { if [[ -e $1 ]]; then du -sb -- "$1" | cut -f1; else echo 0; fi; }
chromium_deps_bytes() { # $1 rootfs, $2 rootfs without Chromium -> bytes
  local pkg f
  comm -23 <(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package}\n' | sort) \
           <(dpkg-query --admindir="$2/var/lib/dpkg" -W -f '${Package}\n' | sort) |
    while read -r pkg; do cat "$1/var/lib/dpkg/info/$pkg.list" "$1/var/lib/dpkg/info/$pkg":*.list 2>/dev/null || true; done |
    { grep -v '^/usr/lib/chromium' || true; } | sort -u |
    while read -r f; do if [[ -f $1$f && ! -L $1$f ]]; then stat -c %s "$1$f"; fi; done |
    awk '{ s += $1 } END { print s + 0 }'
}
breakdown() {
  local root=$1 other=$2 path total listed=0 b
  total=$(bytes "$root")
  echo "### Where the bytes are: $3"
  echo
  echo "\`du\` over the exported filesystem (apparent sizes). A dash: not in the image (removed by the Dockerfile)."
  echo
  echo "| component | size |"
  echo "|---|---|"
  for path in usr/local/bin/node usr/local/include usr/local/lib/node_modules/npm usr/local/lib/node_modules/corepack opt \
    usr/share/doc usr/share/man usr/share/locale var/lib/apt/lists var/cache/apt usr/lib/chromium app/node_modules app/dist; do
    b=$(bytes "$root/$path")
    listed=$((listed + b))
    if [[ -e $root/$path ]]; then echo "| \`/$path\` | $(mb "$b") |"; else echo "| \`/$path\` | - |"; fi
  done
  if [[ -d $root/usr/lib/chromium && -n $other ]]; then
    # Files of the Debian packages this image has and the other has not, outside /usr/lib/chromium.
    b=$(chromium_deps_bytes "$root" "$other")
    listed=$((listed + b))
    echo "| Chromium's Debian dependencies (libraries, fonts; outside /usr/lib/chromium) | $(mb "$b") |"
  fi
  echo "| the rest (Debian's base system, tini, /app's other files) | $(mb $((total - listed))) |"
  echo "| **total** | **$(mb "$total")** |"
  echo
  echo "Largest production dependencies: $(cd "$root/app/node_modules" && for pkg in [!@.]* @*/*; do du -sb -- "$pkg"; done | sort -rn | head -n 12 |
    awk '{ printf "%s%s %.1f MB", (NR > 1 ? ", " : ""), $2, $1 / 1000000 }')."
  if [[ -d $root/usr/lib/chromium ]]; then
    echo
    echo "Largest files of /usr/lib/chromium: $(cd "$root/usr/lib/chromium" && find . -type f -printf '%s %P\n' | sort -rn | head -n 5 |
      awk '{ printf "%s%s %.1f MB", (NR > 1 ? ", " : ""), $2, $1 / 1000000 }')."
  fi
}

export_rootfs() { # $1 image -> $WORK/<tag>.rootfs
  local img=$1 name=${1##*:} ctr
  podman image inspect "$img" >"$WORK/$name.inspect.json"
  mkdir -p "$WORK/$name.rootfs"
  ctr=$(podman create "$img")
  podman export "$ctr" | tar -C "$WORK/$name.rootfs" --numeric-owner -xf -
  podman rm "$ctr" >/dev/null 2>&1 || true
}
step "exporting the images' filesystems"
export_rootfs "$FULL"
export_rootfs "$SLIM"
breakdown "$WORK/test.rootfs" "$WORK/test-slim.rootfs" "with Chromium" >"$WORK/breakdown.md"
{ echo; breakdown "$WORK/test-slim.rootfs" "" "\`WITH_CHROMIUM=false\`"; } >>"$WORK/breakdown.md"
cat "$WORK/breakdown.md" >&2

declare -A OUTCOME
run_checks() { # $1 image, $2 with chromium
  local img=$1 name=${1##*:}
  step "running $img in a chroot"
  if node --import tsx scripts/image-check.ts --rootfs "$WORK/$name.rootfs" --inspect "$WORK/$name.inspect.json" \
    --chromium "$2" --out "$WORK/$name.checks.json" | tee "$WORK/$name.checks.txt"; then
    OUTCOME[$img]=pass
  else
    OUTCOME[$img]=FAIL
  fi
  [[ ${KEEP_ROOTFS:-0} == 1 ]] || rm -rf "$WORK/$name.rootfs"
}
run_checks "$FULL" true
run_checks "$SLIM" false

step "writing $RESULTS"
# A hand-written "## Earlier measurements" section at the end of the results file is kept.
EARLIER=
[[ -f $RESULTS ]] && EARLIER=$(sed -n '/^## Earlier measurements/,$p' "$RESULTS")
verdict() { # $1 bytes, $2 limit MB
  awk -v b="$1" -v l="$2" 'BEGIN { print (b / 1000000 < l) ? "under " l " MB" : "**over " l " MB**" }'
}
checks_table() { jq -r '.checks[] | "| \(if .skipped then "skipped" elif .ok then "pass" else "**FAIL**" end) | \(.name) | \(.detail | gsub("\\|"; "/")) |"' "$WORK/$1.checks.json"; }
{
  echo "# Container image"
  echo
  echo "\`npm run test:image\` (scripts/test-image.sh), $(date -u '+%Y-%m-%d %H:%M UTC'), on $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman version --format '{{.Client.Version}}'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "Base: $BASE_KIND. Built with \`podman build --isolation chroot --format docker\` from the unchanged Dockerfile"
  echo "(with Chromium: ${BUILD_SECONDS[$FULL]} s, without: ${BUILD_SECONDS[$SLIM]} s, on a noisy shared machine)."
  echo
  echo "## Sizes"
  echo
  echo "Uncompressed is what \`podman images\` / \`docker images\` show (the targets apply to it: under 500 MB with Chromium,"
  echo "under 250 MB without); compressed is the sum of the gzip-compressed layers, what a registry stores and \`docker pull\`"
  echo "downloads. The image shares no layer with the base: its system (the base trimmed, plus tini and Chromium) is one"
  echo "flattened layer, so what the Dockerfile removes from the base is really gone."
  echo
  echo "| image | uncompressed | compressed | target (uncompressed) |"
  echo "|---|---|---|---|"
  echo "| $BASE (base, for comparison) | $(mb "${RAW[$BASE]}") | $(mb "${GZ[$BASE]}") | |"
  echo "| doctor, with Chromium | $(mb "${RAW[$FULL]}") | $(mb "${GZ[$FULL]}") | $(verdict "${RAW[$FULL]}" 500) |"
  echo "| doctor, \`WITH_CHROMIUM=false\` | $(mb "${RAW[$SLIM]}") | $(mb "${GZ[$SLIM]}") | $(verdict "${RAW[$SLIM]}" 250) |"
  echo
  echo "Layers over 1 MB of the image with Chromium:"
  echo
  echo "| size | step |"
  echo "|---|---|"
  podman history --no-trunc --format json "$FULL" | jq -r '.[] | select(.size > 1000000) |
    (.CreatedBy | sub("^\\|[0-9]+ (\\S+=\\S* )*"; "")
      | if test("^/bin/sh -c #\\(nop\\) ") then sub("^/bin/sh -c #\\(nop\\) +"; "") else sub("^/bin/sh -c "; "RUN ") end
      | sub(" (dir|file):[0-9a-f]+ in "; " ") | sub("^ADD /$"; "the base image") | sub("^COPY / $"; "COPY --from=system / / (the trimmed base, tini, Chromium)") | gsub("\\s+"; " ") | gsub("\\|"; "/")) as $step |
    "| \(.size / 1000000 | round) MB | `\(if ($step | length) > 90 then $step[0:90] + "..." else $step end)` |"'
  echo
  cat "$WORK/breakdown.md"
  for img in "$FULL" "$SLIM"; do
    name=${img##*:}
    echo
    [[ $img == "$FULL" ]] && echo "## Checks: with Chromium (${OUTCOME[$img]})" || echo "## Checks: \`WITH_CHROMIUM=false\` (${OUTCOME[$img]})"
    echo
    echo "| result | check | detail |"
    echo "|---|---|---|"
    checks_table "$name"
  done
  if [[ -n $EARLIER ]]; then echo; echo "$EARLIER"; fi
} >"$RESULTS"
cat "$RESULTS"

[[ ${OUTCOME[$FULL]} == pass && ${OUTCOME[$SLIM]} == pass ]] || die "some checks failed"
echo "test-image: pass" >&2
