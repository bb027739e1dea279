import { Duration, Size, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import { AdjustmentType } from 'aws-cdk-lib/aws-applicationautoscaling';
import { MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  AwsLogDriverMode,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargatePlatformVersion,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  Protocol as EcsProtocol,
} from 'aws-cdk-lib/aws-ecs';
import { NetworkLoadBalancer, NetworkTargetGroup, Protocol, TargetType } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from './defaults.ts';
import { REPO_ROOT } from './function.ts';
import { SelfSignedTlsSecret } from './self-signed-tls-secret.ts';
import type { XmppTable } from './table.ts';
import type { XmppWebSocket } from './websocket.ts';

export interface FederationOptions {
  /**
   * The TLS certificate and private key the service presents to peer servers, for every served domain:
   * a Secrets Manager secret whose value is JSON `{"cert": "<PEM chain>", "key": "<PEM key>"}` (optionally
   * `"dialbackSecret"`), encrypted with the account's default key (aws/secretsmanager). Renew it in place.
   * @default - a new secret holding a self-signed certificate for the domains, made at deploy time (peers accept
   * it through dialback, XEP-0220); put a CA-issued certificate into it later and it is kept
   */
  readonly tlsSecret?: ISecret;
  /**
   * Accept a peer whose certificate does not validate for its domain when it proves the domain with
   * Server Dialback (XEP-0220), as most XMPP servers do by default.
   * @default true
   */
  readonly allowDialbackWithInvalidCert?: boolean;
  /**
   * Fixed routes to peer servers instead of DNS (for testing, or peers reachable only privately):
   * domain → `host:port`.
   * @default - none: SRV lookups (RFC 6120 §3.2, XEP-0368)
   */
  readonly routes?: Readonly<Record<string, string>>;
  /**
   * A VPC of your own. The tasks run in its private subnets with egress if it has them, otherwise in its public
   * subnets with a public IP; the load balancer goes into its public subnets.
   * @default - a new VPC over two availability zones, public subnets only and no NAT gateway (the tasks get
   * public IPs, reachable only from the load balancer), plus a free DynamoDB gateway endpoint
   */
  readonly vpc?: IVpc;
  /** @default 1 */
  readonly minTasks?: number;
  /** @default 4 */
  readonly maxTasks?: number;
}

export interface XmppFederationProps extends FederationOptions {
  /** The served domains (the self-signed certificate names them). */
  readonly domains: readonly string[];
  readonly table: XmppTable;
  readonly webSocket: XmppWebSocket;
  /** Domains, table, registration …: the same Config as the functions. */
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Server-to-server XMPP (RFC 6120, XEP-0368, XEP-0220): a long-lived Node.js service on ECS Fargate (arm64)
 * behind a Network Load Balancer on TCP 5269 (STARTTLS) and 5270 (direct TLS). TLS ends in the container:
 * STARTTLS happens inside the XMPP stream, and SASL EXTERNAL needs the peer's certificate. It drains the
 * s2s-out queue the stanza function fills, and delivers inbound stanzas through the same core (table,
 * PostToConnection).
 */
export class XmppFederation extends Construct {
  readonly vpc: IVpc;
  readonly cluster: Cluster;
  readonly service: FargateService;
  readonly loadBalancer: NetworkLoadBalancer;
  readonly targetGroups: { starttls: NetworkTargetGroup; directTls: NetworkTargetGroup };
  /** Stanzas for other domains, from the stanza function (FIFO: order per message group, e.g. per peer domain). */
  readonly outbound: Queue;
  readonly outboundDeadLetter: Queue;
  readonly logGroup: LogGroup;
  /** Where the certificate and key are: the given secret, or the one created with a self-signed certificate. */
  readonly tlsSecret: ISecret;

  constructor(scope: Construct, id: string, props: XmppFederationProps) {
    super(scope, id);
    const minTasks = props.minTasks ?? DEFAULTS.minTasks;
    const maxTasks = props.maxTasks ?? DEFAULTS.maxTasks;

    // ── The TLS certificate: the deployer's secret, or a new one holding a self-signed certificate ─────────
    const selfSigned = props.tlsSecret
      ? undefined
      : new SelfSignedTlsSecret(this, 'TlsSecret', { domains: props.domains, logRetention: props.logRetention, removalPolicy: props.removalPolicy });
    this.tlsSecret = props.tlsSecret ?? selfSigned!.secret;

    // ── Network ─────────────────────────────────────────────────────────────────────────────────────────
    let taskSubnets: SubnetSelection;
    let publicIp: boolean;
    if (props.vpc) {
      this.vpc = props.vpc;
      publicIp = this.vpc.privateSubnets.length === 0;
      taskSubnets = { subnetType: publicIp ? SubnetType.PUBLIC : SubnetType.PRIVATE_WITH_EGRESS };
    } else {
      const vpc = new Vpc(this, 'Vpc', {
        maxAzs: 2,
        // A NAT gateway costs more at rest than the whole rest of the stack: the tasks use public IPs instead.
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
        gatewayEndpoints: { DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB } },
      });
      const flowLogs = new LogGroup(this, 'FlowLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
      vpc.addFlowLog('FlowLog', { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL });
      this.vpc = vpc;
      publicIp = true;
      taskSubnets = { subnetType: SubnetType.PUBLIC };
    }

    // ── The s2s-out queue ───────────────────────────────────────────────────────────────────────────────
    this.outboundDeadLetter = new Queue(this, 'OutboundDeadLetter', {
      fifo: true,
      retentionPeriod: DEFAULTS.deadLetterRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.outbound = new Queue(this, 'Outbound', {
      fifo: true,
      // A sender may set MessageDeduplicationId (preferred: a stanza is not a duplicate because it looks like one);
      // without it SQS deduplicates by content.
      contentBasedDeduplication: true,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: DEFAULTS.s2sVisibilityTimeout,
      retentionPeriod: DEFAULTS.s2sRetention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.outboundDeadLetter, maxReceiveCount: 5 },
    });

    // ── The service ─────────────────────────────────────────────────────────────────────────────────────
    this.cluster = new Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ContainerInsights.ENABLED });
    const task = new FargateTaskDefinition(this, 'Task', {
      cpu: DEFAULTS.taskCpu,
      memoryLimitMiB: DEFAULTS.taskMemoryMb,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const container = task.addContainer('federation', {
      // Built from the repository's Dockerfile at deploy time (synth only fingerprints the files .dockerignore lets in).
      image: ContainerImage.fromAsset(REPO_ROOT, { file: 'Dockerfile', platform: Platform.LINUX_ARM64 }),
      environment: {
        ...props.environment,
        // Lambda sets it itself; a container gets it from here (the SDK and the service read it).
        AWS_REGION: Stack.of(this).region,
        WS_ENDPOINT: props.webSocket.managementEndpoint,
        S2S_QUEUE_URL: this.outbound.queueUrl,
        S2S_PORT: String(DEFAULTS.s2sPort),
        S2S_DIRECT_TLS_PORT: String(DEFAULTS.s2sDirectTlsPort),
        TLS_SECRET_ARN: this.tlsSecret.secretArn,
        S2S_ALLOW_DIALBACK_WITH_INVALID_CERT: String(props.allowDialbackWithInvalidCert ?? true),
        ...(props.routes && Object.keys(props.routes).length > 0
          ? { S2S_ROUTES: Object.entries(props.routes).map(([domain, target]) => `${domain}=${target}`).join(',') }
          : {}),
        HEALTH_PORT: String(DEFAULTS.healthPort),
      },
      portMappings: [DEFAULTS.s2sPort, DEFAULTS.s2sDirectTlsPort, DEFAULTS.healthPort].map((containerPort) => ({
        containerPort,
        protocol: EcsProtocol.TCP,
      })),
      logging: LogDrivers.awsLogs({
        streamPrefix: 'federation',
        logGroup: this.logGroup,
        // A slow log pipe must not stall the XMPP streams.
        mode: AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      // node:22-slim has no curl; Node itself asks the health endpoint.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${DEFAULTS.healthPort}${DEFAULTS.healthPath}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // Time to close the streams cleanly on SIGTERM (the maximum Fargate allows is 120 s).
      stopTimeout: Duration.seconds(30),
    });

    const loadBalancerSecurityGroup = new SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'XMPP federation load balancer: TCP 5269 and 5270 from any server on the internet',
      allowAllOutbound: false,
    });
    const taskSecurityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'XMPP federation tasks: traffic from the load balancer only; outbound to peers and AWS APIs',
      allowAllOutbound: true,
    });
    for (const port of [DEFAULTS.s2sPort, DEFAULTS.s2sDirectTlsPort]) {
      loadBalancerSecurityGroup.addIngressRule(Peer.anyIpv4(), Port.tcp(port), `XMPP server-to-server ${port}`);
    }
    for (const port of [DEFAULTS.s2sPort, DEFAULTS.s2sDirectTlsPort, DEFAULTS.healthPort]) {
      loadBalancerSecurityGroup.addEgressRule(taskSecurityGroup, Port.tcp(port), `to the tasks on ${port}`);
      taskSecurityGroup.addIngressRule(loadBalancerSecurityGroup, Port.tcp(port), `from the load balancer on ${port}`);
    }

    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: task,
      desiredCount: minTasks,
      platformVersion: FargatePlatformVersion.LATEST,
      assignPublicIp: publicIp,
      vpcSubnets: taskSubnets,
      securityGroups: [taskSecurityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
    });

    // The first task reads the certificate: it must be in the secret before the service starts.
    if (selfSigned) this.service.node.addDependency(selfSigned);

    // ── The load balancer ───────────────────────────────────────────────────────────────────────────────
    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      securityGroups: [loadBalancerSecurityGroup],
      crossZoneEnabled: true,
    });
    const targetGroup = (name: string, port: number) => {
      const group = new NetworkTargetGroup(this, name, {
        vpc: this.vpc,
        port,
        protocol: Protocol.TCP,
        targetType: TargetType.IP,
        deregistrationDelay: DEFAULTS.deregistrationDelay,
        // At the end of the delay the NLB closes what is still open: peers reconnect to another task.
        connectionTermination: true,
        healthCheck: {
          protocol: Protocol.HTTP,
          port: String(DEFAULTS.healthPort),
          path: DEFAULTS.healthPath,
          interval: Duration.seconds(10),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
        },
        targets: [this.service.loadBalancerTarget({ containerName: container.containerName, containerPort: port })],
      });
      this.loadBalancer.addListener(`${name}Listener`, { port, protocol: Protocol.TCP, defaultTargetGroups: [group] });
      return group;
    };
    this.targetGroups = {
      starttls: targetGroup('StartTls', DEFAULTS.s2sPort),
      directTls: targetGroup('DirectTls', DEFAULTS.s2sDirectTlsPort),
    };

    // ── Scaling: on CPU, and on open connections per healthy task ───────────────────────────────────────
    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: DEFAULTS.targetCpuPercent });
    const perTask = DEFAULTS.connectionsPerTask;
    scaling.scaleOnMetric('Connections', {
      metric: this.connectionsPerTask(),
      adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: perTask / 2, change: -1 },
        { lower: perTask, change: +1 },
        { lower: perTask * 2, change: +2 },
      ],
      cooldown: Duration.minutes(5),
    });

    // ── Rights: the table, this API's connections, the queue, the certificate; nothing else ─────────────
    const taskRole = task.taskRole;
    props.table.grantReadWriteData(taskRole);
    props.webSocket.grantManageConnections(taskRole);
    this.outbound.grantConsumeMessages(taskRole);
    // Inbound stanzas whose replies go to yet another domain are queued like the stanza function's.
    this.outbound.grantSendMessages(taskRole);
    this.tlsSecret.grantRead(taskRole);

    this.acknowledgeFindings(task);
  }

  /** Open TCP connections through the load balancer per healthy task (STARTTLS listener's target group). */
  connectionsPerTask(): MathExpression {
    return new MathExpression({
      label: 'Connections per task',
      expression: 'IF(hosts > 0, flows / hosts, flows)',
      usingMetrics: {
        flows: this.loadBalancer.metrics.activeFlowCount({ statistic: 'Average', period: Duration.minutes(1) }),
        hosts: this.targetGroups.starttls.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
      },
      period: Duration.minutes(1),
    });
  }

  private acknowledgeFindings(task: FargateTaskDefinition): void {
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'NLB access logs record TLS listeners only; these listeners are plain TCP because TLS ends in the container ' +
        '(STARTTLS inside the XMPP stream, and SASL EXTERNAL needs the peer certificate). The VPC flow log and the ' +
        "service's own logs record the connections.",
    });
    Validations.of(this.node.findChild('LoadBalancerSecurityGroup')).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'Federation is open by nature: any XMPP server on the internet may connect on 5269 and 5270 (RFC 6120 §3, ' +
        'XEP-0368). Only these two ports are open, and peers authenticate inside the stream (PKIX or dialback).',
    });
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds configuration only (domains, table name, queue URL, ports, the secret ARN); the TLS ' +
        'private key stays in Secrets Manager and the service reads it with its task role.',
    });
    Validations.of(task.executionRole ?? task).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, which pulling the image needs, has no resource-level permissions.',
    });
  }
}
