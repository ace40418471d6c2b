/**
 * One strict reading of JSON objects for everything the handler parses from a client: request bodies
 * and the header and claims set of id tokens. JSON.parse alone keeps the last of two equal member names,
 * so `{"sub": "alice", "sub": "bob"}` would mean different things to different readers.
 */

/** Why a text is not a strict JSON object. */
export type StrictJsonProblem = 'not_json' | 'not_object' | 'duplicate_member';

/** Thrown by {@link parseStrictJsonObject}. */
export class StrictJsonError extends Error {
  constructor(readonly problem: StrictJsonProblem) {
    super(`Not a strict JSON object: ${problem}`);
    this.name = 'StrictJsonError';
  }
}

/** Parses a JSON object whose top-level member names are unique; throws {@link StrictJsonError} otherwise. */
export function parseStrictJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StrictJsonError('not_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StrictJsonError('not_object');
  }
  if (hasDuplicateTopLevelKey(text)) {
    throw new StrictJsonError('duplicate_member');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Whether a JSON text (already known to be a valid object) names a top-level key twice; JSON.parse
 * silently keeps the last one, which would let `{"id_token": a, "id_token": b}` mean different things to
 * different readers.
 */
export function hasDuplicateTopLevelKey(json: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let expectingKey = false;
  for (let index = 0; index < json.length; index++) {
    const character = json[index];
    if (character === '"') {
      let end = index + 1;
      while (json[end] !== '"') {
        end += json[end] === '\\' ? 2 : 1;
      }
      if (depth === 1 && expectingKey) {
        const key = JSON.parse(json.slice(index, end + 1)) as string;
        if (seen.has(key)) return true;
        seen.add(key);
        expectingKey = false;
      }
      index = end;
    } else if (character === '{' || character === '[') {
      depth++;
      expectingKey = depth === 1 && character === '{';
    } else if (character === '}' || character === ']') {
      depth--;
    } else if (character === ',' && depth === 1) {
      expectingKey = true;
    }
  }
  return false;
}
