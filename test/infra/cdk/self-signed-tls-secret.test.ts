import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, test } from 'vitest';
import { handler, provision, type SecretsPort, type TlsSecretValue } from '../../../infra/constructs/self-signed-tls-secret.handler.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cirrus-tls-AbCdEf';

/** A secret in memory, as Secrets Manager would hold it. */
function memorySecret(initial: TlsSecretValue | string) {
  let value = typeof initial === 'string' ? initial : JSON.stringify(initial);
  let puts = 0;
  const port: SecretsPort = {
    async get(arn) {
      if (arn !== ARN) throw new Error(`unknown secret ${arn}`);
      return value;
    },
    async put(arn, next) {
      if (arn !== ARN) throw new Error(`unknown secret ${arn}`);
      value = next;
      puts += 1;
    },
  };
  return { port, value: () => JSON.parse(value) as TlsSecretValue, puts: () => puts };
}

const event = (RequestType: 'Create' | 'Update' | 'Delete', domains: string[]) =>
  ({
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Cirrus/1',
    RequestId: 'r1',
    LogicalResourceId: 'Certificate',
    ResourceType: 'Custom::CirrusSelfSignedCertificate',
    ResourceProperties: { ServiceToken: 'x', SecretArn: ARN, Domains: domains },
    ...(RequestType === 'Create' ? {} : { PhysicalResourceId: ARN, OldResourceProperties: { ServiceToken: 'x', SecretArn: ARN, Domains: ['old.example'] } }),
  }) as CloudFormationCustomResourceEvent;

const sanOf = (pem: string) => new X509Certificate(pem).subjectAltName;

describe('the self-signed certificate custom resource', () => {
  test('on create puts a certificate naming every domain, with its key, and keeps the generated dialback secret', async ({ expect }) => {
    const secret = memorySecret({ dialbackSecret: 'generated-by-secrets-manager' });
    expect(await provision(event('Create', ['example.com', 'chat.example.com']), secret.port)).toBe(ARN);
    const value = secret.value();
    expect(value).toMatchObject({ dialbackSecret: 'generated-by-secrets-manager', selfSigned: true, domains: ['example.com', 'chat.example.com'] });
    expect(sanOf(value.cert!)).toBe('DNS:example.com, DNS:chat.example.com');
    // The key belongs to the certificate.
    expect(new X509Certificate(value.cert!).checkPrivateKey(createPrivateKey(value.key!))).toBe(true);
  });

  test('never replaces a certificate someone put there', async ({ expect }) => {
    const own = { cert: '-----BEGIN CERTIFICATE-----\nCA-issued\n-----END CERTIFICATE-----\n', key: 'own key', dialbackSecret: 'd' };
    const secret = memorySecret(own);
    await provision(event('Update', ['example.com', 'new.example.com']), secret.port);
    expect(secret.value()).toEqual(own);
    expect(secret.puts()).toBe(0);
  });

  test('replaces its own certificate when the domains change, and only then', async ({ expect }) => {
    const secret = memorySecret({ dialbackSecret: 'd' });
    await provision(event('Create', ['example.com']), secret.port);
    const first = secret.value().cert;
    await provision(event('Update', ['example.com']), secret.port);
    expect(secret.value().cert).toBe(first);
    expect(secret.puts()).toBe(1);
    await provision(event('Update', ['example.com', 'example.org']), secret.port);
    expect(sanOf(secret.value().cert!)).toBe('DNS:example.com, DNS:example.org');
    expect(secret.value().dialbackSecret).toBe('d');
  });

  test('a value that is not JSON is replaced by the expected shape', async ({ expect }) => {
    const secret = memorySecret('not json');
    await provision(event('Create', ['example.com']), secret.port);
    expect(sanOf(secret.value().cert!)).toBe('DNS:example.com');
  });

  test('on delete leaves the secret to CloudFormation', async ({ expect }) => {
    const secret = memorySecret({ dialbackSecret: 'd' });
    expect(await provision(event('Delete', ['example.com']), secret.port)).toBe(ARN);
    expect(secret.puts()).toBe(0);
  });
});

describe('the custom resource handler', () => {
  test('answers CloudFormation FAILED with the reason when Secrets Manager cannot be reached (never leaves it waiting)', async ({ expect }) => {
    const answers: Array<{ method?: string; contentType?: string; body: Record<string, unknown> }> = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        answers.push({ method: request.method, contentType: request.headers['content-type'], body: JSON.parse(body) });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = { ...process.env };
    // A Secrets Manager endpoint where nothing listens.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_MAX_ATTEMPTS: '1',
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/presigned`;
      await handler({ ...event('Create', ['example.com']), ResponseURL: url } as CloudFormationCustomResourceEvent);
    } finally {
      process.env = saved;
      server.close();
    }
    expect(answers).toEqual([
      {
        method: 'PUT',
        contentType: '',
        body: {
          Status: 'FAILED',
          Reason: expect.stringMatching(/ECONNREFUSED|connect/),
          PhysicalResourceId: 'Certificate',
          StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Cirrus/1',
          RequestId: 'r1',
          LogicalResourceId: 'Certificate',
        },
      },
    ]);
  });
});
