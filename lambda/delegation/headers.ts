import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * The request's headers, read once from both of API Gateway's maps (`headers`, last value wins, and
 * `multiValueHeaders`, every value) with names lower-cased, so that the origin check, CORS and the
 * request parser all see the same values and the same repetitions.
 */
export class RequestHeaders {
  /** Reads both header maps of `event`; tolerates absent (`null`) maps. */
  static of(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>): RequestHeaders {
    return new RequestHeaders(event);
  }

  /** Names present in either map, whatever their values. */
  private readonly names = new Set<string>();
  /** The value of each name: from `headers`, else the last of its first non-empty `multiValueHeaders` list. */
  private readonly values = new Map<string, string>();
  /** How many keys of `headers` carry a value for each name (they differ only in case). */
  private readonly singleCounts = new Map<string, number>();
  /** How many values `multiValueHeaders` holds for each name, over all its spellings. */
  private readonly multiCounts = new Map<string, number>();
  /** Names of which `multiValueHeaders` lists more than one value under one spelling. */
  private readonly repeatedInOneList = new Set<string>();
  /** The string values of `Origin` in `headers`, under any spelling. */
  private readonly originValues: string[] = [];

  private constructor(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>) {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      const lower = name.toLowerCase();
      this.names.add(lower);
      if (lower === 'origin' && typeof value === 'string') {
        this.originValues.push(value);
      }
      if (value === undefined) continue;
      this.singleCounts.set(lower, (this.singleCounts.get(lower) ?? 0) + 1);
      this.values.set(lower, value);
    }
    for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
      const lower = name.toLowerCase();
      this.names.add(lower);
      if (list === undefined) continue;
      if (Array.isArray(list) && list.length > 1) {
        this.repeatedInOneList.add(lower);
      }
      this.multiCounts.set(lower, (this.multiCounts.get(lower) ?? 0) + list.length);
      if (!this.values.has(lower) && list.length > 0) {
        this.values.set(lower, list[list.length - 1]);
      }
    }
  }

  /** The value of the header `lowerCaseName`, or undefined when absent. */
  get(lowerCaseName: string): string | undefined {
    return this.values.get(lowerCaseName);
  }

  /** Whether the header `lowerCaseName` was sent at all, even without a value. */
  has(lowerCaseName: string): boolean {
    return this.names.has(lowerCaseName);
  }

  /** Whether the header `lowerCaseName` came more than once in either map, which different layers could read differently. */
  repeated(lowerCaseName: string): boolean {
    return (this.singleCounts.get(lowerCaseName) ?? 0) > 1 || (this.multiCounts.get(lowerCaseName) ?? 0) > 1;
  }

  /** The `Origin` header, or undefined when absent or sent more than once. */
  get origin(): string | undefined {
    if (this.repeatedInOneList.has('origin')) {
      return undefined;
    }
    return this.originValues.length === 1 ? this.originValues[0] : undefined;
  }
}
