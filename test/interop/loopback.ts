import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { connect } from 'node:net';

/** The interop tests' peers and Cirrus instances live on loopback addresses of their own, named in /etc/hosts. */

/** A real peer server the interop tests start: its domain on a loopback address, its client port and its debug log. */
export interface PeerServer {
  domain: string;
  address: string;
  c2sPort: number;
  /** The server's debug log so far (both log the XML they send and receive). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** Fails loudly when the test names are missing from /etc/hosts (never a skip): `.ci/run` adds them. */
export async function checkInteropHost(names: Record<string, string>): Promise<void> {
  for (const [name, address] of Object.entries(names)) {
    const found = await lookup(name, { family: 4 }).catch(() => undefined);
    if (found?.address !== address) {
      throw new Error(`${name} must resolve to ${address} through /etc/hosts (.ci/run adds it): found ${found?.address ?? 'nothing'}`);
    }
  }
}

/** Resolves once host:port accepts connections; `failed` reports a server that died meanwhile. */
export async function untilListening(host: string, port: number, failed: () => string | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const problem = failed();
    if (problem) throw new Error(problem);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (attempt > 600) throw new Error(`nothing listens on ${host}:${port} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a peer server in a process group of its own (so stopping it takes down what it started), keeping what it prints. */
export function spawnPeer(command: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<unknown> } {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, exited: once(child, 'exit') };
}
