import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../lib/config.ts';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { startHealthServer } from '../../lib/federation/service-health.ts';
import { dialbackSecretFromKey, loadServiceTls } from '../../lib/federation/service-tls.ts';

const baseEnv = { XMPP_DOMAINS: 'cirrus.test', TABLE_NAME: 't', WS_ENDPOINT: 'https://x' };

describe('federation service configuration', () => {
  it('reads the federation environment', () => {
    const config = configFromEnv({
      ...baseEnv,
      S2S_QUEUE_URL: 'https://sqs/q.fifo',
      S2S_PORT: '5269',
      S2S_DIRECT_TLS_PORT: '5270',
      TLS_SECRET_ARN: 'arn:secret',
      S2S_ALLOW_DIALBACK_WITH_INVALID_CERT: 'false',
      S2S_ROUTES: 'Example.net=10.0.0.1:5299, other.org=[::1]:5270,third.org=host.local',
      HEALTH_PORT: '8081',
    });
    expect(config.s2sQueueUrl).toBe('https://sqs/q.fifo');
    expect(config.s2s).toEqual({
      port: 5269,
      directTlsPort: 5270,
      tlsSecretArn: 'arn:secret',
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
      tlsCaFile: undefined,
      allowDialbackWithInvalidCert: false,
      routes: {
        'example.net': { host: '10.0.0.1', port: 5299 },
        'other.org': { host: '::1', port: 5270 },
        'third.org': { host: 'host.local', port: 5269 },
      },
      healthPort: 8081,
    });
    expect(configFromEnv(baseEnv).s2s).toMatchObject({ port: 5269, allowDialbackWithInvalidCert: true, routes: {}, healthPort: 8080 });
    expect(() => configFromEnv({ ...baseEnv, S2S_ROUTES: 'nohost' })).toThrow('not a route (domain=host:port): nohost');
  });
});

describe('federation service TLS', () => {
  it('comes from the Secrets Manager secret, with its dialback secret or one derived from the key', async () => {
    const { cert, key } = await selfSignedCertificate(['cirrus.test']);
    const asked: string[] = [];
    const secrets = (value: object) => ({
      send: async (command: GetSecretValueCommand) => {
        asked.push(command.input.SecretId!);
        return { SecretString: JSON.stringify(value) };
      },
    });
    const s2s = configFromEnv({ ...baseEnv, TLS_SECRET_ARN: 'arn:aws:secretsmanager:x' }).s2s;
    expect(await loadServiceTls(s2s, undefined, secrets({ cert, key, dialbackSecret: 'shared' }))).toEqual({
      cert,
      key,
      ca: undefined,
      dialbackSecret: 'shared',
    });
    const derived = await loadServiceTls(s2s, undefined, secrets({ cert, key }));
    expect(derived.dialbackSecret).toBe(dialbackSecretFromKey(key));
    expect(derived.dialbackSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(asked).toEqual(['arn:aws:secretsmanager:x', 'arn:aws:secretsmanager:x']);
    await expect(loadServiceTls(s2s, undefined, secrets({ cert }))).rejects.toThrow('"cert" and "key"');
  });

  it('comes from TLS_CERT_FILE / TLS_KEY_FILE, with TLS_CA_FILE as extra trust anchors', async () => {
    const { cert, key } = await selfSignedCertificate(['cirrus.test']);
    const dir = await mkdtemp(join(tmpdir(), 'cirrus-tls-'));
    await writeFile(join(dir, 'cert.pem'), cert);
    await writeFile(join(dir, 'key.pem'), key);
    const s2s = configFromEnv({
      ...baseEnv,
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      TLS_CA_FILE: join(dir, 'cert.pem'),
    }).s2s;
    try {
      expect(await loadServiceTls(s2s)).toEqual({ cert, key, ca: [cert], dialbackSecret: dialbackSecretFromKey(key) });
      await expect(loadServiceTls(configFromEnv(baseEnv).s2s)).rejects.toThrow('no TLS certificate');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('federation service health', () => {
  it('answers GET /health 503 until ready, then 200 with the stream counts', async () => {
    let ready = false;
    const health = await startHealthServer(0, () => ({ ready, inbound: 2, outbound: 1 }), '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${health.port}/health`;
      const before = await fetch(url);
      expect(before.status).toBe(503);
      expect(await before.json()).toEqual({ status: 'unavailable', streams: { inbound: 2, outbound: 1 } });
      ready = true;
      const after = await fetch(url);
      expect(after.status).toBe(200);
      expect(await after.json()).toEqual({ status: 'ok', streams: { inbound: 2, outbound: 1 } });
      expect((await fetch(`http://127.0.0.1:${health.port}/other`)).status).toBe(404);
    } finally {
      await health.close();
    }
  });
});
