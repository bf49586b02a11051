/**
 * A model id names the model's folder in the model library (<userData>/models/<id>), so it is
 * checked wherever one enters (a request's --id, an id taken from a file or folder name, the
 * library itself): never "." or "..", no separator, no control character, no leading dot (the
 * library's own temporary folders start with one) or dash (it would read as an option), and short.
 */
const MODEL_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export const MODEL_ID_RULE = 'letters, digits, . _ - only, not starting with . or -, at most 100 characters';

/** Why `id` cannot be a model id, or null when it can. */
export function modelIdProblem(id: string): string | null {
  if (MODEL_ID.test(id)) return null;
  if (id === '') return 'it is empty';
  if (id === '.' || id === '..') return `"${id}" names a folder itself, not a model`;
  if (id.length > 100) return `it has ${id.length} characters (at most 100)`;
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'it holds control characters';
  if (/[/\\]/.test(id)) return 'it holds a path separator';
  return MODEL_ID_RULE;
}

/** An id as messages show it: quoted with JSON's escapes (no raw control characters), long ones cut. */
export function shownModelId(id: string): string {
  return JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id);
}
