import { redirectMiddlewareOwner } from './keys';
import { flat } from './compact';

/**
 * Keys under `{root}{name}/`: per name, a bitmap over a table of the suffixes the plugin
 * writes, with a list for any other suffix. Key names are rebuilt on demand.
 */
export class PrefixedKeyTable implements Iterable<[string, string[]]> {
  private readonly bits = new Map<string, number>();
  private readonly others = new Map<string, string[]>();
  private readonly suffixBit = new Map<string, number>();
  private keyTotal = 0;

  constructor(
    private readonly root: string,
    private readonly suffixes: readonly string[],
  ) {
    if (suffixes.length > 30) throw new Error('at most 30 interned suffixes');
    suffixes.forEach((suffix, i) => this.suffixBit.set(suffix, 1 << i));
  }

  /** Records `{root}{name}/{suffix}`; false when it was already recorded (SCAN repeats keys). */
  add(name: string, suffix: string): boolean {
    const bit = this.suffixBit.get(suffix);
    if (bit !== undefined) return this.addBit(name, bit);
    const list = this.others.get(name);
    if (list?.includes(suffix)) return false;
    if (list) list.push(suffix);
    else this.others.set(flat(name), [suffix]);
    if (!this.bits.has(name)) this.bits.set(flat(name), 0);
    this.keyTotal++;
    return true;
  }

  /** Records a whole key name under the table's root; false when it is not under it or already known. */
  addKey(key: string): boolean {
    const slash = key.indexOf('/', this.root.length);
    if (!key.startsWith(this.root) || slash <= this.root.length || slash === key.length - 1) return false;
    const name = key.slice(this.root.length, slash);
    // The sub-key is found in place: no substring for the names the plugin writes.
    const length = key.length - slash - 1;
    for (let i = 0; i < this.suffixes.length; i++) {
      const suffix = this.suffixes[i];
      if (suffix.length === length && key.startsWith(suffix, slash + 1)) return this.addBit(name, 1 << i);
    }
    return this.add(name, key.slice(slash + 1));
  }

  private addBit(name: string, bit: number): boolean {
    const now = this.bits.get(name);
    if (now === undefined) this.bits.set(flat(name), bit);
    else if (now & bit) return false;
    else this.bits.set(name, now | bit);
    this.keyTotal++;
    return true;
  }

  has(name: string): boolean {
    return this.bits.has(name);
  }

  /** Every key name under `{root}{name}/`, or undefined when none was recorded. */
  get(name: string): string[] | undefined {
    const bits = this.bits.get(name);
    if (bits === undefined) return undefined;
    const prefix = `${this.root}${name}/`;
    const keys: string[] = [];
    this.suffixes.forEach((suffix, i) => {
      if (bits & (1 << i)) keys.push(prefix + suffix);
    });
    for (const suffix of this.others.get(name) ?? []) keys.push(prefix + suffix);
    return keys;
  }

  get size(): number {
    return this.bits.size;
  }

  /** Key names recorded, over every name. */
  get keyCount(): number {
    return this.keyTotal;
  }

  keys(): IterableIterator<string> {
    return this.bits.keys();
  }

  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const name of this.bits.keys()) yield [name, this.get(name)!];
  }
}

/** The router sub-keys the plugin writes (pages.go registerTraefikRouter), and a few more middlewares. */
export const ROUTER_SUFFIXES = [
  'rule',
  'entryPoints/0',
  'entryPoints/1',
  'service',
  'tls/certResolver',
  'priority',
  ...Array.from({ length: 16 }, (_, i) => `middlewares/${i}`),
] as const;

/** The sub-keys of a redirect middleware (redirects.go). */
export const MIDDLEWARE_SUFFIXES = ['redirectRegex/regex', 'redirectRegex/replacement', 'redirectRegex/permanent'] as const;

/** Redirect middlewares: a `PrefixedKeyTable` that knows which sanitized domain each belongs to. */
export class MiddlewareTable extends PrefixedKeyTable {
  sanitizedDomainOf(name: string): string {
    return redirectMiddlewareOwner(name)!;
  }
}
