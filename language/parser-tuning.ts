// The Chevrotain tuning of the parser, apart from its grammar (parser.ts): how the parser
// is built quickly and how its CST is made small. `TunedCstParser` is the CstParser that
// RunbookParser extends: it picks the lookahead strategy (lookahead.ts's FIRST-set tables
// or Chevrotain's own), records the grammar on a prototype of its own instead of setting
// and deleting 86 methods on the parser, and makes CST nodes' `children` with a
// constructor. Each trick can be switched off (`TuningOptions`), and
// tests/language/parser.test.ts checks each against the plain way: the same grammar
// recorded, the same trees parsed. docs/development.md lists the speed work.

import { CstParser, type CstNode, type IParserErrorMessageProvider, type TokenType } from "chevrotain";
import { FirstSetLookahead } from "./lookahead.js";

/**
 * `validate`: run Chevrotain's grammar checks (tests). `recovery`: error recovery. `lookahead`:
 * "first-sets" (lookahead.ts, quick to build) or Chevrotain's own LL(k) strategy. `recording`:
 * how the grammar is recorded (see `enableRecording`).
 */
export interface TuningOptions {
  validate?: boolean;
  recovery?: boolean;
  lookahead?: "first-sets" | "chevrotain";
  recording?: "own" | "chevrotain";
}

/** Chevrotain's grammar recorder (traits/gast_recorder.js), as RunbookParser reaches it. */
interface Recorder {
  RECORDING_PHASE: boolean;
  enableRecording(): void;
  disableRecording(): void;
  consumeInternalRecord(tok: unknown, idx: number, opts: unknown): unknown;
  subruleInternalRecord(rule: unknown, idx: number, opts: unknown): unknown;
  optionInternalRecord(action: unknown, idx: number): unknown;
  orInternalRecord(alts: unknown, idx: number): unknown;
  manyInternalRecord(idx: number, action: unknown): void;
  manySepFirstInternalRecord(idx: number, action: unknown): void;
  atLeastOneInternalRecord(idx: number, action: unknown): void;
  atLeastOneSepFirstInternalRecord(idx: number, action: unknown): void;
  ACTION_RECORD: unknown;
  BACKTRACK_RECORD: unknown;
  LA_RECORD: unknown;
}

const recordingPrototypes = new WeakMap<object, object>();

/** `proto` with the recording DSL methods on top (what Chevrotain's `enableRecording` sets on the parser). */
function recordingPrototype(proto: object): object {
  let rec = recordingPrototypes.get(proto);
  if (rec) return rec;
  const r: Record<string, unknown> = Object.create(proto) as Record<string, unknown>;
  for (let i = 0; i < 10; i++) {
    const idx = i > 0 ? i : "";
    r[`CONSUME${idx}`] = function (this: Recorder, a: unknown, b: unknown) { return this.consumeInternalRecord(a, i, b); };
    r[`SUBRULE${idx}`] = function (this: Recorder, a: unknown, b: unknown) { return this.subruleInternalRecord(a, i, b); };
    r[`OPTION${idx}`] = function (this: Recorder, a: unknown) { return this.optionInternalRecord(a, i); };
    r[`OR${idx}`] = function (this: Recorder, a: unknown) { return this.orInternalRecord(a, i); };
    r[`MANY${idx}`] = function (this: Recorder, a: unknown) { this.manyInternalRecord(i, a); };
    r[`MANY_SEP${idx}`] = function (this: Recorder, a: unknown) { this.manySepFirstInternalRecord(i, a); };
    r[`AT_LEAST_ONE${idx}`] = function (this: Recorder, a: unknown) { this.atLeastOneInternalRecord(i, a); };
    r[`AT_LEAST_ONE_SEP${idx}`] = function (this: Recorder, a: unknown) { this.atLeastOneSepFirstInternalRecord(i, a); };
  }
  r.consume = function (this: Recorder, idx: number, a: unknown, b: unknown) { return this.consumeInternalRecord(a, idx, b); };
  r.subrule = function (this: Recorder, idx: number, a: unknown, b: unknown) { return this.subruleInternalRecord(a, idx, b); };
  r.option = function (this: Recorder, idx: number, a: unknown) { return this.optionInternalRecord(a, idx); };
  r.or = function (this: Recorder, idx: number, a: unknown) { return this.orInternalRecord(a, idx); };
  r.many = function (this: Recorder, idx: number, a: unknown) { this.manyInternalRecord(idx, a); };
  r.atLeastOne = function (this: Recorder, idx: number, a: unknown) { this.atLeastOneInternalRecord(idx, a); };
  const base = proto as Recorder;
  r.ACTION = base.ACTION_RECORD;
  r.BACKTRACK = base.BACKTRACK_RECORD;
  r.LA = base.LA_RECORD;
  rec = r;
  recordingPrototypes.set(proto, rec);
  return rec;
}

/** The constructor of CST nodes' `children` (see `cstInvocationStateUpdate`). */
function Children(): void {}

/** A CST node's `children`, made as `cstInvocationStateUpdate` makes them. */
export const newChildren = (): CstNode["children"] => new (Children as unknown as new () => CstNode["children"])();

/** A CstParser built and recording its grammar the quick way; the subclass calls `performSelfAnalysis`. */
export abstract class TunedCstParser extends CstParser {
  constructor(
    vocabulary: TokenType[],
    errorMessageProvider: IParserErrorMessageProvider,
    { validate = false, recovery = true, lookahead = "first-sets", recording = "own" }: TuningOptions = {},
  ) {
    super(vocabulary, {
      ...(lookahead === "first-sets" && !validate ? { lookaheadStrategy: new FirstSetLookahead() } : {}),
      recoveryEnabled: recovery,
      maxLookahead: 1,
      errorMessageProvider,
      skipValidations: !validate,
    });
    this.recording = recording;
  }

  /** How the grammar is recorded: "own" (see `enableRecording`) or Chevrotain's way (tests compare the two). */
  private readonly recording: "own" | "chevrotain";

  /**
   * Chevrotain records the grammar by running every rule with recording versions of the DSL
   * methods (`CONSUME1`, `OR2`, …), 86 of them, set on the parser itself and deleted after:
   * deleting them turns the parser into a dictionary for a while and made up about 5 ms and
   * 1.5 MB of allocation of every `runbook check`. Here they live on a prototype of their own,
   * put between the parser and its class while recording and taken out after (the same
   * methods as Chevrotain's, so the recorded grammar is the same; tests/language/parser.test.ts
   * compares it with a parser made with `recording: "chevrotain"`).
   */
  protected enableRecording(): void {
    if (this.recording === "chevrotain") return void (CstParser.prototype as unknown as Recorder).enableRecording.call(this);
    (this as unknown as Recorder).RECORDING_PHASE = true;
    Object.setPrototypeOf(this, recordingPrototype(Object.getPrototypeOf(this) as object));
  }

  protected disableRecording(): void {
    if (this.recording === "chevrotain") return void (CstParser.prototype as unknown as Recorder).disableRecording.call(this);
    (this as unknown as Recorder).RECORDING_PHASE = false;
    Object.setPrototypeOf(this, Object.getPrototypeOf(Object.getPrototypeOf(this)) as object);
  }

  /**
   * Chevrotain starts every CST node with `children: Object.create(null)`, which V8 keeps
   * in dictionary mode: several hundred bytes a node and a hash lookup per child access.
   * Objects made by a constructor get hidden classes instead, with room in the object for
   * as many keys as nodes use (an `{}` literal has room for four, and a step has seven):
   * the CST of a large runbook shrinks by more than half and to-ast reads it faster. No rule
   * or label is named like an Object.prototype member, so the prototype cannot shadow a
   * missing child (tests/language/parser.test.ts).
   */
  protected cstInvocationStateUpdate(fullRuleName: string): void {
    const node: CstNode = { name: fullRuleName, children: newChildren() };
    const self = this as unknown as { setInitialNodeLocation(n: CstNode): void; CST_STACK: CstNode[] };
    self.setInitialNodeLocation(node);
    self.CST_STACK.push(node);
  }
}
