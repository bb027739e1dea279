#!/usr/bin/env node
// The `cirrus` admin CLI. The code is TypeScript: tsx compiles it in-process, with the repo's own
// tsconfig whatever the current directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
// Node 20 is supported locally; the SDK's notice about its future Node 22 requirement would bury the one-line output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../infra/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
