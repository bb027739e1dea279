import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { featureTable } from '../lib/features.ts';

test("the README's feature table is the one the modules' metadata generates", async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(featureTable());
});
