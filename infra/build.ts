import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda entry points; each becomes dist/<name>/index.mjs. */
export const ENTRY_POINTS = ['functions/connect.ts', 'functions/stanza.ts'];

/**
 * Bundles each entry point for Lambda (nodejs22.x, ESM): minified, tree-shaken; the AWS SDK v3 stays
 * external because the runtime provides it.
 */
export async function buildFunctions(outdir = join(root, 'dist')): Promise<Array<{ name: string; file: string; bytes: number }>> {
  await rm(outdir, { recursive: true, force: true });
  const results = [];
  for (const entry of ENTRY_POINTS) {
    const name = basename(entry, '.ts');
    const file = join(outdir, name, 'index.mjs');
    await mkdir(dirname(file), { recursive: true });
    await build({
      entryPoints: [join(root, entry)],
      outfile: file,
      bundle: true,
      minify: true,
      treeShaking: true,
      sourcemap: false,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      external: ['@aws-sdk/*'],
      // Some CommonJS dependencies call require(); give the ESM bundle one.
      banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
      logLevel: 'warning',
    });
    results.push({ name, file, bytes: (await stat(file)).size });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { name, file, bytes } of await buildFunctions()) {
    console.log(`${name.padEnd(10)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB  ${file.slice(root.length + 1)}`);
  }
}
