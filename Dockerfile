# syntax=docker/dockerfile:1
# The racefarm app image: one image runs the coordinator, the workers and the CLI
# (`docker run racefarm coordinator …`, `… worker …`, `… campaign start …`).
# The TypeScript sources run through tsx, a runtime dependency: there is no build step.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Production dependencies only, from the lockfile.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 2. Runtime: the sources and node_modules, run as an unprivileged user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    REDIS_URL=redis://redis:6379
WORKDIR /app
RUN groupadd --system racefarm && useradd --system --gid racefarm --home-dir /app --shell /usr/sbin/nologin racefarm
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root proto ./proto
COPY --chown=root:root sim ./sim
COPY --chown=root:root farm ./farm
COPY --chown=root:root coordinator ./coordinator
COPY --chown=root:root worker ./worker
COPY --chown=root:root cli ./cli
USER racefarm
# gRPC (coordinator), /metrics (coordinator 9464, worker 9465).
EXPOSE 50051 9464 9465
ENTRYPOINT ["node", "bin/racefarm.mjs"]
CMD ["--help"]
