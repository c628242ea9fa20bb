# syntax=docker/dockerfile:1
# callrelay: compiled JavaScript on Node 24 LTS (Debian 13 "trixie", glibc 2.41). uWebSockets.js
# ships prebuilt binaries per Node ABI (uws_linux_<arch>_137.node = Node 24) that need glibc 2.38+;
# test/docker-context.test.ts checks both against node_modules, and CI runs the whole suite on this
# runtime (scripts/test-in-trixie.sh). The 20.30 build for older glibc (uws-legacy, an optional
# dependency) is left out of the image: should the current one not load, src/transports/uws.ts stops
# the relay with one line saying why.

# ---- build: all dependencies, TypeScript → dist/ --------------------------------------------------
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
RUN npm run build

# ---- deps: production dependencies only, no optional ones ----------------------------------------
FROM node:24-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------------
FROM node:24-trixie-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
# package.json: "type": "module", and the package root that assets/ and migrations/ are found from.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The spoken apology (src/audio/apology.ts) and the SQL migrations (src/store/migrations.ts).
COPY assets ./assets
COPY migrations ./migrations
# DATA_DIR default ./data (embedded PGlite, call-record outbox): the only place the app writes.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# No curl in the slim image: Node's own fetch. 503 while draining is unhealthy on purpose.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the drain (DRAIN_SECONDS, default 300): give the container that long to stop.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
