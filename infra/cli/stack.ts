import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { OUTPUTS } from '../constructs/outputs.ts';
import { CliError, EXIT_FAILURE } from './errors.ts';

/** What `--stack NAME` finds in a deployed Cirrus stack's outputs. */
export interface DeployedStack {
  tableName: string;
  domains: string[];
  /** The stack's region: the table is in it. */
  region: string;
}

/** The part of CloudFormationClient used here (tests pass their own). */
export interface StackReader {
  send(command: DescribeStacksCommand): Promise<{ Stacks?: Array<{ StackName?: string; StackStatus?: string; Outputs?: Output[] }> }>;
  config: { region: () => Promise<string> };
}

/** The table and domains from a Cirrus stack's outputs (names in infra/constructs/outputs.ts). */
export function parseStackOutputs(stackName: string, outputs: readonly Output[]): { tableName: string; domains: string[] } {
  const value = (key: string) => outputs.find((output) => output.OutputKey === key)?.OutputValue?.trim() || undefined;
  const tableName = value(OUTPUTS.tableName);
  if (!tableName) {
    throw new CliError(`stack ${stackName} has no ${OUTPUTS.tableName} output: is it a Cirrus stack (npx cdk deploy)?`, EXIT_FAILURE);
  }
  const domains = (value(OUTPUTS.domains) ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  return { tableName, domains };
}

/** Reads the stack's outputs with DescribeStacks, in `region` or the SDK's default region. */
export async function readStack(stackName: string, options: { region?: string; client?: StackReader } = {}): Promise<DeployedStack> {
  const client = options.client ?? new CloudFormationClient({ region: options.region });
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    throw new CliError(`no AWS region for stack ${stackName}: pass --region (or set AWS_REGION)`, EXIT_FAILURE);
  }
  let stacks;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (error) {
    const { name, message } = error as Error;
    // CloudFormation answers an unknown stack with a ValidationError "Stack with id … does not exist".
    if (/does not exist/.test(message ?? '')) throw new CliError(`no stack ${stackName} in ${region}`, EXIT_FAILURE);
    throw new CliError(`cannot read stack ${stackName} in ${region}: ${name}: ${message}`, EXIT_FAILURE);
  }
  const stack = stacks?.[0];
  if (!stack) throw new CliError(`no stack ${stackName} in ${region}`, EXIT_FAILURE);
  return { ...parseStackOutputs(stackName, stack.Outputs ?? []), region };
}
