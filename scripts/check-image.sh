#!/usr/bin/env bash
# ==============================================================================
# npm run check:image — the add-on image's runtime, proven without Docker.
#
# Builds (once, cached in .cache/image-rootfs) a Debian trixie root filesystem with
# debootstrap from Debian's packages, installs into it what the Dockerfile installs
# (Node.js and uWebSockets.js from addon/image/package-lock.json, zmes's dist/ and
# production node_modules, rootfs/), then inside it (chroot):
#   1. the native uWebSockets.js binary loads on that Node.js and glibc;
#   2. init-zmes/run accepts a sample /data/options.json (SSL on, database unreachable);
#   3. zmes/run starts the server, which keeps running while the database is unreachable;
#   4. the Dockerfile's HEALTHCHECK command succeeds;
#   5. a WSS client completes the TLS WebSocket handshake and gets the version reply;
#   6. SIGTERM stops it with exit code 0;
#   7. as a plain container (no Supervisor, no options.json) it reads /config/zmes.yml and serves.
# Needs root (debootstrap, chroot, mounts), debootstrap and openssl; takes a few minutes
# the first time. ZMES_IMAGE_ROOTFS overrides the cache folder; DEBIAN_MIRROR the mirror;
# ZMES_IMAGE_REFRESH=1 rebuilds the root filesystem.
# ==============================================================================
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ROOTFS="${ZMES_IMAGE_ROOTFS:-$ROOT/.cache/image-rootfs}"
STAGE="$ROOT/.cache/image-stage"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie

results=()
failed=0
pass() { results+=("PASS  $*"); echo "PASS: $*"; }
fail() { results+=("FAIL  $*"); echo "FAIL: $*" >&2; failed=1; }
step() { printf '\n== %s\n' "$*"; }

summary() {
  printf '\n== check:image summary (%s, %s)\n' "$SUITE" "$(uname -m)"
  for line in "${results[@]}"; do echo "$line"; done
  if [ "$failed" = 0 ] && [ "${#results[@]}" -gt 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
}

mounted=()
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap 'cleanup; summary' EXIT

if [ "$(id -u)" != 0 ]; then echo "check:image needs root (debootstrap, chroot, mount)" >&2; exit 1; fi
for tool in debootstrap chroot openssl mount; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "missing $tool: apt-get install debootstrap openssl" >&2
    exit 1
  fi
done
export PATH="$PATH:/usr/sbin:/sbin"

# ---- 1. Debian trixie root filesystem (the base image's OS), cached ----------------------
step "Debian $SUITE root filesystem in $ROOTFS"
if [ "${ZMES_IMAGE_REFRESH:-0}" = 1 ] || [ ! -f "$ROOTFS/.zmes-debootstrap-done" ]; then
  rm -rf "$ROOTFS"
  mkdir -p "$(dirname "$ROOTFS")"
  # curl and ca-certificates: the Home Assistant base has them, and the HEALTHCHECK uses curl.
  debootstrap --variant=minbase --include=ca-certificates,curl "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.debootstrap.log" 2>&1 \
    || { tail -20 "$ROOTFS.debootstrap.log" >&2; fail "debootstrap $SUITE"; exit 1; }
  touch "$ROOTFS/.zmes-debootstrap-done"
  echo "built (log: $ROOTFS.debootstrap.log)"
else
  echo "cached (ZMES_IMAGE_REFRESH=1 rebuilds it)"
fi
glibc="$(chroot "$ROOTFS" /usr/bin/ldd --version | sed -n 1p | grep -o '[0-9.]*$')"
echo "Debian $(cat "$ROOTFS/etc/debian_version"), glibc $glibc"
if printf '%s\n%s\n' 2.38 "$glibc" | sort -V -C; then pass "Debian $SUITE rootfs, glibc $glibc (>= 2.38)"; else fail "glibc $glibc < 2.38"; fi

# ---- 2. What the Dockerfile installs ----------------------------------------------------
step "zmes build and runtime dependencies (as the Dockerfile's build and deps stages)"
npm run --silent build
rm -rf "$STAGE"
mkdir -p "$STAGE/zmes" "$STAGE/image"
cp package.json package-lock.json "$STAGE/zmes/"
(cd "$STAGE/zmes" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp addon/image/package.json addon/image/package-lock.json "$STAGE/image/"
(cd "$STAGE/image" && npm ci --no-audit --no-fund --loglevel=error)
node_arch="$(node -p process.arch)"
rm -rf "$STAGE/zmes/node_modules/uWebSockets.js"
mv "$STAGE/image/node_modules/uWebSockets.js" "$STAGE/zmes/node_modules/uWebSockets.js"
uws_version="$(node -p "require('$STAGE/zmes/node_modules/uWebSockets.js/package.json').version")"

rm -rf "$ROOTFS/opt/zmes" "$ROOTFS/data" "$ROOTFS/ssl" "$ROOTFS/config"
mkdir -p "$ROOTFS/opt/zmes" "$ROOTFS/data" "$ROOTFS/ssl" "$ROOTFS/config"
install -m 755 "$STAGE/image/node_modules/node-linux-$node_arch/bin/node" "$ROOTFS/usr/local/bin/node"
cp -a "$STAGE/zmes/node_modules" "$ROOTFS/opt/zmes/node_modules"
cp -a dist "$ROOTFS/opt/zmes/dist"
cp package.json "$ROOTFS/opt/zmes/package.json"
cp -a rootfs/. "$ROOTFS/"
rm -f "$ROOTFS/.gitattributes"
echo "installed: node-linux-$node_arch, uWebSockets.js $uws_version, dist/, production node_modules, rootfs/"

mount -t proc proc "$ROOTFS/proc" && mounted+=("$ROOTFS/proc")
mount --bind /dev "$ROOTFS/dev" && mounted+=("$ROOTFS/dev")

# Waits up to 30 s for zmes (server_pid) to log "ready" in $1; fails early if it exits.
wait_ready() {
  for _ in $(seq 1 60); do
    if grep -q 'ready' "$1"; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

in_image() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TZ=UTC "$@"; }

# ---- 3. Native uWebSockets.js on the image's Node.js ------------------------------------
step "native uWebSockets.js inside the $SUITE root filesystem"
in_image ldd /usr/local/bin/node | sed 's/^/  /'
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
if in_image node -e '
  const uws = require("/opt/zmes/node_modules/uWebSockets.js");
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const loaded = Object.keys(require.cache).filter((f) => f.endsWith(".node"));
  const glibc = process.report.getReport().header.glibcVersionRuntime;
  console.log(`  node ${process.version} (ABI ${process.versions.modules}), glibc ${glibc}`);
  console.log(`  expected binary ${binary}; loaded ${loaded.join(", ") || "none"}`);
  if (typeof uws.SSLApp !== "function") throw new Error("SSLApp missing: JavaScript fallback");
  if (!loaded.some((f) => f.endsWith("/" + binary))) throw new Error("native binary " + binary + " not loaded");
  console.log("  SSLApp is a " + typeof uws.SSLApp);
'; then
  pass "Node $(in_image node -p process.version) loads the native uWebSockets.js $uws_version binary (SSLApp present)"
else
  fail "native uWebSockets.js binary did not load"
  exit 1
fi

# ---- 4. zmes with sample options: SSL on, database unreachable ----------------------------
step "zmes in the root filesystem (init-zmes, then zmes/run)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ROOTFS/ssl/privkey.pem" -out "$ROOTFS/ssl/fullchain.pem" -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# 127.0.0.1:9 (discard) has no database: zmes must keep running and retry.
cat >"$ROOTFS/data/options.json" <<EOF
{"log_level":"info","zm_db_host":"127.0.0.1","zm_db_port":9,"zm_db_name":"zm","zm_db_user":"zmuser",
 "zm_db_password":"image-check-pw","auth_enable":true,"ssl":true,"certfile":"fullchain.pem","keyfile":"privkey.pem",
 "fcm_mode":"disabled","mqtt_enable":false,"mqtt_topic":"zoneminder","ha_discovery":true}
EOF
if in_image ZMES_ADDON_PORT="$port" bash /etc/s6-overlay/s6-rc.d/init-zmes/run >"$STAGE/init.log" 2>&1; then
  grep -E '^\[(init-zmes|zmes)\]|^  (enable|cert|key|host|port) ' "$STAGE/init.log" | sed 's/^/  /'
  pass "init-zmes/run validates the sample options inside the image"
else
  sed 's/^/  /' "$STAGE/init.log"
  fail "init-zmes/run rejected the sample options"
  exit 1
fi

log="$STAGE/zmes.log"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TZ=UTC ZMES_ADDON_PORT="$port" \
  bash /etc/s6-overlay/s6-rc.d/zmes/run >"$log" 2>&1 &
server_pid=$!
if wait_ready "$log"; then pass "zmes/run started zmes (wss on port $port inside the image)"; else sed 's/^/  /' "$log"; fail "zmes did not become ready"; exit 1; fi

sleep 5
if kill -0 "$server_pid" 2>/dev/null && grep -qiE 'database|db\]' "$log"; then
  grep -iE 'unreachable|unavailable|retry|database' "$log" | sed -n '1,3s/^/  /p'
  pass "zmes keeps running while the database is unreachable"
  # For the figures in bench/RESULTS.md: the image's Node, push and MQTT off (no pass or fail).
  rss_kb="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$server_pid/status" 2>/dev/null || true)"
  if [ -n "$rss_kb" ]; then echo "  zmes RSS after 5 s: $((rss_kb / 1024)) MB (Node $(in_image node -p process.version), push and MQTT off)"; fi
else
  sed 's/^/  /' "$log"
  fail "zmes did not survive an unreachable database"
fi

# ---- 5. HEALTHCHECK and a WSS client ------------------------------------------------------
step "HEALTHCHECK and WSS client"
health="$(sed -n 's/^ *CMD \(curl .*\)$/\1/p' Dockerfile | sed "s/:9000/:$port/g")"
if in_image bash -c "$health" >/dev/null 2>&1; then pass "the Dockerfile's HEALTHCHECK command succeeds inside the image"; else fail "HEALTHCHECK command failed: $health"; fi

if node scripts/check-image-client.mjs "wss://127.0.0.1:$port" "$ROOTFS/ssl/fullchain.pem"; then
  pass "WSS client: TLS WebSocket handshake and version reply"
else
  fail "WSS client did not get the version reply"
fi

# ---- 6. SIGTERM -> exit 0 -----------------------------------------------------------------
step "SIGTERM"
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
tail -3 "$log" | sed 's/^/  /'
if [ "$code" = 0 ]; then pass "SIGTERM: sockets closed, exit code 0"; else fail "exit code $code after SIGTERM"; fi
if grep -q 'image-check-pw' "$log" "$STAGE/init.log"; then fail "the database password reached the log"; else pass "no secret in the log"; fi

# ---- 7. the same image as a plain container: no Supervisor, no options.json ---------------
step "plain container (docker run without the Supervisor)"
rm -f "$ROOTFS/data/options.json"
cat >"$ROOTFS/config/zmes.yml" <<EOF
network: {address: 127.0.0.1, port: $port}
ssl: {enable: no}
database: {host: 127.0.0.1, port: 9, name: zm, user: zmuser, password: image-check-pw, zm_conf: ""}
EOF
if in_image bash /etc/s6-overlay/s6-rc.d/init-zmes/run >"$STAGE/plain-init.log" 2>&1 \
  && grep -q 'plain container, configuration /config/zmes.yml' "$STAGE/plain-init.log"; then
  pass "init-zmes/run checks /config/zmes.yml when there is no Supervisor"
else
  sed 's/^/  /' "$STAGE/plain-init.log"
  fail "init-zmes/run in a plain container"
fi
plain_log="$STAGE/plain.log"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TZ=UTC \
  bash /etc/s6-overlay/s6-rc.d/zmes/run >"$plain_log" 2>&1 &
server_pid=$!
if wait_ready "$plain_log" && grep -q 'configuration read from /config/zmes.yml' "$plain_log" && in_image bash -c "$health" >/dev/null 2>&1; then
  pass "plain container: zmes reads /config/zmes.yml, logs to stdout, the HEALTHCHECK succeeds"
else
  sed 's/^/  /' "$plain_log"
  fail "plain container did not start"
fi
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
if [ "$code" = 0 ]; then pass "plain container: SIGTERM, exit code 0"; else fail "plain container: exit code $code after SIGTERM"; fi
if grep -q 'image-check-pw' "$plain_log" "$STAGE/plain-init.log"; then fail "plain container: the database password reached the log"; else pass "plain container: no secret in the log"; fi
