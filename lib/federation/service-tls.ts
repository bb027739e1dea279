import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { S2sConfig } from '../config.ts';

export interface ServiceTls {
  cert: string;
  key: string;
  ca?: string[];
  /** XEP-0185 key generation secret: the same on every task, so any task can verify another's dialback key. */
  dialbackSecret: string;
}

/** The part of the Secrets Manager client used here (tests pass a fake). */
export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string }>;
}

/**
 * The service's certificate: from Secrets Manager (JSON {"cert", "key", "dialbackSecret"?}) when TLS_SECRET_ARN is
 * set, else from TLS_CERT_FILE / TLS_KEY_FILE. Extra trust anchors from TLS_CA_FILE. Never logs what it read.
 */
export async function loadServiceTls(s2s: S2sConfig, region?: string, secrets?: SecretReader): Promise<ServiceTls> {
  let cert: string;
  let key: string;
  let dialbackSecret: string | undefined;
  if (s2s.tlsSecretArn) {
    const client = secrets ?? new SecretsManagerClient({ region });
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: s2s.tlsSecretArn }));
    let parsed: { cert?: unknown; key?: unknown; dialbackSecret?: unknown };
    try {
      parsed = JSON.parse(SecretString ?? '');
    } catch {
      throw new Error('TLS_SECRET_ARN: the secret is not JSON {"cert": PEM, "key": PEM}');
    }
    if (typeof parsed.cert !== 'string' || typeof parsed.key !== 'string') {
      throw new Error('TLS_SECRET_ARN: the secret needs string fields "cert" and "key" (PEM)');
    }
    ({ cert, key } = parsed as { cert: string; key: string });
    if (typeof parsed.dialbackSecret === 'string' && parsed.dialbackSecret) dialbackSecret = parsed.dialbackSecret;
  } else if (s2s.tlsCertFile && s2s.tlsKeyFile) {
    [cert, key] = await Promise.all([readFile(s2s.tlsCertFile, 'utf8'), readFile(s2s.tlsKeyFile, 'utf8')]);
  } else {
    throw new Error('no TLS certificate: set TLS_SECRET_ARN, or TLS_CERT_FILE and TLS_KEY_FILE');
  }
  const ca = s2s.tlsCaFile ? [await readFile(s2s.tlsCaFile, 'utf8')] : undefined;
  return { cert, key, ca, dialbackSecret: dialbackSecret ?? dialbackSecretFromKey(key) };
}

/** Without a configured secret: derived from the private key, which every task shares, and useless without it. */
export function dialbackSecretFromKey(key: string): string {
  return createHmac('sha256', key).update('cirrus xep-0185 dialback secret').digest('hex');
}
