import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULTS } from './defaults.ts';

/** The repository root: the entry points, package-lock.json and tsconfig.json are found from it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface XmppFunctionProps {
  /** The entry point, relative to the repository root (functions/connect.ts …). */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly tracing: boolean;
}

/**
 * One Lambda function of the server: bundled from its TypeScript entry point by the local esbuild (never
 * Docker), ESM for Node 22+, the AWS SDK left to the runtime; its own role (nothing attached but its log
 * group: callers grant the rest) and its own log group with a retention, JSON logs.
 */
export class XmppFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: XmppFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    // An explicit role instead of the default one with AWSLambdaBasicExecutionRole: that managed policy lets
    // the function create log groups and write to any of them; this one writes to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (Cirrus)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: DEFAULTS.runtime,
      architecture: DEFAULTS.architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        ...props.environment,
        // Stack traces point into the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
      },
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        // The same build as `npm run build` (infra/build.ts): ESM for Node 22+, minified, the SDK external.
        format: OutputFormat.ESM,
        target: DEFAULTS.bundleTarget,
        mainFields: ['module', 'main'],
        externalModules: ['@aws-sdk/*'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.EXTERNAL,
        sourcesContent: false,
        // Some CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
        tsconfig: join(REPO_ROOT, 'tsconfig.json'),
        forceDockerBundling: false,
      },
    });
  }
}
