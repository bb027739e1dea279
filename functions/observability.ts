import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/**
 * Structured JSON logs and CloudWatch metrics (Embedded Metric Format, no API calls) for the Lambda entry
 * points, with Powertools for AWS Lambda. Only the exported `handler`s are wrapped: the handler factories
 * that tests and the local runtime call stay free of it. Service and namespace come from the environment the
 * CDK construct sets (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cirrus' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Cirrus',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cirrus',
});

type Handler<E, R> = (event: E, context?: Context) => Promise<R>;

function observed<E, R>(name: string, handler: (event: E) => Promise<R>, measure: (event: E, result: R) => void): Handler<E, R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    metrics.captureColdStartMetric();
    try {
      const result = await handler(event);
      measure(event, result);
      return result;
    } catch (error) {
      logger.error(`${name} failed`, error as Error);
      metrics.addMetric(`${name}Failures`, MetricUnit.Count, 1);
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** `$connect`: counts accepted and refused (no `xmpp` subprotocol) connections. */
export function observeConnect<E>(handler: (event: E) => Promise<APIGatewayProxyResultV2>): Handler<E, APIGatewayProxyResultV2> {
  return observed('Connect', handler, (_event, result) => {
    const accepted = typeof result === 'object' && result.statusCode === 200;
    metrics.addMetric(accepted ? 'ConnectionsAccepted' : 'ConnectionsRefused', MetricUnit.Count, 1);
  });
}

/** Frames and `$disconnect`s from SQS: counts records handled and records reported failed (retried). */
export function observeStanza(handler: (event: SQSEvent) => Promise<SQSBatchResponse>): Handler<SQSEvent, SQSBatchResponse> {
  return observed('Stanza', handler, (event, result) => {
    const failed = result.batchItemFailures.length;
    metrics.addMetric('Records', MetricUnit.Count, event.Records.length);
    metrics.addMetric('RecordsFailed', MetricUnit.Count, failed);
    if (failed > 0) logger.warn('records failed; they and the later records of their connections will be retried', { failed });
  });
}
