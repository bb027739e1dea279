import { JidError, parseJid, type Jid } from '../../lib/jid.ts';
import { CliError, EXIT_BAD_INPUT } from './errors.ts';

function parse(input: string): Jid {
  try {
    return parseJid(input);
  } catch (error) {
    if (error instanceof JidError) throw new CliError(`invalid JID '${input}': ${error.message}`, EXIT_BAD_INPUT);
    throw error;
  }
}

/** An account address from the command line, prepared: user@domain, of a served domain when those are known. */
export function accountJid(input: string, served: readonly string[] | undefined): string {
  const jid = parse(input);
  if (!jid.isBare) throw new CliError(`'${input}' has a resource; an account is a bare JID (user@domain)`, EXIT_BAD_INPUT);
  if (!jid.local) throw new CliError(`'${input}' has no local part; an account is user@domain`, EXIT_BAD_INPUT);
  if (served && !served.includes(jid.domain)) {
    throw new CliError(`${jid.domain} is not served here (served: ${served.join(', ')})`, EXIT_BAD_INPUT);
  }
  return jid.toString();
}

/** The --domain values (repeatable, comma-separated), prepared and without duplicates. */
export function domainArgs(values: readonly string[]): string[] {
  const domains = values.flatMap((value) => value.split(',')).map((d) => d.trim()).filter(Boolean);
  return [
    ...new Set(
      domains.map((input) => {
        const jid = parse(input);
        if (jid.local || !jid.isBare) throw new CliError(`'${input}' is not a domain`, EXIT_BAD_INPUT);
        return jid.domain;
      }),
    ),
  ];
}
