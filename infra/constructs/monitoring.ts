import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { XmppFederation } from './federation.ts';
import type { XmppFunction } from './function.ts';
import type { XmppWebSocket } from './websocket.ts';

export interface XmppMonitoringProps {
  readonly webSocket: XmppWebSocket;
  readonly table: Table;
  readonly federation?: XmppFederation;
  /** Where alarms notify (ALARM and OK). */
  readonly alarmTopic?: ITopic;
  readonly dashboardName?: string;
  /** Where the functions' Powertools metrics go (POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME). */
  readonly metricsNamespace: string;
  readonly serviceName: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The alarms an operator needs and one dashboard with the whole path: API → queue → functions → table → federation. */
export class XmppMonitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly webSocket: XmppWebSocket;

  constructor(scope: Construct, id: string, props: XmppMonitoringProps) {
    super(scope, id);
    this.webSocket = props.webSocket;
    const { webSocket, federation } = props;
    const functions: Array<[string, XmppFunction]> = [
      ['Connect', webSocket.connectFunction],
      ['Stanza', webSocket.stanzaFunction],
    ];

    // ── Alarms ────────────────────────────────────────────────────────────────────────────────────────
    const alarm = (name: string, description: string, metric: IMetric, threshold: number, comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) => {
      const created = new Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: comparison,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) {
        created.addAlarmAction(new SnsAction(props.alarmTopic));
        created.addOkAction(new SnsAction(props.alarmTopic));
      }
      this.alarms.push(created);
      return created;
    };
    const deadLetters = (name: string, queue: Queue, what: string) =>
      alarm(
        name,
        `${what} failed every attempt and wait in ${queue.queueName}: read them, fix the cause, then redrive or purge.`,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        1,
      );

    deadLetters('FramesDeadLetterAlarm', webSocket.framesDeadLetter, 'Client frames');
    alarm(
      'FramesBacklogAlarm',
      'The oldest client frame has waited over a minute: the stanza function is failing, throttled or too slow.',
      webSocket.frames.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      60,
    );
    for (const [name, fn] of functions) {
      alarm(`${name}ErrorsAlarm`, `The ${name.toLowerCase()} function failed (see its log group).`, fn.function.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), 1);
      alarm(`${name}ThrottlesAlarm`, `The ${name.toLowerCase()} function was throttled: account concurrency is exhausted.`, fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), 1);
    }
    alarm(
      'ApiServerErrorsAlarm',
      'API Gateway failed to run an integration (the $connect function, or SendMessage to the frames queue): see the stage execution logs.',
      // WebSocket APIs have no 5XXError metric. IntegrationError counts every 4XX/5XX answer of an integration, and
      // so also each $connect refused for lacking the xmpp subprotocol (RFC 7395 §3.2): the connect function counts
      // those (ConnectionsRefused, functions/observability.ts) and they are taken out.
      new MathExpression({
        label: 'Integration and execution errors',
        expression: 'FILL(execution, 0) + IF(FILL(integration, 0) > FILL(refused, 0), FILL(integration, 0) - FILL(refused, 0), 0)',
        usingMetrics: {
          integration: this.apiMetric('IntegrationError'),
          execution: this.apiMetric('ExecutionError'),
          refused: new Metric({
            namespace: props.metricsNamespace,
            metricName: 'ConnectionsRefused',
            dimensionsMap: { service: props.serviceName },
            statistic: 'Sum',
            period: FIVE_MINUTES,
          }),
        },
        period: FIVE_MINUTES,
      }),
      1,
    );
    alarm('TableThrottlesAlarm', 'DynamoDB throttled requests to the table.', this.tableThrottles(props.table), 1);
    if (federation) {
      deadLetters('OutboundDeadLetterAlarm', federation.outboundDeadLetter, 'Stanzas for other servers');
      for (const [name, group] of Object.entries(federation.targetGroups)) {
        alarm(
          `Federation${name === 'starttls' ? 'StartTls' : 'DirectTls'}UnhealthyAlarm`,
          `A federation task fails its health check behind the ${name} listener.`,
          group.metrics.unHealthyHostCount({ statistic: 'Maximum', period: Duration.minutes(1) }),
          1,
        );
      }
      alarm(
        'FederationNoHealthyHostAlarm',
        'No healthy federation task: other servers cannot reach this one.',
        federation.targetGroups.starttls.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
        1,
        ComparisonOperator.LESS_THAN_THRESHOLD,
      );
    }

    // ── Dashboard ─────────────────────────────────────────────────────────────────────────────────────
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 8, height: 6 });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '# Cirrus XMPP\nClient frames: API Gateway → SQS FIFO → stanza function → DynamoDB / PostToConnection.', width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      graph('WebSocket connections and frames', [this.apiMetric('ConnectCount'), this.apiMetric('MessageCount')]),
      graph('API errors', [this.apiMetric('IntegrationError'), this.apiMetric('ExecutionError'), this.apiMetric('ClientError')]),
      graph(
        'Frames queue',
        [webSocket.frames.metricApproximateNumberOfMessagesVisible(), webSocket.framesDeadLetter.metricApproximateNumberOfMessagesVisible({ label: 'Dead letters' })],
        [webSocket.frames.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })],
      ),
    );
    this.dashboard.addWidgets(
      graph('Invocations', functions.map(([name, fn]) => fn.function.metricInvocations({ label: name })), functions.map(([name, fn]) => fn.function.metricErrors({ label: `${name} errors` }))),
      graph('Duration p90', functions.map(([name, fn]) => fn.function.metricDuration({ label: name, statistic: 'p90' }))),
      graph('Table', [props.table.metricConsumedReadCapacityUnits(), props.table.metricConsumedWriteCapacityUnits()], [this.tableThrottles(props.table)]),
    );
    if (federation) {
      this.dashboard.addWidgets(
        graph('Federation connections', [federation.loadBalancer.metrics.activeFlowCount(), federation.loadBalancer.metrics.newFlowCount()], [federation.connectionsPerTask()]),
        graph('Federation tasks', [federation.targetGroups.starttls.metrics.healthyHostCount(), federation.targetGroups.starttls.metrics.unHealthyHostCount()], [federation.service.metricCpuUtilization()]),
        graph('Outbound queue', [federation.outbound.metricApproximateNumberOfMessagesVisible(), federation.outboundDeadLetter.metricApproximateNumberOfMessagesVisible({ label: 'Dead letters' })], [federation.outbound.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })]),
      );
    }
  }

  /** A WebSocket API metric of this stage (AWS/ApiGateway, dimensions ApiId and Stage). */
  private apiMetric(metricName: string): Metric {
    const { api, stage } = this.webSocket;
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: api.apiId, Stage: stage.stageName },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
  }

  private tableThrottles(table: Table): IMetric {
    return new MathExpression({
      label: 'Throttled requests',
      expression: 'reads + writes',
      usingMetrics: {
        reads: table.metric('ReadThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
        writes: table.metric('WriteThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
      },
      period: FIVE_MINUTES,
    });
  }
}
