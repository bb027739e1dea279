/**
 * Published on-demand prices the cost table uses: US East (N. Virginia), first pricing tier, in US dollars.
 * Taken from the pages below as quoted in issue #6 on the date below; this machine cannot reach them, so
 * re-check before quoting a figure as current. Change prices here only: nothing else holds one.
 */
export const PRICES = {
  date: '2026-11-24',
  region: 'us-east-1',
  apiGateway: {
    /** WebSocket APIs: per million messages, sent or received, metered in 32 KB increments. */
    perMillionMessages: 1.0,
    /** Per million connection-minutes. */
    perMillionConnectionMinutes: 0.25,
    messageMeteringBytes: 32 * 1024,
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  lambda: {
    perMillionRequests: 0.2,
    /** arm64 (Graviton), first 7.5 billion GB-s a month. */
    perGbSecondArm64: 0.0000133334,
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  dynamodb: {
    /** On-demand: per million write request units (1 KB each) and read request units (4 KB, strongly consistent). */
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  sqs: {
    /** FIFO queues: per million requests, each request metered in 64 KB chunks. */
    perMillionFifoRequests: 0.5,
    requestMeteringBytes: 64 * 1024,
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
} as const;

/**
 * How a deployment of infra/constructs spends, for the model: the stanza function's memory and the SQS batch
 * size it is given (infra/constructs/defaults.ts), and how full batches are assumed to be.
 */
export const DEPLOYMENT = {
  stanzaMemoryMb: 512,
  connectMemoryMb: 256,
  /**
   * Frames per Lambda invocation (and per ReceiveMessage + DeleteMessageBatch). At most 10; with one FIFO group
   * per connection and light traffic most batches hold one frame, so the model assumes the worst case, 1.
   */
  framesPerBatch: 1,
} as const;
