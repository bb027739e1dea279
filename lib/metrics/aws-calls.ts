import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The AWS call counter: how many DynamoDB, API Gateway (`@connections`) and SQS calls each incoming
 * stanza type makes, with the capacity units DynamoDB reports. Off unless `CIRRUS_COUNT_AWS_CALLS=1`
 * (the benchmark turns it on): when off, no middleware is attached and a record costs one boolean test.
 *
 * Two halves: `countRecord` labels the handling of one SQS record (functions/stanza.ts) in an
 * AsyncLocalStorage scope; `countAwsCalls` adds an SDK middleware that charges each call to the label
 * of the scope it runs in. Calls outside any record (the `$connect` handler, setup) go to `UNLABELLED`.
 */

export const COUNT_AWS_CALLS_ENV = 'CIRRUS_COUNT_AWS_CALLS';

/** The label of calls made outside any labelled record. */
export const UNLABELLED = '(outside a record)';

export type AwsService = 'DynamoDB' | 'ApiGatewayManagementApi' | 'SQS';

/** What one label (stanza type) cost, summed over every record that carried it. */
export interface LabelTotals {
  /** Records (frames, `$disconnect`s) handled to completion, failed ones included. */
  records: number;
  /** Records that threw (the queue retries them: their calls are counted again). */
  failedRecords: number;
  /** Wall time inside the handler, summed (I/O included): what Lambda bills for, before batching. */
  handlerMs: number;
  /** Calls by `Service.Operation` (e.g. `DynamoDB.Query`), whatever their outcome. */
  calls: Record<string, number>;
  /** Calls that ended in an error, by `Service.Operation`. */
  errors: Record<string, number>;
  /** DynamoDB capacity units as the service reported them (ReturnConsumedCapacity=TOTAL). */
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused: DynamoDB bills a write for them but reports no capacity; counted here, not in writeUnits. */
  conditionalFailures: number;
}

export type AwsCallTotals = Record<string, LabelTotals>;

let enabled: boolean | undefined;

/** Whether counting is on; read from the environment once. */
export function awsCallCountingEnabled(): boolean {
  return (enabled ??= process.env[COUNT_AWS_CALLS_ENV] === '1');
}

/** Turns counting on or off for clients created from now on (tests, the benchmark). */
export function setAwsCallCounting(on: boolean): void {
  enabled = on;
  if (on) process.env[COUNT_AWS_CALLS_ENV] = '1';
  else delete process.env[COUNT_AWS_CALLS_ENV];
}

const scope = new AsyncLocalStorage<string>();
let totals: AwsCallTotals = {};

const emptyTotals = (): LabelTotals => ({
  records: 0,
  failedRecords: 0,
  handlerMs: 0,
  calls: {},
  errors: {},
  readUnits: 0,
  writeUnits: 0,
  conditionalFailures: 0,
});

function totalsOf(label: string): LabelTotals {
  return (totals[label] ??= emptyTotals());
}

/** Adds `more` into `sum` (another thread's totals, say) and returns `sum`. */
export function addAwsCallTotals(sum: AwsCallTotals, more: AwsCallTotals): AwsCallTotals {
  for (const [label, add] of Object.entries(more)) {
    const into = (sum[label] ??= emptyTotals());
    into.records += add.records;
    into.failedRecords += add.failedRecords;
    into.handlerMs += add.handlerMs;
    into.readUnits += add.readUnits;
    into.writeUnits += add.writeUnits;
    into.conditionalFailures += add.conditionalFailures;
    for (const [key, n] of Object.entries(add.calls)) into.calls[key] = (into.calls[key] ?? 0) + n;
    for (const [key, n] of Object.entries(add.errors)) into.errors[key] = (into.errors[key] ?? 0) + n;
  }
  return sum;
}

/** A copy of the totals so far, by label. */
export function awsCallTotals(): AwsCallTotals {
  return structuredClone(totals);
}

export function resetAwsCallTotals(): void {
  totals = {};
}

/**
 * Handles one SQS record under its stanza-type label. When counting is off this is just `handle()`.
 * `eventType` is the record's `eventType` attribute (MESSAGE | DISCONNECT), `body` the frame.
 */
export function countRecord<T>(eventType: string | undefined, body: string, handle: () => Promise<T>): Promise<T> {
  if (!awsCallCountingEnabled()) return handle();
  const label = eventType === 'DISCONNECT' ? '$disconnect' : stanzaLabel(body);
  const start = performance.now();
  let failed = false;
  return scope
    .run(label, handle)
    .catch((error: unknown) => {
      failed = true;
      throw error;
    })
    .finally(() => {
      const entry = totalsOf(label);
      entry.records += 1;
      if (failed) entry.failedRecords += 1;
      entry.handlerMs += performance.now() - start;
    });
}

/**
 * A frame's stanza type from a look at its first tag and, for an IQ, its payload's namespace:
 * `message:chat`, `presence`, `presence:unavailable`, `iq:get:urn:xmpp:ping`, `iq:result`, `open`,
 * `auth:PLAIN`, `response`, `close`. No XML parse: a frame the parser will refuse still gets a label.
 */
export function stanzaLabel(frame: string): string {
  const head = /^\s*<([^\s/>]+)([^>]*)>/.exec(frame);
  if (!head) return frame.trim() === '' ? '(whitespace)' : '(not XML)';
  const name = head[1]!;
  const attrs = head[2]!;
  const type = attribute(attrs, 'type');
  switch (name) {
    case 'message':
      return `message:${type ?? 'normal'}`;
    case 'presence':
      return type ? `presence:${type}` : 'presence';
    case 'iq': {
      if (type !== 'get' && type !== 'set') return `iq:${type ?? '(no type)'}`;
      if (attrs.endsWith('/')) return `iq:${type}:(empty)`;
      const child = /^\s*<[^\s/>]+([^>]*)>/.exec(frame.slice(head[0].length));
      return `iq:${type}:${(child && attribute(child[1]!, 'xmlns')) ?? '(no payload)'}`;
    }
    case 'auth':
      return `auth:${attribute(attrs, 'mechanism') ?? '(none)'}`;
    default:
      return name;
  }
}

function attribute(attrs: string, name: string): string | undefined {
  // The attribute name must start after whitespace (so `xml:type` or `subtype` never match `type`).
  return new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs)?.slice(1).find((v) => v !== undefined);
}

// Operations that accept ReturnConsumedCapacity; others (DescribeTable, CreateTable…) must not get it.
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const STATEMENTS = new Set(['ExecuteStatement', 'BatchExecuteStatement', 'ExecuteTransaction']);

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>;
type Middleware = (next: Next, context: { commandName?: string }) => Next;

/** The part of an AWS SDK v3 client this needs (kept structural: lib/ imports no SDK internals here). */
export interface MiddlewareClient {
  middlewareStack: unknown;
}

/**
 * Adds the counting middleware to an SDK client (DynamoDB, ApiGatewayManagementApi, SQS). Callers attach
 * it only when `awsCallCountingEnabled()`. For DynamoDB it asks for ReturnConsumedCapacity=TOTAL.
 */
export function countAwsCalls(client: MiddlewareClient, service: AwsService): void {
  const middleware: Middleware = (next, context) => async (args) => {
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const key = `${service}.${operation}`;
    const entry = totalsOf(scope.getStore() ?? UNLABELLED);
    entry.calls[key] = (entry.calls[key] ?? 0) + 1;
    const dynamo = service === 'DynamoDB';
    const metered = dynamo && (READS.has(operation) || WRITES.has(operation) || STATEMENTS.has(operation));
    if (metered && args.input.ReturnConsumedCapacity === undefined) {
      args = { ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } };
    }
    try {
      const result = await next(args);
      if (metered) charge(entry, operation, (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity);
      return result;
    } catch (error) {
      entry.errors[key] = (entry.errors[key] ?? 0) + 1;
      if (dynamo && (error as { name?: string }).name === 'ConditionalCheckFailedException') entry.conditionalFailures += 1;
      throw error;
    }
  };
  (client.middlewareStack as { add(m: Middleware, o: { step: 'initialize'; name: string; override: boolean }): void }).add(
    middleware,
    { step: 'initialize', name: 'cirrusCountAwsCalls', override: true },
  );
}

function charge(entry: LabelTotals, operation: string, consumed: Capacity | Capacity[] | undefined): void {
  for (const capacity of consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]) {
    if (capacity.ReadCapacityUnits !== undefined || capacity.WriteCapacityUnits !== undefined) {
      entry.readUnits += capacity.ReadCapacityUnits ?? 0;
      entry.writeUnits += capacity.WriteCapacityUnits ?? 0;
    } else if (READS.has(operation)) entry.readUnits += capacity.CapacityUnits ?? 0;
    else entry.writeUnits += capacity.CapacityUnits ?? 0;
  }
}
