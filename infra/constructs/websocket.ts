import { Aws, Stack, Validations, type CfnElement, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  DomainName,
  LogGroupLogDestination,
  PassthroughBehavior,
  WebSocketApi,
  WebSocketStage,
  type CfnStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketAwsIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate, CertificateValidation, type ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { PolicyStatement, Role, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ARecord, AaaaRecord, RecordTarget, type IHostedZone } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from './defaults.ts';
import { XmppFunction } from './function.ts';
import type { XmppTable } from './table.ts';

export interface CustomDomainOptions {
  /** The host name clients connect to, e.g. `xmpp.example.com` (then `wss://xmpp.example.com`). */
  readonly domainName: string;
  /**
   * A regional ACM certificate for `domainName`, in the stack's region.
   * @default - a new certificate, validated through DNS in `hostedZone` (which is then required)
   */
  readonly certificate?: ICertificate;
  /**
   * The Route 53 zone `domainName` is in: A and AAAA alias records are created there.
   * @default - no records: point `domainName` at the API's regional domain name yourself (see the outputs)
   */
  readonly hostedZone?: IHostedZone;
}

export interface XmppWebSocketProps {
  readonly table: XmppTable;
  /** Environment every function gets: domains, table, registration … (WS_ENDPOINT is added here). */
  readonly environment: Record<string, string>;
  readonly customDomain?: CustomDomainOptions;
  readonly throttle: { rateLimit: number; burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly tracing: boolean;
}

/**
 * The client side (RFC 7395): a WebSocket API whose `$connect` runs a Lambda function synchronously and whose
 * `$default` and `$disconnect` go straight into an SQS FIFO queue, one message group per connection, which the
 * stanza function drains in order.
 */
export class XmppWebSocket extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** Every frame and `$disconnect`, in order per connection. */
  readonly frames: Queue;
  /** Frames that failed `maxReceiveCount` times. */
  readonly framesDeadLetter: Queue;
  readonly connectFunction: XmppFunction;
  readonly stanzaFunction: XmppFunction;
  readonly domainName?: DomainName;
  /** Whether the custom domain's A and AAAA records were created (in the given hosted zone). */
  readonly hasAliasRecords: boolean;
  /** The URL clients connect to: `wss://…`. */
  readonly url: string;
  /** The `@connections` management API base URL the functions post to. */
  readonly managementEndpoint: string;

  constructor(scope: Construct, id: string, props: XmppWebSocketProps) {
    super(scope, id);

    // ── The FIFO queue between API Gateway and the stanza function ──────────────────────────────────────
    this.framesDeadLetter = new Queue(this, 'FramesDeadLetter', {
      fifo: true,
      retentionPeriod: DEFAULTS.deadLetterRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.frames = new Queue(this, 'Frames', {
      fifo: true,
      // API Gateway sets the deduplication id (the request id): content-based deduplication would drop a
      // client's second identical frame (two `<presence/>` within five minutes).
      contentBasedDeduplication: false,
      // High-throughput FIFO: order and deduplication per connection, not across the queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: DEFAULTS.frameVisibilityTimeout,
      retentionPeriod: DEFAULTS.frameRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.framesDeadLetter, maxReceiveCount: DEFAULTS.maxReceiveCount },
    });

    // ── The API ─────────────────────────────────────────────────────────────────────────────────────────
    this.api = new WebSocketApi(this, 'Api', {
      description: 'XMPP over WebSocket (RFC 7395)',
      // Frames are XML, never JSON: every one falls through to $default.
      routeSelectionExpression: '$request.body.action',
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: DEFAULTS.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    // Execution logs at ERROR: integration failures (an SQS SendMessage refused) are otherwise invisible.
    (this.stage.node.defaultChild as CfnStage).defaultRouteSettings = {
      loggingLevel: 'ERROR',
      dataTraceEnabled: false,
      throttlingRateLimit: props.throttle.rateLimit,
      throttlingBurstLimit: props.throttle.burstLimit,
    };
    // The management API of this stage, by its execute-api name: the custom domain may not resolve yet, and
    // lib/transport/connections.ts recognises AWS endpoints by their amazonaws.com host.
    this.managementEndpoint = this.stage.callbackUrl;
    const environment = { ...props.environment, WS_ENDPOINT: this.managementEndpoint };
    const common = { environment, logRetention: props.logRetention, removalPolicy: props.removalPolicy, tracing: props.tracing };

    // ── $connect: synchronous, answers the subprotocol ──────────────────────────────────────────────────
    this.connectFunction = new XmppFunction(this, 'Connect', {
      ...common,
      entry: 'functions/connect.ts',
      description: 'XMPP $connect: checks the xmpp subprotocol, creates the connection item',
      memorySize: DEFAULTS.connectMemoryMb,
      timeout: DEFAULTS.connectTimeout,
    });
    // It creates the connection's item, nothing else (see the README's cost table).
    this.connectFunction.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [props.table.table.tableArn] }),
    );
    this.api.addRoute('$connect', { integration: new WebSocketLambdaIntegration('Connect', this.connectFunction.function) });

    // ── $default and $disconnect: into the FIFO queue, in order per connection ──────────────────────────
    const sendRole = new Role(this, 'SendToQueueRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway puts WebSocket frames into the frames queue (Cirrus)',
    });
    // SendMessage and nothing else: the integration URI names the queue, so no GetQueueUrl; SSE-SQS needs no KMS grant.
    sendRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.frames.queueArn] }));
    const toQueue = (name: string, body: string) =>
      new WebSocketAwsIntegration(name, {
        integrationUri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:sqs:path/${Aws.ACCOUNT_ID}/${this.frames.queueName}`,
        integrationMethod: 'POST',
        credentialsRole: sendRole,
        requestParameters: { 'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'" },
        templateSelectionExpression: '\\$default',
        requestTemplates: { $default: sendMessageTemplate(body) },
        passthroughBehavior: PassthroughBehavior.NEVER,
      });
    this.api.addRoute('$default', { integration: toQueue('Frame', FRAME_BODY) });
    this.api.addRoute('$disconnect', { integration: toQueue('Disconnect', DISCONNECT_BODY) });

    // ── The stanza function drains the queue ────────────────────────────────────────────────────────────
    this.stanzaFunction = new XmppFunction(this, 'Stanza', {
      ...common,
      entry: 'functions/stanza.ts',
      description: 'XMPP frames and $disconnect, in order per connection (SQS FIFO)',
      memorySize: DEFAULTS.stanzaMemoryMb,
      timeout: DEFAULTS.stanzaTimeout,
    });
    this.stanzaFunction.function.addEventSource(
      new SqsEventSource(this.frames, { batchSize: DEFAULTS.batchSize, reportBatchItemFailures: true }),
    );
    props.table.grantReadWriteData(this.stanzaFunction.role);
    this.grantManageConnections(this.stanzaFunction.role);

    // ── Optional custom domain ──────────────────────────────────────────────────────────────────────────
    if (props.customDomain) {
      const { domainName, hostedZone } = props.customDomain;
      const certificate =
        props.customDomain.certificate ??
        new Certificate(this, 'Certificate', { domainName, validation: CertificateValidation.fromDns(hostedZone) });
      this.domainName = new DomainName(this, 'DomainName', { domainName, certificate });
      new ApiMapping(this, 'ApiMapping', { api: this.api, domainName: this.domainName, stage: this.stage });
      if (hostedZone) {
        const target = RecordTarget.fromAlias(
          new ApiGatewayv2DomainProperties(this.domainName.regionalDomainName, this.domainName.regionalHostedZoneId),
        );
        new ARecord(this, 'AliasRecord', { zone: hostedZone, recordName: domainName, target });
        new AaaaRecord(this, 'AliasRecordIpv6', { zone: hostedZone, recordName: domainName, target });
      }
      this.url = `wss://${domainName}`;
      this.hasAliasRecords = hostedZone !== undefined;
    } else {
      this.url = this.stage.url;
      this.hasAliasRecords = false;
    }

    this.acknowledgeFindings();
  }

  /**
   * PostToConnection (POST) and DeleteConnection (DELETE) on this stage's connections, nothing else: no
   * GetConnection, no other API, no other stage. The wildcard (connection ids exist only at run time) is
   * acknowledged to cdk-nag on the grantee.
   */
  grantManageConnections(grantee: IGrantable): void {
    const stack = Stack.of(this);
    const methods = ['POST', 'DELETE'];
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: methods.map((method) =>
          stack.formatArn({
            service: 'execute-api',
            resource: this.api.apiId,
            resourceName: `${this.stage.stageName}/${method}/@connections/*`,
          }),
        ),
      }),
    );
    if (!Construct.isConstruct(grantee.grantPrincipal)) return;
    const apiLogicalId = stack.getLogicalId(this.api.node.defaultChild as CfnElement);
    for (const method of methods) {
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${this.stage.stageName}/${method}/@connections/*]`,
        reason: `Connection ids exist only at run time; the wildcard is limited to ${method} on this API stage's @connections.`,
      });
    }
  }

  private acknowledgeFindings(): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'XMPP authenticates inside the stream (SASL SCRAM, RFC 6120 §6) once the WebSocket is open; the $connect ' +
        'route only checks the subprotocol. An authorizer cannot see the credentials, which browsers cannot send ' +
        'as WebSocket handshake headers.',
    });
  }
}

/** The frame: `$input.body` is the raw WebSocket message, form-encoded for SendMessage. */
const FRAME_BODY = '$util.urlEncode($input.body)';
/** `$disconnect` has no body; SQS requires one. */
const DISCONNECT_BODY = 'DISCONNECT';

/**
 * The integration request: SQS SendMessage in the form-encoded Query API. The message group is the connection
 * (order per connection), the deduplication id the API Gateway request id (a retried SendMessage is stored once),
 * and the stanza function reads the connection id and the event type (MESSAGE or DISCONNECT) from the message
 * attributes. Connection and request ids end in `=`, so every value is URL-encoded.
 */
export function sendMessageTemplate(body: string): string {
  return [
    'Action=SendMessage',
    'MessageGroupId=$util.urlEncode($context.connectionId)',
    'MessageDeduplicationId=$util.urlEncode($context.requestId)',
    'MessageAttribute.1.Name=connectionId',
    'MessageAttribute.1.Value.DataType=String',
    'MessageAttribute.1.Value.StringValue=$util.urlEncode($context.connectionId)',
    'MessageAttribute.2.Name=eventType',
    'MessageAttribute.2.Value.DataType=String',
    'MessageAttribute.2.Value.StringValue=$context.eventType',
    `MessageBody=${body}`,
  ].join('&');
}

/** One JSON line per WebSocket event. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  error: '$context.error.message',
  ip: '$context.identity.sourceIp',
  integrationLatency: '$context.integrationLatency',
  time: '$context.requestTimeEpoch',
};
