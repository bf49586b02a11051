/** A request as a transport hands it over, checked against the contract: a known name, and input its zod schema accepts. */
import type { z } from 'zod';
import { isRequestName, requests, type RequestName } from '../../shared/api';
import { StudioError } from '../../shared/errors';

/** The request's name and parsed input, or a typed error (unknown_request; bad_request naming the field). */
export function parseRequest(name: unknown, input: unknown): { name: RequestName; input: unknown } {
  if (!isRequestName(name)) throw new StudioError('unknown_request', `There is no request named ${JSON.stringify(name)}.`);
  const schema: z.ZodType = requests[name].input;
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || undefined;
    throw new StudioError('bad_request', `${name}: ${field ? `${field}: ` : ''}${issue.message}`, field);
  }
  return { name, input: parsed.data };
}
