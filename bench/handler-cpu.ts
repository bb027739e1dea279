import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configFromEnv } from '../lib/config.ts';
import { deriveCredentials } from '../lib/sasl/credentials.ts';
import { createXmppServer, type XmppServer } from '../lib/server.ts';
import { Accounts } from '../lib/store/accounts.ts';
import { createDb, type Db } from '../lib/store/client.ts';
import { ensureTable } from '../lib/store/create-table.ts';
import type { Connections } from '../lib/transport/connections.ts';
import { median } from './stats.ts';

/** µs of CPU in lib/ per stanza of one type, I/O excluded. */
export interface HandlerCpuRow {
  stanza: string;
  what: string;
  /** Median over rounds of (CPU time of the round / stanzas in it). */
  usPerStanza: number;
  /** Same, wall time (single thread, no I/O: close to the CPU time). */
  wallUsPerStanza: number;
  /** Frames the handler posted per stanza: the replay did the real work, not an early exit. */
  framesOut: number;
  /** DynamoDB calls answered from the recording per stanza. */
  dbCalls: number;
  iterations: number;
}

/**
 * Part 4, a CPU micro-benchmark: how long lib/ takes to handle one stanza of each steady-state type with no
 * I/O at all. This uses FAKE PORTS on purpose (unlike every test): the server gets a Db whose `doc.send`
 * answers from a Map and a Connections that collects frames. The Map is filled by recording real answers
 * from DynamoDB Local while a few users log in and handle each stanza once; then the same stanza is handled
 * many times with every DynamoDB call answered from the recording (keyed by command and input, timestamps
 * masked), so what is timed is parsing, routing, building replies and the SDK's command objects.
 */
export async function measureHandlerCpu(options: { dynamodbEndpoint: string; domain: string; contacts: number; ms: number }): Promise<HandlerCpuRow[]> {
  const { domain } = options;
  const real = createDb({ endpoint: options.dynamodbEndpoint, tableName: `bench-cpu-${randomUUID()}` });
  await ensureTable(real);
  const replay = new ReplayDb(real);
  const collected: Array<{ connectionId: string; frame: string }> = [];
  const connections: Connections = {
    post: async (connectionId, frame) => {
      collected.push({ connectionId, frame });
      return true;
    },
    close: async () => undefined,
  };
  const config = configFromEnv({ XMPP_DOMAINS: domain, TABLE_NAME: real.table, AWS_REGION: 'local', WS_ENDPOINT: 'http://unused' });
  const server = createXmppServer(config, { db: replay.db, connections });

  // alice has K contacts, all online, every subscription `both`.
  const names = ['alice', ...Array.from({ length: options.contacts }, (_, i) => `contact${i + 1}`)];
  const credentials = deriveCredentials('cpu-bench');
  const accounts = new Accounts(real);
  for (const name of names) await accounts.create(`${name}@${domain}`, credentials);
  const conn = (name: string) => `cpu-${name}`;
  for (const name of names) await login(server, conn(name), name, domain, collected);
  for (const contact of names.slice(1)) {
    const a = conn('alice');
    const c = conn(contact);
    await server.frame(a, `<presence xmlns='jabber:client' type='subscribe' to='${contact}@${domain}'/>`);
    await server.frame(c, `<presence xmlns='jabber:client' type='subscribed' to='alice@${domain}'/>`);
    await server.frame(c, `<presence xmlns='jabber:client' type='subscribe' to='alice@${domain}'/>`);
    await server.frame(a, `<presence xmlns='jabber:client' type='subscribed' to='${contact}@${domain}'/>`);
  }

  const cases: Array<{ stanza: string; what: string; frame: string }> = [
    { stanza: 'message:chat', what: 'to an online contact (bare JID)', frame: `<message xmlns='jabber:client' type='chat' to='contact1@${domain}' id='m1'><body>hello, this is a chat message of ordinary length</body></message>` },
    { stanza: 'presence', what: `broadcast to ${options.contacts} online contacts`, frame: `<presence xmlns='jabber:client'><show>away</show><status>out</status></presence>` },
    { stanza: 'iq:get:jabber:iq:roster', what: `roster of ${options.contacts}`, frame: `<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>` },
    { stanza: 'iq:get:urn:xmpp:ping', what: 'to the server', frame: `<iq xmlns='jabber:client' type='get' id='p1' to='${domain}'><ping xmlns='urn:xmpp:ping'/></iq>` },
    { stanza: 'iq:get:http://jabber.org/protocol/disco#info', what: 'to the server', frame: `<iq xmlns='jabber:client' type='get' id='d1' to='${domain}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>` },
  ];
  const rows: HandlerCpuRow[] = [];
  for (const c of cases) {
    const a = conn('alice');
    // Twice against DynamoDB Local: the second handling is the steady state the recording keeps.
    replay.mode = 'record';
    for (let i = 0; i < 2; i++) await server.frame(a, c.frame);
    replay.mode = 'replay';
    replay.calls = 0;
    replay.misses = 0;
    collected.length = 0;
    // Warm-up (JIT), then rounds of a fixed size; the median round is the figure.
    const batch = 200;
    for (let i = 0; i < batch; i++) await server.frame(a, c.frame);
    const cpu: number[] = [];
    const wall: number[] = [];
    let iterations = 0;
    let frames = 0;
    let dbCalls = 0;
    const end = performance.now() + options.ms;
    while (performance.now() < end || cpu.length < 5) {
      collected.length = 0;
      replay.calls = 0;
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      for (let i = 0; i < batch; i++) await server.frame(a, c.frame);
      const used = process.cpuUsage(cpu0);
      wall.push(((performance.now() - wall0) * 1000) / batch);
      cpu.push((used.user + used.system) / batch);
      frames = collected.length / batch;
      dbCalls = replay.calls / batch;
      iterations += batch;
    }
    if (replay.misses > 0) throw new Error(`handler CPU: ${c.stanza} made ${replay.misses} DynamoDB calls the recording cannot answer`);
    rows.push({ stanza: c.stanza, what: c.what, usPerStanza: median(cpu), wallUsPerStanza: median(wall), framesOut: frames, dbCalls, iterations });
  }
  return rows;
}

/** Logs in with PLAIN through the handler itself (records every call on the way). */
async function login(server: XmppServer, connectionId: string, user: string, domain: string, collected: Array<{ frame: string }>) {
  const open = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${domain}' version='1.0'/>`;
  await server.connect(connectionId);
  await server.frame(connectionId, open);
  const auth = Buffer.from(`\0${user}\0cpu-bench`).toString('base64');
  await server.frame(connectionId, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth>`);
  if (!collected.at(-1)?.frame.startsWith('<success')) throw new Error(`handler CPU: ${user} could not log in: ${collected.at(-1)?.frame}`);
  await server.frame(connectionId, open);
  await server.frame(connectionId, `<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>cpu</resource></bind></iq>`);
  await server.frame(connectionId, `<presence xmlns='jabber:client'/>`);
}

/**
 * A Db that records DynamoDB's answers (outputs and errors) by command and input while in `record` mode, and
 * in `replay` mode answers from that Map without any I/O. Timestamps in inputs are masked, so the same
 * stanza handled later finds its recording.
 */
class ReplayDb {
  mode: 'record' | 'replay' = 'record';
  calls = 0;
  misses = 0;
  private readonly answers = new Map<string, { output?: unknown; error?: unknown }>();
  readonly db: Db;

  constructor(private readonly real: Db) {
    const send = (command: { input: unknown }) => this.send(command);
    this.db = { table: real.table, doc: { send } as unknown as DynamoDBDocumentClient };
  }

  private async send(command: { input: unknown }): Promise<unknown> {
    const key = `${command.constructor.name} ${JSON.stringify(command.input).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z|\d{9,}/g, '#')}`;
    if (this.mode === 'record') {
      try {
        const output = await this.real.doc.send(command as never);
        this.answers.set(key, { output });
        return output;
      } catch (error) {
        this.answers.set(key, { error });
        throw error;
      }
    }
    this.calls++;
    const answer = this.answers.get(key);
    if (!answer) {
      this.misses++;
      throw new Error(`no recorded answer for ${key.slice(0, 200)}`);
    }
    if (answer.error) throw answer.error;
    return answer.output;
  }
}
