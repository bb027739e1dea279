import { createInterface } from 'node:readline';
import { deriveCredentials, type Credentials } from '../../lib/sasl/credentials.ts';
import { SaslprepError } from '../../lib/sasl/saslprep.ts';
import { CliError, EXIT_BAD_INPUT } from './errors.ts';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = /^[\b\u007f]$/;
// What a shell reports for a command ended by Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED = 130;

/** The password: --password if given, else a hidden prompt on a terminal, else the first line of stdin. */
export async function readPassword(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  return process.stdin.isTTY ? promptHidden('Password: ') : firstLine();
}

/** SCRAM credentials for the password; a password SASLprep rejects, or an empty one, is bad input. */
export function credentialsFor(password: string): Credentials {
  try {
    return deriveCredentials(password);
  } catch (error) {
    if (error instanceof SaslprepError || error instanceof RangeError) {
      throw new CliError(`password rejected: ${error.message}`, EXIT_BAD_INPUT);
    }
    throw error;
  }
}

async function firstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    // Read nothing more: a writer that keeps the pipe open must not keep this process alive.
    process.stdin.destroy();
  }
}

/** Raw mode, so the terminal does not echo; Enter or Ctrl-D ends the input, Ctrl-C aborts. */
async function promptHidden(prompt: string): Promise<string> {
  const { stdin, stderr } = process;
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  let password = '';
  try {
    for await (const chunk of stdin) {
      for (const char of chunk as string) {
        if (char === '\r' || char === '\n' || char === CTRL_D) return password;
        if (char === CTRL_C) throw new CliError('interrupted', EXIT_INTERRUPTED);
        password = BACKSPACE.test(char) ? [...password].slice(0, -1).join('') : password + char;
      }
    }
    return password;
  } finally {
    stdin.setRawMode(false);
    stderr.write('\n');
  }
}
