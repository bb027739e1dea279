import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../infra/local/free-port.ts';
import { selfSignedCertificate } from '../../lib/federation/certificates.ts';
import { spawnPeer, untilListening, type PeerServer } from './loopback.ts';

/**
 * A real ejabberd (Debian's 23.01) for interop tests, in a private directory: its own config, Mnesia spool, log and
 * Erlang node name; c2s and s2s on a loopback address of its own. ejabberdctl runs the node as the `ejabberd` user
 * (it must be started as root or as that user). Names are resolved from /etc/hosts (inetrc), as Cirrus does.
 */

const run = promisify(execFile);

export type Ejabberd = PeerServer;

export interface EjabberdOptions {
  domain: string;
  address: string;
  users: Array<{ user: string; password: string }>;
}

export async function startEjabberd(options: EjabberdOptions): Promise<Ejabberd> {
  try {
    await run('sh', ['-c', 'command -v ejabberdctl']);
  } catch {
    throw new Error('ejabberd is not installed: apt-get install ejabberd (.ci/run does it)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-ejabberd-'));
  await mkdir(join(dir, 'spool'));
  await mkdir(join(dir, 'logs'));
  const pem = await selfSignedCertificate([options.domain]);
  await writeFile(join(dir, 'ejabberd.pem'), pem.cert + pem.key, { mode: 0o600 });
  const c2sPort = await freePort(options.address);
  // A JSON string is a valid YAML scalar for these values.
  const config = `hosts:
  - ${JSON.stringify(options.domain)}
loglevel: debug
certfiles:
  - ${JSON.stringify(join(dir, 'ejabberd.pem'))}
listen:
  -
    port: ${c2sPort}
    ip: ${JSON.stringify(options.address)}
    module: ejabberd_c2s
    starttls: false
  -
    port: 5269
    ip: ${JSON.stringify(options.address)}
    module: ejabberd_s2s_in
s2s_use_starttls: required
auth_method: internal
acl:
  local:
    user_regexp: ""
access_rules:
  c2s:
    allow: all
  s2s:
    allow: all
s2s_access: s2s
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_s2s_dialback: {}
`;
  await writeFile(join(dir, 'ejabberd.yml'), config);
  // Erlang's resolver reads /etc/hosts only when told to.
  await writeFile(join(dir, 'inetrc'), '{hosts_file, "/etc/hosts"}.\n{lookup, [file, dns]}.\n');
  const node = `cirrus${process.pid}@localhost`;
  await writeFile(join(dir, 'ejabberdctl.cfg'), `ERLANG_NODE=${node}\nEJABBERD_PID_PATH=${join(dir, 'ejabberd.pid')}\n`);
  if (userInfo().uid === 0) await chownTree(dir, 'ejabberd');
  const ctl = ['--config-dir', dir, '--spool', join(dir, 'spool'), '--logs', join(dir, 'logs')];
  const { child, output, exited } = spawnPeer('ejabberdctl', [...ctl, 'foreground']);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // The Erlang node runs in a session of its own (su): ask it to stop, and make sure by its pid file.
      await run('ejabberdctl', [...ctl, 'stop']).catch(() => undefined);
      const timer = setTimeout(async () => {
        const pid = Number(await readFile(join(dir, 'ejabberd.pid'), 'utf8').catch(() => ''));
        if (pid > 0) process.kill(pid, 'SIGKILL');
        process.kill(-child.pid!, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.KEEP_EJABBERD_DIR) await rm(dir, { recursive: true, force: true });
  };
  try {
    const failed = () => (child.exitCode !== null ? `ejabberd exited: ${output()}` : undefined);
    await untilListening(options.address, c2sPort, failed);
    await untilListening(options.address, 5269, failed);
    for (const { user, password } of options.users) await run('ejabberdctl', [...ctl, 'register', user, options.domain, password]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    domain: options.domain,
    address: options.address,
    c2sPort,
    log: () => readFile(join(dir, 'logs', 'ejabberd.log'), 'utf8'),
    stop,
  };
}

async function chownTree(dir: string, user: string): Promise<void> {
  const { stdout } = await run('id', ['-u', user]);
  const { stdout: group } = await run('id', ['-g', user]);
  const [uid, gid] = [Number(stdout), Number(group)];
  for (const path of [dir, join(dir, 'spool'), join(dir, 'logs'), ...['ejabberd.pem', 'ejabberd.yml', 'inetrc', 'ejabberdctl.cfg'].map((f) => join(dir, f))]) {
    await chown(path, uid, gid);
  }
}
