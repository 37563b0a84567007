# captioner on a GPU host: tfjs-node-gpu (libtensorflow 2.9, CUDA 11.x + cuDNN 8).
# The backend ladder falls back to tfjs-node, wasm, then cpu, so the same image
# also runs without a GPU (docker run without --gpus).
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS base
ARG NODE_VERSION=20.19.5
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl xz-utils \
 && curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" \
    | tar -xJ -C /usr/local --strip-components=1 \
 && apt-get purge -y curl xz-utils && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
WORKDIR /app

FROM base AS deps
# Build tools in case node-pre-gyp must compile the tfjs-node binding.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Optional deps (tfjs-node-gpu, tfjs-node) download libtensorflow here, at build time.
RUN npm ci --no-audit --no-fund --omit=dev
RUN node -e "require('@tensorflow/tfjs-node-gpu')" \
 || echo "tfjs-node-gpu unavailable: the service will fall back to another backend"

FROM base
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 MODELS_DIR=/app/models
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
# The web page's sources: bundled in memory by esbuild when the server starts (src/server/routes/page.ts).
COPY web ./web
COPY models ./models
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/server/main.ts"]
