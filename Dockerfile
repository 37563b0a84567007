# syntax=docker/dockerfile:1
# captioner, CPU image: Node 22 LTS on Debian bookworm-slim, no CUDA.
# The backend ladder uses @tensorflow/tfjs-node when its libtensorflow
# downloaded at build time, else the wasm backend (GET /health says which).
#   docker build -t captioner:cpu .      (or: docker compose up --build)
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- deps: production node_modules (optional deps kept: sharp, tfjs-node) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Build tools only in case node-pre-gyp must compile a native binding; they stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script downloads the CUDA 12 provider by default on linux/x64: a CPU
# image must not carry it (nor need the internet for it). The variable is read before .npmrc, whose
# onnxruntime-node-install key npm 11 warns it will stop passing on; both say skip.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# --omit=dev drops test tools and nsfwjs (only scripts/extract-nsfwjs.ts needs it).
# Never --omit=optional: sharp's prebuilt binary and tfjs-node are optional dependencies.
# Then what the server never reads: the GPU binding (no CUDA here; it would shadow
# tfjs-node in the backend ladder) and @vladmandic/human's models other than CenterNet.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf node_modules/@tensorflow/tfjs-node-gpu \
 && find node_modules/@vladmandic/human/models -type f ! -name 'centernet.*' -delete \
 && rm -rf node_modules/@vladmandic/human/demo node_modules/@vladmandic/human/assets

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 MODELS_DIR=/app/models
WORKDIR /app
# Layers from least to most often changed: dependencies, then models, then code,
# so a code edit rebuilds only the last layers and a model update not the dependencies.
COPY --from=deps /app/node_modules ./node_modules
COPY models ./models
COPY package.json tsconfig.json ./
COPY src ./src
# The bulk-job worker's entry point (docker-compose.yml's worker services run it).
COPY scripts/worker.ts ./scripts/worker.ts
# The web page's sources: bundled in memory by esbuild when the server starts (src/server/routes/page.ts).
COPY web ./web
# Files stay root-owned (read-only to the service); it runs as the image's unprivileged `node` user.
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself, not npm, so SIGTERM (docker stop) reaches the server, which drains and exits 0.
CMD ["node", "--import", "tsx", "src/server/main.ts"]
