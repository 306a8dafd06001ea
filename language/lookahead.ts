// An LL(1) lookahead strategy for the Chevrotain parser in parser.ts: each OR / OPTION /
// MANY decides on the next token alone, by a table from token type to alternative built
// from the FIRST sets of the recorded grammar. The grammar is LL(1) (maxLookahead 1), so
// the decisions are those of Chevrotain's own LLkLookaheadStrategy, which gets there by
// enumerating lookahead paths: most of the time it takes to build the parser, and so of
// `runbook check`'s start-up. A production this strategy does not handle (an alternative
// that can match nothing) is handed to Chevrotain's strategy. tests/language/parser.test.ts
// checks that both strategies parse the same inputs to the same trees.

import {
  Alternation,
  Alternative,
  LLkLookaheadStrategy,
  NonTerminal,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Rule,
  Terminal,
  type IOrAlt,
  type IProduction,
  type IToken,
  type OptionalProductionType,
  type TokenType,
} from "chevrotain";

interface First {
  types: TokenType[];
  nullable: boolean;
}

type Chooser = (this: { LA(i: number): IToken }, orAlts?: IOrAlt<unknown>[]) => number | undefined;
type Decider = (this: { LA(i: number): IToken }) => boolean;

const OPTIONAL_CLASSES: Record<OptionalProductionType, new (...args: never[]) => IProduction> = {
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
};

export class FirstSetLookahead {
  private readonly fallback = new LLkLookaheadStrategy({ maxLookahead: 1 });
  private readonly ruleFirst = new Map<Rule, First>();

  validate(): never[] {
    return []; // the grammar is validated with Chevrotain's own strategy (parser.test.ts)
  }

  buildLookaheadForAlternation(options: {
    prodOccurrence: number;
    rule: Rule;
    maxLookahead: number;
    hasPredicates: boolean;
    dynamicTokensEnabled: boolean;
  }): Chooser {
    const alternation = find(options.rule.definition, Alternation, options.prodOccurrence) as Alternation | undefined;
    const firsts = alternation?.definition.map((alt) => this.firstOfSequence((alt as Alternative).definition));
    if (!firsts || firsts.some((f) => f.nullable)) return this.fallback.buildLookaheadForAlternation(options) as Chooser;
    if (options.hasPredicates) {
      const sets = firsts.map((f) => tableOf(f.types));
      return function (orAlts) {
        const idx = this.LA(1).tokenTypeIdx;
        for (let t = 0; t < sets.length; t++) {
          const gate = orAlts?.[t]?.GATE;
          if (gate && gate.call(this) === false) continue;
          if (sets[t]![idx] === true) return t;
        }
        return undefined;
      };
    }
    const choice: (number | undefined)[] = [];
    firsts.forEach((f, alt) => {
      for (const idx of indexesOf(f.types)) choice[idx] ??= alt;
    });
    return function () {
      return choice[this.LA(1).tokenTypeIdx];
    };
  }

  buildLookaheadForOptional(options: {
    prodOccurrence: number;
    prodType: OptionalProductionType;
    rule: Rule;
    maxLookahead: number;
    dynamicTokensEnabled: boolean;
  }): Decider {
    const prod = find(options.rule.definition, OPTIONAL_CLASSES[options.prodType], options.prodOccurrence) as { definition: IProduction[] } | undefined;
    const first = prod && this.firstOfSequence(prod.definition);
    if (!first || first.nullable) return this.fallback.buildLookaheadForOptional(options) as Decider;
    const table = tableOf(first.types);
    return function () {
      return table[this.LA(1).tokenTypeIdx] === true;
    };
  }

  private firstOf(prod: IProduction): First {
    if (prod instanceof Terminal) return { types: [prod.terminalType], nullable: false };
    if (prod instanceof NonTerminal) return this.firstOfRule(prod.referencedRule);
    if (prod instanceof Alternation) {
      const all = prod.definition.map((alt) => this.firstOfSequence((alt as Alternative).definition));
      return { types: all.flatMap((f) => f.types), nullable: all.some((f) => f.nullable) };
    }
    const inner = this.firstOfSequence((prod as unknown as { definition: IProduction[] }).definition);
    const optional = prod instanceof Option || prod instanceof Repetition || prod instanceof RepetitionWithSeparator;
    return { types: inner.types, nullable: optional || inner.nullable };
  }

  private firstOfRule(rule: Rule): First {
    let f = this.ruleFirst.get(rule);
    if (!f) {
      f = this.firstOfSequence(rule.definition);
      this.ruleFirst.set(rule, f);
    }
    return f;
  }

  private firstOfSequence(seq: IProduction[]): First {
    const types: TokenType[] = [];
    for (const p of seq) {
      const f = this.firstOf(p);
      types.push(...f.types);
      if (!f.nullable) return { types, nullable: false };
    }
    return { types, nullable: true };
  }
}

/** The production of class `kind` with occurrence index `idx` in a rule (not in the rules it calls). */
function find<P extends IProduction>(seq: IProduction[], kind: new (...args: never[]) => P, idx: number): P | undefined {
  for (const p of seq) {
    if (p instanceof kind && (p as unknown as { idx: number }).idx === idx) return p;
    if (p instanceof NonTerminal || p instanceof Terminal) continue;
    // Alternation's definition is its Alternatives, each a sequence: searched the same way.
    const inner = (p as { definition?: IProduction[] }).definition;
    const found = inner && find(inner, kind, idx);
    if (found) return found;
  }
  return undefined;
}

/** The token type indexes a set of token types matches: each type and the types in its category. */
function indexesOf(types: TokenType[]): number[] {
  const out: number[] = [];
  for (const t of types) out.push(t.tokenTypeIdx!, ...((t as { categoryMatches?: number[] }).categoryMatches ?? []));
  return out;
}

function tableOf(types: TokenType[]): boolean[] {
  const table: boolean[] = [];
  for (const idx of indexesOf(types)) table[idx] = true;
  return table;
}
