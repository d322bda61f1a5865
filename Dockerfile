# The worker (with the webhook receiver) in production mode: the prebuilt workflow bundle, JSON logs.
# Used by docker-compose.yml; Temporal and PostgreSQL come from the environment (TEMPORAL_ADDRESS, OPS_DATABASE_URL, DATABASE_URL).
FROM node:20-bookworm-slim

# pg_dump/pg_restore for backups (client 15 = the compose file's server 15), zstd for compression.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client zstd ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
# Typecheck, then write dist/workflow-bundle.js so the worker starts without bundling.
RUN npm run build && npm prune --omit=dev

ENV NODE_ENV=production \
    RUNBOOK_DATA_DIR=/data
VOLUME ["/data"]
# With TEMPORAL_ADDRESS and the database URLs set, start.ts uses them instead of starting its own servers.
CMD ["node_modules/.bin/tsx", "src/stack/start.ts"]
