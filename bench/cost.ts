import type { AwsCallTotals } from '../lib/metrics/aws-calls.ts';
import { DEPLOYMENT, PRICES } from './prices.ts';

/** What one incoming stanza of a type costs on average: AWS calls made by the code, units, and dollars. */
export interface CostRow {
  label: string;
  records: number;
  /** Per record. */
  dynamodbCalls: number;
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused (billed as a write by DynamoDB, not in writeUnits). */
  conditionalFailures: number;
  posts: number;
  /** SQS calls the code made (none today: API Gateway and Lambda's poller make the frame queue's calls). */
  sqsCalls: number;
  /** DynamoDB + PostToConnection + SQS calls by the code. */
  awsCalls: number;
  /** Handler wall time, I/O included, measured locally (DynamoDB Local latencies, not AWS's). */
  handlerMs: number;
  /** Calls by operation, per record. */
  byOperation: Record<string, number>;
  /** Dollars per million stanzas of this type, by service, and in all. */
  cost: { apiGateway: number; sqs: number; lambda: number; dynamodb: number; total: number };
}

/**
 * The cost model per incoming frame: API Gateway meters the frame in and each PostToConnection out (frames
 * under 32 KB: one message each); SQS FIFO gets one SendMessage from API Gateway and, per batch, one
 * ReceiveMessage and one DeleteMessageBatch from Lambda's poller; Lambda one request per batch and the
 * handler's time at the stanza function's memory; DynamoDB the units it reported (a refused conditional write
 * billed as one write unit). `$connect` and `$disconnect` are no client message; `$connect` goes to its own
 * function directly (no SQS) and its duration is not measured (it runs outside any counted record).
 */
export function costRows(totals: AwsCallTotals): CostRow[] {
  const rows: CostRow[] = [];
  for (const [label, t] of Object.entries(totals)) {
    if (t.records === 0) continue;
    const per = (n: number) => n / t.records;
    const sum = (prefix: string) => Object.entries(t.calls).reduce((s, [key, n]) => (key.startsWith(prefix) ? s + n : s), 0);
    const dynamodbCalls = per(sum('DynamoDB.'));
    const posts = per(t.calls['ApiGatewayManagementApi.PostToConnection'] ?? 0);
    const sqsCalls = per(sum('SQS.'));
    const readUnits = per(t.readUnits);
    const writeUnits = per(t.writeUnits);
    const conditionalFailures = per(t.conditionalFailures);
    const handlerMs = per(t.handlerMs);
    const batch = DEPLOYMENT.framesPerBatch;
    // `$connect` is a direct Lambda integration (no SQS, one invocation each) and, like `$disconnect`, no client message.
    const connect = label === '$connect';
    const event = connect || label === '$disconnect';
    const apiGateway = ((event ? 0 : 1) + posts) * PRICES.apiGateway.perMillionMessages;
    const sqs = ((connect ? 0 : 1 + 2 / batch) + sqsCalls) * PRICES.sqs.perMillionFifoRequests;
    const gbSeconds = (handlerMs / 1000) * ((connect ? DEPLOYMENT.connectMemoryMb : DEPLOYMENT.stanzaMemoryMb) / 1024);
    const lambda = PRICES.lambda.perMillionRequests / (connect ? 1 : batch) + gbSeconds * 1e6 * PRICES.lambda.perGbSecondArm64;
    const dynamodb =
      readUnits * PRICES.dynamodb.perMillionReadUnits + (writeUnits + conditionalFailures) * PRICES.dynamodb.perMillionWriteUnits;
    rows.push({
      label,
      records: t.records,
      dynamodbCalls,
      readUnits,
      writeUnits,
      conditionalFailures,
      posts,
      sqsCalls,
      awsCalls: dynamodbCalls + posts + sqsCalls,
      handlerMs,
      byOperation: Object.fromEntries(Object.entries(t.calls).map(([key, n]) => [key, per(n)])),
      cost: { apiGateway, sqs, lambda, dynamodb, total: apiGateway + sqs + lambda + dynamodb },
    });
  }
  return rows.sort((a, b) => b.records - a.records);
}

/** Dollars a month for one client connected all month (connection-minutes only). */
export function connectionCostPerMonth(): number {
  return ((30 * 24 * 60) / 1e6) * PRICES.apiGateway.perMillionConnectionMinutes;
}
