# syntax=docker/dockerfile:1
# rateguard in a small non-root image: the RLS v3 service (default) and the demo API.
#
#   docker build -t rateguard .
#   docker run --rm -p 8081:8081 -p 8080:8080 -e REDIS_URL=redis://redis.example:6379 rateguard
#
# Settings come from the environment (REDIS_URL, CONFIG_PATH, GRPC_PORT, HTTP_PORT, ... — see
# `docker run --rm rateguard --help`). The bundled config/ is the default; mount yours over /app/config.
# test/deploy/runtime-image.test.ts replays these steps without Docker.
ARG NODE_IMAGE=node:22-alpine

# 1. Build: every dependency, compile TypeScript, then pack exactly what npm would publish
#    (package.json "files") so the runtime gets no sources, tests or tooling.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && tar -xzf /tmp/rateguard-*.tgz -C /tmp \
 && mv /tmp/package /app \
 && cp package-lock.json /app/

# 2. Production dependencies only, from the lockfile. --ignore-scripts: the package's own `prepare`
#    would try to compile again, and no production dependency needs an install script.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime: the packed files and their production node_modules, owned by root and read-only to the
#    process, which runs as a numeric non-root user (Kubernetes can verify runAsNonRoot).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app ./
# envoyproxy/ratelimit's command, as Envoy Gateway forces it: `/bin/ratelimit` runs `serve`.
COPY --chmod=755 scripts/ratelimit /bin/ratelimit
USER 1000:1000
EXPOSE 8081 8080
# Node is PID 1 and handles SIGTERM itself: health turns NOT_SERVING, in-flight calls finish
# (SHUTDOWN_TIMEOUT_MS), then it exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||process.env.PORT||8080)+'/healthcheck').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
