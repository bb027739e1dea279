import { describe, expect, it } from 'vitest';
import { costRows } from '../../bench/cost.ts';
import { DEPLOYMENT, PRICES } from '../../bench/prices.ts';

describe('the cost model', () => {
  it('turns call totals into per-stanza calls and dollars per million stanzas', () => {
    const [row] = costRows({
      'message:chat': {
        records: 4,
        failedRecords: 0,
        handlerMs: 40,
        calls: { 'DynamoDB.Query': 4, 'ApiGatewayManagementApi.PostToConnection': 4 },
        errors: {},
        readUnits: 4,
        writeUnits: 0,
        conditionalFailures: 0,
      },
    });
    expect(row).toMatchObject({ label: 'message:chat', dynamodbCalls: 1, posts: 1, sqsCalls: 0, awsCalls: 2, readUnits: 1, handlerMs: 10 });
    const batch = DEPLOYMENT.framesPerBatch;
    // One frame in and one out through API Gateway; SQS send + receive and delete per batch; one read unit.
    expect(row!.cost.apiGateway).toBeCloseTo(2 * PRICES.apiGateway.perMillionMessages);
    expect(row!.cost.sqs).toBeCloseTo((1 + 2 / batch) * PRICES.sqs.perMillionFifoRequests);
    expect(row!.cost.dynamodb).toBeCloseTo(PRICES.dynamodb.perMillionReadUnits);
    const gbSeconds = 0.01 * (DEPLOYMENT.stanzaMemoryMb / 1024);
    expect(row!.cost.lambda).toBeCloseTo(PRICES.lambda.perMillionRequests / batch + gbSeconds * 1e6 * PRICES.lambda.perGbSecondArm64);
    expect(row!.cost.total).toBeCloseTo(row!.cost.apiGateway + row!.cost.sqs + row!.cost.lambda + row!.cost.dynamodb);
  });

  it('bills a refused conditional write as a write unit, and skips labels with no records', () => {
    const rows = costRows({
      presence: { records: 1, failedRecords: 0, handlerMs: 0, calls: { 'DynamoDB.PutItem': 1 }, errors: { 'DynamoDB.PutItem': 1 }, readUnits: 0, writeUnits: 0, conditionalFailures: 1 },
      idle: { records: 0, failedRecords: 0, handlerMs: 0, calls: {}, errors: {}, readUnits: 0, writeUnits: 0, conditionalFailures: 0 },
    });
    expect(rows.map((r) => r.label)).toEqual(['presence']);
    expect(rows[0]!.cost.dynamodb).toBeCloseTo(PRICES.dynamodb.perMillionWriteUnits);
  });
});
