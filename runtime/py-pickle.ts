// A reader of Python pickles that holds plain data only: dicts, lists, tuples,
// sets, text, bytes, ints, floats, booleans and None, in protocols 0 to 5 (what
// pydal's `pickle.dump` of a `.table` file's field dict is, under Python 2 and
// 3). Nothing in a pickle is run or built: an opcode that would name a class or
// call something (GLOBAL, REDUCE, BUILD, …) is refused with PickleError.

export type PyValue = string | number | bigint | boolean | null | Buffer | PyValue[] | PyDict;
/** A dict with text keys (the only keys this reader takes). */
export type PyDict = Map<string, PyValue>;

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PickleError";
  }
}

const MARK = Symbol("mark");
type Item = PyValue | typeof MARK;

/** The one value a pickle holds. */
export function readPickle(bytes: Buffer): PyValue {
  const stack: Item[] = [];
  const memo = new Map<number, PyValue>();
  let at = 0;

  const fail = (why: string): never => {
    throw new PickleError(`byte ${at}: ${why}`);
  };
  const take = (n: number): Buffer => {
    if (n < 0 || at + n > bytes.length) fail("the pickle ends early");
    const b = bytes.subarray(at, at + n);
    at += n;
    return b;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail("the pickle ends early");
    const s = bytes.toString("latin1", at, end);
    at = end + 1;
    return s;
  };
  const u8 = () => take(1)[0]!;
  const u16 = () => take(2).readUInt16LE(0);
  const u32 = () => take(4).readUInt32LE(0);
  const u64 = () => {
    const n = take(8).readBigUInt64LE(0);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail("a length too large");
    return Number(n);
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) return fail("the stack is empty");
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) return fail("the stack is empty");
    return v;
  };
  /** The items above the topmost mark, and the mark taken off. */
  const popMark = (): PyValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail("no mark on the stack");
    const items = stack.splice(i) as PyValue[];
    items.shift();
    return items;
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (!(dict instanceof Map)) fail("items set on what is not a dict");
    if (items.length % 2) fail("a key without a value");
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (typeof k !== "string") fail("a dict key that is not text");
      (dict as PyDict).set(k as string, items[i + 1]!);
    }
  };
  const appendTo = (list: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(list)) fail("items appended to what is not a list");
    (list as PyValue[]).push(...items);
  };
  const int = (n: bigint): number | bigint => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);
  const signedLE = (b: Buffer): bigint => {
    if (b.length === 0) return 0n;
    let n = 0n;
    for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
    return b[b.length - 1]! & 0x80 ? n - (1n << BigInt(8 * b.length)) : n;
  };
  const memoGet = (i: number): PyValue => (memo.has(i) ? memo.get(i)! : fail(`memo ${i} was never put`));

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("a protocol newer than 5");
        break;
      case 0x95: // FRAME: a length only
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail("the pickle does not end with one value");
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: {
        // INT (protocol 0): I01 / I00 are True / False
        const s = line();
        if (s === "01") stack.push(true);
        else if (s === "00") stack.push(false);
        else if (/^[-+]?\d+$/.test(s)) stack.push(int(BigInt(s)));
        else fail("an INT that is not a number");
        break;
      }
      case 0x4c: {
        // LONG (protocol 0): digits, then L under Python 2
        const s = line().replace(/L$/, "");
        if (!/^[-+]?\d+$/.test(s)) fail("a LONG that is not a number");
        stack.push(int(BigInt(s)));
        break;
      }
      case 0x4a: // BININT
        stack.push(take(4).readInt32LE(0));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(int(signedLE(take(u8()))));
        break;
      case 0x8b: {
        // LONG4
        const n = take(4).readInt32LE(0);
        if (n < 0) fail("a negative length");
        stack.push(int(signedLE(take(n))));
        break;
      }
      case 0x46: {
        // FLOAT (protocol 0)
        const s = line();
        const n = Number(s);
        if (Number.isNaN(n) && !/^[-+]?nan$/i.test(s)) fail("a FLOAT that is not a number");
        stack.push(n);
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(take(8).readDoubleBE(0));
        break;
      case 0x53: // STRING (protocol 0, Python 2's str): a quoted repr
        stack.push(pyStringRepr(line(), fail));
        break;
      case 0x54: // BINSTRING
        stack.push(take(u32()).toString("latin1"));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(take(u8()).toString("latin1"));
        break;
      case 0x56: // UNICODE (protocol 0): raw-unicode-escape
        stack.push(rawUnicodeEscape(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(take(u32()).toString("utf8"));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(take(u8()).toString("utf8"));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(take(u64()).toString("utf8"));
        break;
      case 0x42: // BINBYTES
        stack.push(Buffer.from(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Buffer.from(take(u8())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Buffer.from(take(u64())));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d: PyDict = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x5d: // EMPTY_LIST
      case 0x8f: // EMPTY_SET (as a list)
        stack.push([]);
        break;
      case 0x6c: // LIST
      case 0x74: // TUPLE
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS (to a set, kept as a list)
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x70: {
        // PUT
        const s = line();
        if (!/^\d+$/.test(s)) fail("a PUT without a number");
        memo.set(Number(s), top());
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: {
        // GET
        const s = line();
        if (!/^\d+$/.test(s)) fail("a GET without a number");
        stack.push(memoGet(Number(s)));
        break;
      }
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      default:
        // GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, PERSID, EXT…, buffers: not plain data.
        fail(`opcode 0x${op.toString(16).padStart(2, "0")} is not plain data (only dicts, lists, text, numbers, booleans and None are read)`);
    }
  }
}

/** Protocol 0's STRING argument: Python 2's repr of a str, in quotes ('…' or "…"), its bytes as latin1 text. */
function pyStringRepr(s: string, fail: (why: string) => never): string {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s.length < 2 || s[s.length - 1] !== q) fail("a STRING that is not quoted");
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", v: "\v" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    return simple[e] ?? `\\${e}`;
  });
}

/** Protocol 0's UNICODE argument: latin1 but for \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u?: string, U?: string) => String.fromCodePoint(parseInt((u ?? U)!, 16)));
}
