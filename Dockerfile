# syntax=docker/dockerfile:1
# The racefarm app image: one image runs the coordinator, the workers and the CLI
# (`docker run racefarm coordinator …`, `… worker …`, `… campaign start …`).
# It runs the compiled JavaScript of dist/ (built here by tsc), like the npm package: no TypeScript
# sources and no tsx in the image.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: every dependency (tsc is a devDependency), then `npm run build` → dist/ and its stamp
#    (farm/compiled.ts). .dockerignore keeps test/ and bench/ out of the context, so only the
#    product is compiled.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY sim ./sim
COPY farm ./farm
COPY coordinator ./coordinator
COPY worker ./worker
COPY cli ./cli
COPY schemas ./schemas
RUN npm run -s build && rm -f dist/.tsbuildinfo

# 2. Production dependencies only, from the lockfile.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: what the npm package ships (package.json `files`) and node_modules, run as an
#    unprivileged user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    REDIS_URL=redis://redis:6379
WORKDIR /app
RUN groupadd --system racefarm && useradd --system --gid racefarm --home-dir /app --shell /usr/sbin/nologin racefarm
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root bin ./bin
COPY --chown=root:root proto ./proto
COPY --chown=root:root schemas/*.schema.json ./schemas/
USER racefarm
# gRPC (coordinator), /metrics (coordinator 9464, worker 9465).
EXPOSE 50051 9464 9465
ENTRYPOINT ["node", "bin/racefarm.mjs"]
CMD ["--help"]
