import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../infra/local/free-port.ts';

// `npm start` as a user runs it: npm runs the script from the repository root, so the runner writes
// .cirrus/local.json there; it removes it on exit (only if it is still its own).
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Runner {
  npm: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started: Runner[] = [];
afterEach(() => {
  // Whatever a failed test left behind, npm gone or not: each runner has a process group of its own.
  for (const { npm } of started.splice(0)) signalGroup(npm, 'SIGKILL');
});

function runNpmStart(args: string[]): Runner {
  const env = { ...process.env };
  // The runner must start its own DynamoDB Local, whatever the test run was pointed at.
  for (const name of ['DYNAMODB_ENDPOINT', 'DATA_DIR', 'XMPP_DOMAIN', 'HOST', 'PORT', 'S2S_HOST', 'S2S_ROUTES', 'TLS_CERT_FILE', 'TLS_KEY_FILE']) delete env[name];
  // Not the default 5269: runners of parallel tests, or an XMPP server on this machine, would collide on it.
  env.S2S_PORT = 'auto';
  // Halves the JVM's start-up (C1 only, serial GC): DynamoDB Local's speed does not matter here.
  env.JAVA_TOOL_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
  // detached: its own process group, as a shell gives a foreground job, so the test can send a terminal's Ctrl-C.
  const npm = spawn('npm', ['start', '--', ...args], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const runner = { npm, stdout: () => stdout, stderr: () => stderr, exited };
  started.push(runner);
  return runner;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

interface Banner {
  url: string;
  runnerPid: number;
  javaPid: number;
  dynamodbEndpoint: string;
}

async function bannerOf(runner: Runner): Promise<Banner> {
  const pattern = /Cirrus is running \(pid (\d+)\)[\s\S]*WebSocket\s+(ws:\S+)[\s\S]*DynamoDB Local\s+(http:\S+) \(pid (\d+), in memory\)/;
  await vi.waitFor(
    () => {
      if (runner.npm.exitCode !== null) throw new Error(`npm start exited early:\n${runner.stdout()}\n${runner.stderr()}`);
      expect(runner.stdout()).toMatch(pattern);
    },
    { timeout: 30_000, interval: 100 },
  );
  const [, runnerPid, url, dynamodbEndpoint, javaPid] = pattern.exec(runner.stdout())!;
  return { url: url!, runnerPid: Number(runnerPid), javaPid: Number(javaPid), dynamodbEndpoint: dynamodbEndpoint! };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function localJson(): Promise<string | undefined> {
  return readFile(join(root, '.cirrus', 'local.json'), 'utf8').catch(() => undefined);
}

/** The runner and its Java child both gone within a few seconds, and local.json no longer its own. */
async function expectFullyStopped(banner: Banner) {
  await vi.waitFor(
    () => {
      expect(alive(banner.runnerPid)).toBe(false);
      expect(alive(banner.javaPid)).toBe(false);
    },
    { timeout: 5000, interval: 100 },
  );
  expect((await localJson()) ?? '').not.toContain(banner.dynamodbEndpoint);
}

function refusal(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.once('open', () => reject(new Error('a client without the xmpp subprotocol was accepted')));
  });
}

describe('npm start', () => {
  it('serves host-meta and the xmpp WebSocket, and stops with DynamoDB Local on `kill <npm pid>`', async () => {
    const port = await freePort();
    const runner = runNpmStart(['--port', String(port), '--host', '127.0.0.1']);
    const banner = await bannerOf(runner);
    const url = `ws://127.0.0.1:${port}/xmpp-websocket`;
    expect(banner.url).toBe(url);
    expect(runner.stdout()).toContain('npx cirrus user add alice@localhost --password secret');
    expect(JSON.parse((await localJson()) ?? '{}')).toMatchObject({ dynamodbEndpoint: banner.dynamodbEndpoint, domains: ['localhost'] });

    const hostMeta = await fetch(`http://127.0.0.1:${port}/.well-known/host-meta`);
    expect(hostMeta.headers.get('content-type')).toBe('application/xrd+xml');
    expect(hostMeta.headers.get('access-control-allow-origin')).toBe('*');
    expect(await hostMeta.text()).toContain(`<Link rel='urn:xmpp:alt-connections:websocket' href='${url}'/>`);
    const json = await fetch(`http://127.0.0.1:${port}/.well-known/host-meta.json`).then((res) => res.json());
    expect(json).toEqual({ links: [{ rel: 'urn:xmpp:alt-connections:websocket', href: url }] });

    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const client = new WebSocket(url, ['xmpp']);
      client.once('open', () => resolve(client));
      client.once('error', reject);
    });
    expect(ws.protocol).toBe('xmpp');
    ws.close();
    expect(await refusal(url)).toBe(400);

    // Only npm is signalled: it passes SIGTERM to its `sh -c`, which dies of it without passing it on.
    process.kill(runner.npm.pid!, 'SIGTERM');
    await runner.exited;
    await expectFullyStopped(banner);
  });

  it("stops with DynamoDB Local on a terminal's Ctrl-C (SIGINT to the process group)", async () => {
    const runner = runNpmStart(['--port', String(await freePort()), '--host', '127.0.0.1']);
    const banner = await bannerOf(runner);
    signalGroup(runner.npm, 'SIGINT');
    await runner.exited;
    await expectFullyStopped(banner);
  });

  it('stops with DynamoDB Local on `kill <runner pid>`, and npm exits 0', async () => {
    const runner = runNpmStart(['--port', String(await freePort()), '--host', '127.0.0.1']);
    const banner = await bannerOf(runner);
    // Only the runner: DynamoDB Local is stopped by the runner's own shutdown, nothing else signals it.
    process.kill(banner.runnerPid, 'SIGTERM');
    expect(await runner.exited).toBe(0);
    await expectFullyStopped(banner);
  });

  it('listens for s2s on --s2s-port, and exits 1 with a clear message when that port is taken', async () => {
    const s2sPort = await freePort();
    const first = runNpmStart(['--port', String(await freePort()), '--host', '127.0.0.1', '--s2s-port', String(s2sPort)]);
    await bannerOf(first);
    expect(first.stdout()).toContain(`Federation      s2s on 127.0.0.1:${s2sPort}, self-signed certificate (made at start)`);
    const socket = connect(s2sPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.destroy();

    const second = runNpmStart(['--port', String(await freePort()), '--host', '127.0.0.1', '--s2s-port', String(s2sPort)]);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`the s2s port 127.0.0.1:${s2sPort} is already in use`);
    expect(second.stderr()).toContain('--s2s-port 0');
    signalGroup(first.npm, 'SIGTERM');
    await first.exited;
  });

  it('exits 2 with a message on a bad option', async () => {
    const runner = runNpmStart(['--port', 'abc']);
    expect(await runner.exited).toBe(2);
    expect(runner.stderr()).toContain('--port: not a port number: abc');
  });
});
