import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { buildFunctions } from '../../infra/build.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('npm run build bundles each Lambda entry point as minified ESM with the AWS SDK left external', async () => {
  // Inside the repo, so the external @aws-sdk imports resolve from node_modules as the Lambda runtime's would.
  const outdir = join(root, 'dist', 'test-build');
  const bundles = await buildFunctions(outdir);
  expect(bundles.map((b) => b.name)).toEqual(['connect', 'stanza']);
  for (const bundle of bundles) {
    const code = await readFile(bundle.file, 'utf8');
    // The SDK is imported, not bundled; everything else is bundled and minified into long lines.
    expect(code).toMatch(/from"@aws-sdk\/client-dynamodb"/);
    expect(code).toMatch(/from"@aws-sdk\/lib-dynamodb"/);
    expect(code).not.toMatch(/from"(saxes|@xmpp\/xml|ltx)"/);
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    expect(bundle.bytes).toBeLessThan(250 * 1024);
    // A fresh Node process can load it and finds the Lambda handler.
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', `import(${JSON.stringify(bundle.file)}).then((m) => console.log(typeof m.handler))`]);
    expect(stdout.trim()).toBe('function');
  }
});
