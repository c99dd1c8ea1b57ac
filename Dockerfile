# adjoint's image: built in one stage with the dev dependencies (TypeScript), run in another
# with the production dependencies and the compiled JavaScript only. Plain Dockerfile syntax,
# so the classic builder builds it too.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-widget.ts ./scripts/
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The course widgets' bundle (adjoint.js, the playground), with their gzip and brotli forms.
COPY --from=build /app/dist/widget ./dist/widget
# The base image's unprivileged user (uid 1000); the app writes nothing to disk.
USER node
EXPOSE 8080
# No curl in the image: Node itself asks /healthz, on the port PORT names (docker run -e PORT=9000).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT?.trim() || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# WORKERS defaults to the CPUs the container is given (its cgroup quota); SIGTERM drains, then exits 0.
CMD ["node", "dist/src/server/server.js"]
