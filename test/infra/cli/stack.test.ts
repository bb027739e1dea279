import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { CliError } from '../../../infra/cli/errors.ts';
import { parseStackOutputs, readStack, type StackReader } from '../../../infra/cli/stack.ts';
import { OUTPUTS } from '../../../infra/constructs/outputs.ts';
import { verifyPassword } from '../../../lib/sasl/credentials.ts';
import { Accounts } from '../../../lib/store/accounts.ts';
import { freshDb } from '../../support/db.ts';

const cirrus = fileURLToPath(new URL('../../../bin/cirrus.js', import.meta.url));

const outputs = (tableName?: string, domains = 'example.com,example.org') => [
  ...(tableName ? [{ OutputKey: OUTPUTS.tableName, OutputValue: tableName }] : []),
  { OutputKey: OUTPUTS.domains, OutputValue: domains },
  { OutputKey: OUTPUTS.webSocketUrl, OutputValue: 'wss://abc.execute-api.eu-west-1.amazonaws.com/xmpp' },
];

/** A CloudFormation client stand-in: answers DescribeStacks from `stacks`, records what was asked. */
function fakeCloudFormation(stacks: Record<string, ReturnType<typeof outputs>>, region = 'eu-west-1') {
  const asked: string[] = [];
  const client: StackReader = {
    config: { region: async () => region },
    async send(command: DescribeStacksCommand) {
      const name = command.input.StackName!;
      asked.push(name);
      const found = stacks[name];
      if (!found) throw Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });
      return { Stacks: [{ StackName: name, StackStatus: 'CREATE_COMPLETE', Outputs: found }] };
    },
  };
  return { client, asked };
}

describe('stack outputs', () => {
  test('name the table and the served domains', ({ expect }) => {
    expect(parseStackOutputs('Cirrus', outputs('Cirrus-XmppTable-1ABC'))).toEqual({
      tableName: 'Cirrus-XmppTable-1ABC',
      domains: ['example.com', 'example.org'],
    });
  });

  test('without a table name are not a Cirrus stack: exit 1 saying so', ({ expect }) => {
    let error: unknown;
    try {
      parseStackOutputs('Other', outputs(undefined));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: 1, message: expect.stringContaining('stack Other has no TableName output') });
  });
});

describe('readStack', () => {
  test('asks CloudFormation for the named stack and takes the region from the client', async ({ expect }) => {
    const { client, asked } = fakeCloudFormation({ Cirrus: outputs('T1') }, 'ap-south-1');
    expect(await readStack('Cirrus', { client })).toEqual({ tableName: 'T1', domains: ['example.com', 'example.org'], region: 'ap-south-1' });
    expect(asked).toEqual(['Cirrus']);
  });

  test('of a stack that does not exist fails with exit 1 naming stack and region', async ({ expect }) => {
    const { client } = fakeCloudFormation({});
    await expect(readStack('Nope', { client })).rejects.toMatchObject({ exitCode: 1, message: 'no stack Nope in eu-west-1' });
  });

  test('without any region says to pass --region', async ({ expect }) => {
    const client: StackReader = {
      config: { region: () => Promise.reject(new Error('Region is missing')) },
      send: () => Promise.reject(new Error('not reached')),
    };
    await expect(readStack('Cirrus', { client })).rejects.toMatchObject({ exitCode: 1, message: expect.stringContaining('pass --region') });
  });
});

/**
 * The real CLI against a stand-in CloudFormation endpoint (the SDK's AWS_ENDPOINT_URL_CLOUDFORMATION) that answers
 * DescribeStacks in the Query protocol's XML, and DynamoDB Local as "the AWS table" (AWS_ENDPOINT_URL_DYNAMODB).
 */
describe('cirrus … --stack', () => {
  let server: Server;
  let cloudFormation: string;
  const requests: string[] = [];
  let tableName = '';

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push(body);
        const params = new URLSearchParams(body);
        const members = (name: string) =>
          params.get('StackName') === name
            ? outputs(tableName, 'example.com')
                .map((o) => `<member><OutputKey>${o.OutputKey}</OutputKey><OutputValue>${o.OutputValue}</OutputValue></member>`)
                .join('')
            : undefined;
        const found = members('Cirrus');
        if (params.get('Action') !== 'DescribeStacks' || found === undefined) {
          response.writeHead(400, { 'content-type': 'text/xml' }).end(
            `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
              `<Message>Stack with id ${params.get('StackName')} does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>`,
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'text/xml' }).end(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
            `<StackName>Cirrus</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-24T20:00:00Z</CreationTime>` +
            `<Outputs>${found}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cloudFormation = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = (args: string[], dynamodb: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const env = {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        // Keep the developer's own AWS config out of it.
        AWS_CONFIG_FILE: join('/nonexistent', 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join('/nonexistent', 'credentials'),
      };
      const child = execFile(process.execPath, [cirrus, ...args], { env, timeout: 15_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
      child.stdin!.on('error', () => undefined).end();
    });

  test('user add finds the table and domains in the stack outputs and creates the account there', async ({ expect }) => {
    const db = await freshDb();
    tableName = db.table;
    const result = await run(['user', 'add', 'alice@example.com', '--password', 'secret', '--stack', 'Cirrus', '--region', 'eu-west-1'], db.endpoint);
    expect(result).toMatchObject({ code: 0, stdout: 'created alice@example.com\n' });
    expect(new URLSearchParams(requests.at(-1)).get('StackName')).toBe('Cirrus');
    const account = await new Accounts(db).get('alice@example.com');
    expect(verifyPassword('secret', account!.credentials['SCRAM-SHA-256'], 'SCRAM-SHA-256')).toBe(true);

    const elsewhere = await run(['user', 'add', 'bob@example.net', '--password', 'pw', '--stack', 'Cirrus', '--region', 'eu-west-1'], db.endpoint);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('example.net is not served here (served: example.com)');
  });

  test('of a stack that does not exist exits 1 naming it', async ({ expect }) => {
    const result = await run(['user', 'list', '--stack', 'Missing', '--region', 'eu-west-1'], 'http://127.0.0.1:9');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no stack Missing in eu-west-1');
  });

  test('with --table as well exits 2: the stack names the table', async ({ expect }) => {
    const result = await run(['user', 'list', '--stack', 'Cirrus', '--table', 'other'], 'http://127.0.0.1:9');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stack names the table: it cannot go with --table');
  });
});
