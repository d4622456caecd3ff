/**
 * Connect-ES builds `Headers` objects (in ConnectError and responses), which
 * the mini-program's JavaScript runtime does not have. installHeaders puts a
 * small, spec-shaped Headers class on globalThis when there is none; where a
 * real one exists (Node, browsers, devtools) it does nothing.
 */
export function installHeaders(): void {
  const g = globalThis as { Headers?: unknown };
  if (typeof g.Headers !== "function") {
    g.Headers = MiniHeaders;
  }
}

type Init = MiniHeaders | Record<string, string> | [string, string][] | Iterable<[string, string]> | undefined;

/** A minimal Headers: case-insensitive, comma-joined repeated values. */
export class MiniHeaders {
  private readonly map = new Map<string, string>();

  constructor(init?: Init) {
    if (init == null) return;
    if (init instanceof MiniHeaders || Symbol.iterator in Object(init)) {
      for (const [k, v] of init as Iterable<[string, string]>) this.append(k, v);
      return;
    }
    for (const [k, v] of Object.entries(init as Record<string, string>)) this.append(k, v);
  }

  append(name: string, value: string): void {
    const k = name.toLowerCase();
    const old = this.map.get(k);
    this.map.set(k, old === undefined ? String(value) : old + ", " + String(value));
  }

  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), String(value));
  }

  get(name: string): string | null {
    const v = this.map.get(name.toLowerCase());
    return v === undefined ? null : v;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }

  forEach(fn: (value: string, key: string, parent: MiniHeaders) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  *entries(): IterableIterator<[string, string]> {
    yield* [...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
