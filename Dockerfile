# syntax=docker/dockerfile:1
# The federation service (functions/federation.ts): a long-lived Node.js process on ECS Fargate, arm64.
#
# Two stages. The build stage bundles the entry point and everything it imports, the AWS SDK included, into one
# ES module with esbuild, the same way the Lambda functions are bundled. The runtime image then holds Node.js and
# that one file: no node_modules (the project's dependencies include aws-cdk-lib and DynamoDB Local, which the
# service never loads), no TypeScript compiler at run time, a smaller image that starts faster and has less in it
# to patch.
#
# The build stage runs on the build machine's own platform (no emulation); its output is plain JavaScript, so
# the arm64 runtime stage only copies it.

FROM --platform=$BUILDPLATFORM node:22-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no install script is needed to bundle (esbuild's binary comes as an optional dependency).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY lib ./lib
COPY functions ./functions
RUN npx esbuild functions/federation.ts \
      --bundle --platform=node --target=node22 --format=esm --minify --sourcemap \
      --banner:js="import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" \
      --outfile=dist/federation.mjs

FROM node:22-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build /src/dist/ ./
# XMPP server-to-server (STARTTLS), direct TLS (XEP-0368), health check.
EXPOSE 5269 5270 8080
USER node
CMD ["node", "federation.mjs"]
