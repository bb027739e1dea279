import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';
import { freePort } from '../../infra/local/free-port.ts';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('functions/federation.ts runs as the container does: healthy once listening, exits 0 on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-entry-'));
  const pem = await selfSignedCertificate(['x.test']);
  await writeFile(join(dir, 'cert.pem'), pem.cert);
  await writeFile(join(dir, 'key.pem'), pem.key);
  const [s2sPort, healthPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/federation.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      XMPP_DOMAINS: 'x.test',
      TABLE_NAME: 'unused',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      WS_ENDPOINT: 'http://127.0.0.1:9',
      // Nothing listens there: receiving fails, is logged and retried; the service itself stays up.
      S2S_QUEUE_URL: 'http://127.0.0.1:9/000000000000/s2s-out.fifo',
      S2S_PORT: String(s2sPort),
      HEALTH_PORT: String(healthPort),
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
    },
  });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = once(child, 'exit');
  try {
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited early:\n${stdout}`);
        expect((await fetch(`http://127.0.0.1:${healthPort}/health`)).status).toBe(200);
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(stdout).toContain('"msg":"federation service ready"');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toContain('"msg":"SIGTERM: stopping"');
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
