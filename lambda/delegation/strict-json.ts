/**
 * One strict reading of JSON objects for everything the handler parses from a client: request bodies
 * and the header and claims set of id tokens. JSON.parse alone keeps the last of two equal member names,
 * so `{"sub": "alice", "sub": "bob"}` would mean different things to different readers.
 */

/** Why a text is not a strict JSON object. */
export type StrictJsonProblem = 'not_json' | 'not_object' | 'duplicate_member' | 'proto_member';

/** Thrown by {@link parseStrictJsonObject}. */
export class StrictJsonError extends Error {
  constructor(readonly problem: StrictJsonProblem) {
    super(`Not a strict JSON object: ${problem}`);
    this.name = 'StrictJsonError';
  }
}

/**
 * Parses a JSON object whose top-level member names are unique and in which no object, at any depth, has
 * a member named `__proto__`; throws {@link StrictJsonError} otherwise. JSON.parse makes `__proto__` an
 * ordinary own property, but any later copy by assignment (`Object.assign`, `target[name] = value`) would
 * set the copy's prototype instead, so such a member would read differently to different code.
 */
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
  if (hasProtoMember(text)) {
    throw new StrictJsonError('proto_member');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Calls `visit` with every member name of every object in a JSON text (already known to be valid), in
 * order, decoded however it is escaped (`"\u005f_proto__"` too), with the depth of its object (1 for
 * the top level); stops early when `visit` returns true, and returns whether it did.
 */
function someMemberName(json: string, visit: (name: string, depth: number) => boolean): boolean {
  // One entry per open container: whether it is an object.
  const objects: boolean[] = [];
  let expectingKey = false;
  for (let index = 0; index < json.length; index++) {
    const character = json[index];
    if (character === '"') {
      let end = index + 1;
      while (json[end] !== '"') {
        end += json[end] === '\\' ? 2 : 1;
      }
      if (expectingKey && visit(JSON.parse(json.slice(index, end + 1)) as string, objects.length)) {
        return true;
      }
      expectingKey = false;
      index = end;
    } else if (character === '{' || character === '[') {
      objects.push(character === '{');
      expectingKey = character === '{';
    } else if (character === '}' || character === ']') {
      objects.pop();
      expectingKey = false;
    } else if (character === ',') {
      expectingKey = objects[objects.length - 1] === true;
    }
  }
  return false;
}

/** Whether a JSON text (already known to be valid) has a member named `__proto__` in any of its objects. */
export function hasProtoMember(json: string): boolean {
  return someMemberName(json, (name) => name === '__proto__');
}

/**
 * Whether a JSON text (already known to be a valid object) names a top-level key twice; JSON.parse
 * silently keeps the last one, which would let `{"id_token": a, "id_token": b}` mean different things to
 * different readers.
 */
export function hasDuplicateTopLevelKey(json: string): boolean {
  const seen = new Set<string>();
  return someMemberName(json, (name, depth) => {
    if (depth !== 1) return false;
    if (seen.has(name)) return true;
    seen.add(name);
    return false;
  });
}
