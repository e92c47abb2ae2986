/**
 * Resetting a World to the state it was built in, instead of building a new one for every run.
 *
 * Generic on purpose: it walks the World's object graph once (own properties of every object
 * reachable from it, except the immutable inputs `scenario` and `sites`), so model state that is
 * added later — another typed array, a counter, a Map — is covered without touching this file, as
 * long as it lives in an own property of an object reachable from the World (not in a closure).
 *
 * - Every typed array is moved into one ArrayBuffer (views sharing a buffer stay sharing it), so
 *   restoring all of them is one `Uint8Array.set` of under a kilobyte.
 * - Every other own property (numbers, strings, booleans, object references) is written back, so
 *   a field the run replaced (a Map created on demand, a lock owner) returns to its first value.
 * - Arrays get their length and elements back; Maps and Sets their entries.
 * Objects created during a run and reachable only through such fields are simply dropped.
 *
 * The property and element writes are compiled once per snapshot into straight-line code (one
 * store per property, `h[3].owner = v[3]`): each store then has its own monomorphic inline cache.
 * The same writes done in a loop over (object, key) pairs are megamorphic and measured 3–10× slower
 * (cow-two-pages: 132 properties over 20 objects). The generated code only ever names properties
 * the snapshot found on the World's own objects.
 */
type Typed = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
type TypedCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => Typed;

/** Properties of the World that are inputs, shared by every run and never changed by one. */
const INPUTS = new Set(['scenario', 'sites']);

type Slot = Record<string | number, unknown>;

export class WorldSnapshot {
  /** All typed arrays of the World live here; `initial` is its content right after construction. */
  private readonly arena: Uint8Array;
  private readonly initial: Uint8Array;
  /** Own properties to write back: holder, key, value. */
  private readonly holders: Slot[] = [];
  private readonly keys: string[] = [];
  private readonly values: unknown[] = [];
  /** Arrays: their elements at snapshot time. */
  private readonly arrays: unknown[][] = [];
  private readonly arrayItems: unknown[][] = [];
  private readonly maps: Map<unknown, unknown>[] = [];
  private readonly mapItems: [unknown, unknown][][] = [];
  private readonly sets: Set<unknown>[] = [];
  private readonly setItems: unknown[][] = [];

  /** Takes the snapshot of `root` (moving its typed arrays into one buffer). */
  constructor(root: object) {
    const seen = new Set<object>();
    const buffers = new Map<ArrayBufferLike, number>();
    const typedSlots: { holder: Slot; key: string | number; arr: Typed }[] = [];
    let size = 0;
    const visit = (o: object): void => {
      if (seen.has(o)) return;
      seen.add(o);
      if (Array.isArray(o)) {
        this.arrays.push(o);
        this.arrayItems.push(o.slice());
        for (let i = 0; i < o.length; i++) slot(o as unknown as Slot, i, o[i]);
        return;
      }
      if (o instanceof Map) {
        this.maps.push(o);
        this.mapItems.push([...o.entries()]);
        for (const [k, v] of o) {
          if (isObject(k)) visit(k);
          if (isObject(v)) visit(v);
        }
        return;
      }
      if (o instanceof Set) {
        this.sets.push(o);
        this.setItems.push([...o]);
        for (const v of o) if (isObject(v)) visit(v);
        return;
      }
      const rec = o as Slot;
      for (const key of Object.keys(o)) {
        if (o === root && INPUTS.has(key)) continue;
        const desc = Object.getOwnPropertyDescriptor(o, key);
        if (desc === undefined || !('value' in desc)) continue;
        this.holders.push(rec);
        this.keys.push(key);
        this.values.push(desc.value);
        slot(rec, key, desc.value);
      }
    };
    const slot = (holder: Slot, key: string | number, v: unknown): void => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        const arr = v as Typed;
        typedSlots.push({ holder, key, arr });
        if (!buffers.has(arr.buffer)) {
          buffers.set(arr.buffer, size);
          size += align8(arr.buffer.byteLength);
        }
      } else if (isObject(v) && typeof v !== 'function') {
        visit(v);
      }
    };
    visit(root);

    // One buffer for all: copy each underlying buffer in, re-create every view over the copy.
    const arena = new ArrayBuffer(Math.max(8, size));
    this.arena = new Uint8Array(arena);
    for (const [buf, off] of buffers) this.arena.set(new Uint8Array(buf as ArrayBuffer), off);
    const moved = new Map<Typed, Typed>();
    for (const { holder, key, arr } of typedSlots) {
      let view = moved.get(arr);
      if (view === undefined) {
        const Ctor = arr.constructor as TypedCtor;
        view = new Ctor(arena, buffers.get(arr.buffer)! + arr.byteOffset, arr.length);
        moved.set(arr, view);
      }
      holder[key] = view;
    }
    // The recorded values and array items must name the moved views too.
    for (let i = 0; i < this.values.length; i++) {
      const m = moved.get(this.values[i] as Typed);
      if (m !== undefined) this.values[i] = m;
    }
    for (const items of this.arrayItems) {
      for (let i = 0; i < items.length; i++) {
        const m = moved.get(items[i] as Typed);
        if (m !== undefined) items[i] = m;
      }
    }
    this.initial = this.arena.slice();
    this.writeBack = compileWriteBack(this.keys, this.arrayItems);
  }

  /** Writes every recorded property and array element back (see compileWriteBack). */
  private readonly writeBack: (holders: Slot[], values: unknown[], arrays: unknown[][], items: unknown[][]) => void;

  /** Bytes of typed-array state (the size of the buffer a restore copies). */
  get bytes(): number {
    return this.arena.length;
  }

  /** Puts the World back into the state the snapshot was taken in. */
  restore(): void {
    this.arena.set(this.initial);
    this.writeBack(this.holders, this.values, this.arrays, this.arrayItems);
    for (let i = 0; i < this.maps.length; i++) {
      const m = this.maps[i];
      m.clear();
      for (const [k, v] of this.mapItems[i]) m.set(k, v);
    }
    for (let i = 0; i < this.sets.length; i++) {
      const s = this.sets[i];
      s.clear();
      for (const v of this.setItems[i]) s.add(v);
    }
  }
}

/**
 * Straight-line code for the writes of a restore: `h[i].key = v[i]` per property, then per array
 * its length and elements. Keys are the snapshot's own property names; one that is not a plain
 * identifier is written as a quoted (JSON-escaped) member name.
 */
function compileWriteBack(keys: readonly string[], arrayItems: readonly unknown[][]): (h: Slot[], v: unknown[], a: unknown[][], it: unknown[][]) => void {
  const lines: string[] = [];
  keys.forEach((k, i) => {
    const member = /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    lines.push(`h[${i}]${member} = v[${i}];`);
  });
  arrayItems.forEach((items, i) => {
    lines.push(`{ const x = a[${i}], y = it[${i}]; if (x.length !== ${items.length}) x.length = ${items.length};`);
    for (let j = 0; j < items.length; j++) lines.push(`x[${j}] = y[${j}];`);
    lines.push('}');
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('h', 'v', 'a', 'it', `'use strict';\n${lines.join('\n')}`) as (h: Slot[], v: unknown[], a: unknown[][], it: unknown[][]) => void;
}

function isObject(v: unknown): v is object {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
