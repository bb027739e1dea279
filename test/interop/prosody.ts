import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Element } from '@xmpp/xml';
import { freePort } from '../../infra/local/free-port.ts';
import { selfSignedCertificate, type Pem } from '../../lib/federation/certificates.ts';
import { waitFor } from '../support/clients.ts';
import { spawnPeer, untilListening, type PeerServer } from './loopback.ts';

/**
 * A real Prosody (Debian's prosody 0.12) for interop tests, in a private temp directory: its own config, data,
 * certificate and log; c2s and s2s on a loopback address of its own, so port 5269 is free for Cirrus on another.
 * .ci/run installs Prosody and puts the test names into /etc/hosts.
 */

const run = promisify(execFile);

export interface Prosody extends PeerServer {
  dir: string;
}

export interface ProsodyOptions {
  domain: string;
  /** A loopback address the domain resolves to through /etc/hosts. */
  address: string;
  s2sPort?: number;
  users: Array<{ user: string; password: string }>;
  /** Default: a self-signed certificate for the domain. */
  certificate?: Pem;
  /** Trust anchors for peer certificates (PEM); default: the system's. */
  ca?: string;
  /** `s2s_secure_auth`: peers must present a valid certificate (no dialback fallback). Default false. */
  secureAuth?: boolean;
}

export async function startProsody(options: ProsodyOptions): Promise<Prosody> {
  try {
    await run('prosody', ['--help']);
  } catch {
    throw new Error('prosody is not installed: apt-get install prosody lua-unbound (.ci/run does it)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-prosody-'));
  const certs = join(dir, 'certs');
  await mkdir(certs);
  await mkdir(join(dir, 'data'));
  const pem = options.certificate ?? (await selfSignedCertificate([options.domain]));
  await writeFile(join(certs, `${options.domain}.crt`), pem.cert);
  await writeFile(join(certs, `${options.domain}.key`), pem.key, { mode: 0o600 });
  if (options.ca) await writeFile(join(certs, 'ca.pem'), options.ca);
  const c2sPort = await freePort(options.address);
  const logFile = join(dir, 'prosody.log');
  const lua = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for these paths
  const config = [
    'run_as_root = true -- CI runs as root; Prosody refuses to otherwise',
    'daemonize = false',
    `pidfile = ${lua(join(dir, 'prosody.pid'))}`,
    `data_path = ${lua(join(dir, 'data'))}`,
    `certificates = ${lua(certs)}`,
    `log = { debug = ${lua(logFile)} }`,
    `interfaces = { ${lua(options.address)} }`,
    `c2s_ports = { ${c2sPort} }`,
    `s2s_ports = { ${options.s2sPort ?? 5269} }`,
    'http_ports = { }',
    'https_ports = { }',
    // Prosody 0.12 resolves through libunbound, which reads /etc/hosts only when told to.
    'unbound = { hoststxt = true }',
    // Self-signed certificates: peers authenticate by dialback (XEP-0220) instead of being refused.
    `s2s_secure_auth = ${options.secureAuth ? 'true' : 'false'}`,
    's2s_require_encryption = true',
    // The test clients log in over plain TCP (xmpp.js cannot be told to trust a self-signed certificate).
    'c2s_require_encryption = false',
    'authentication = "internal_hashed"',
    'modules_enabled = { "roster", "saslauth", "tls", "dialback", "disco", "ping", "presence" }',
    ...(options.ca ? [`ssl = { cafile = ${lua(join(certs, 'ca.pem'))} }`] : []),
    `VirtualHost ${lua(options.domain)}`,
    `  ssl = { certificate = ${lua(join(certs, `${options.domain}.crt`))}, key = ${lua(join(certs, `${options.domain}.key`))}${
      options.ca ? `, cafile = ${lua(join(certs, 'ca.pem'))}` : ''
    } }`,
    '',
  ].join('\n');
  const configFile = join(dir, 'prosody.cfg.lua');
  await writeFile(configFile, config);
  for (const { user, password } of options.users) {
    await run('prosodyctl', ['--config', configFile, 'register', user, options.domain, password]);
  }
  const { child, output, exited } = spawnPeer('prosody', ['--config', configFile, '-F']);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.KEEP_PROSODY_DIR) await rm(dir, { recursive: true, force: true });
  };
  try {
    await untilListening(options.address, c2sPort, () => (child.exitCode !== null ? `prosody exited: ${output()}` : undefined));
    await untilListening(options.address, options.s2sPort ?? 5269, () => (child.exitCode !== null ? `prosody exited: ${output()}` : undefined));
  } catch (error) {
    await stop();
    throw error;
  }
  return { domain: options.domain, address: options.address, c2sPort, dir, log: () => readFile(logFile, 'utf8'), stop };
}

/** An xmpp.js client of Prosody over TCP c2s, SCRAM-SHA-1, without STARTTLS; records what it receives. */
export async function prosodyClient(prosody: Prosody, username: string, password: string) {
  const { client } = await import('@xmpp/client');
  const c = client({ service: `xmpp://${prosody.address}:${prosody.c2sPort}`, domain: prosody.domain, username, password, resource: 'test' });
  // Prosody offers STARTTLS with its self-signed certificate, which xmpp.js would verify and refuse: the client
  // does not see the offer (Prosody does not require it for c2s here).
  c.prependListener('element', (element: Element) => {
    if (element.is('features', 'http://etherx.jabber.org/streams')) {
      element.children = element.children.filter((child) => typeof child === 'string' || !child.is('starttls'));
    }
  });
  const received: Element[] = [];
  c.on('stanza', (stanza: Element) => received.push(stanza));
  c.on('error', () => undefined);
  const jid = await c.start();
  return { client: c, jid: jid.toString(), received, next: (match: (s: Element) => boolean, ms = 10_000) => waitFor(received, match, ms) };
}
