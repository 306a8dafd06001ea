// The parser: a Chevrotain CstParser for the whole grammar of the runbook language
// (docs: shared LANGUAGE.md). `parseSource` lexes with tokens.ts, parses to a CST with
// error recovery (so several syntax errors are reported in one pass) and rewrites
// Chevrotain's exceptions into plain-word diagnostics ("expected a string after `run`",
// parse-errors.ts).
// to-ast.ts turns the CST into the typed AST; compile.ts ties the pipeline together.
// The parser is built once per process (module-level singleton). This file holds the
// grammar; how Chevrotain is tuned to build it and its CST quickly is parser-tuning.ts
// (and lookahead.ts). The statements of a step are those of statements.ts's table.

import {
  EOF,
  type CstNode,
  type IOrAlt,
  type IRecognitionException,
  type IToken,
  type TokenType,
} from "chevrotain";
import type { Diagnostic } from "./diagnostics.js";
import { messages } from "./messages.js";
import { SourceText } from "./span.js";
import { newChildren, TunedCstParser, type TuningOptions } from "./parser-tuning.js";
import { STATEMENT_KINDS, STATEMENTS } from "./statements.js";
import { describeActual, endOffset, errorProvider, explain, lineBreakBetween, printable, resetErrorInfos, tokenSpan, valid } from "./parse-errors.js";
import * as T from "./tokens.js";

const { Kw } = T;

// ---------------------------------------------------------------- the grammar

/** Every token type the parser may see (the lexer's plus EOF). */
const vocabulary: TokenType[] = [...T.allTokens];

/**
 * The rules' `{ LABEL }` options, made once: an object literal in a rule body is made anew at
 * every call, and the rules run hundreds of thousands of times on a large runbook.
 */
const LABELS = ["arg", "body", "bool", "capture", "captureSecret", "command", "cond", "count", "db", "duration", "every", "format", "from", "fromDb", "fromEnv", "group", "id", "inner", "into", "item", "left", "local", "logic", "member", "name", "new", "number", "old", "on", "op", "operand", "password", "path", "probe", "ref", "right", "source", "string", "tables", "target", "template", "text", "timeout", "title", "to", "unless", "url", "user", "value", "version", "via", "when", "why"] as const;
const L = Object.fromEntries(LABELS.map((n) => [n, { LABEL: n }])) as { [K in (typeof LABELS)[number]]: { LABEL: K } };

export class RunbookParser extends TunedCstParser {
  constructor(options: TuningOptions = {}) {
    super(vocabulary, errorProvider, options);
    this.performSelfAnalysis();
  }

  /** Called with each top-level item's CST as soon as it is parsed (see `parseSource`). */
  onItem: ((item: CstNode) => void) | undefined;

  /**
   * Parts of rules that run for every step (OPTION/MANY bodies), made once like the cached
   * alternatives below: a closure written in place would be made anew at every call.
   */
  private readonly parts: Partial<Record<"steps" | "stepAs" | "stepOn" | "stepWhen" | "stepUnless" | "statement" | "runAs" | "condMore" | "comparison" | "member" | "probeOn", () => unknown>> = {};

  // Cached alternative arrays (a Chevrotain performance idiom: built once, not per call).
  private topAlts?: IOrAlt<unknown>[];
  private nameAlts?: IOrAlt<unknown>[];
  private stmtAlts?: IOrAlt<unknown>[];
  private envAlts?: IOrAlt<unknown>[];
  private valueAlts?: IOrAlt<unknown>[];
  private literalAlts?: IOrAlt<unknown>[];
  private opAlts?: IOrAlt<unknown>[];
  private logicAlts?: IOrAlt<unknown>[];
  private unaryAlts?: IOrAlt<unknown>[];

  /** `file := item* EOF` — header, declarations, env blocks, sections, steps, finally. */
  public file = this.RULE("file", () => {
    this.MANY(() => {
      const item = this.OR(
        (this.topAlts ??= [
          { ALT: () => this.SUBRULE(this.header) },
          { ALT: () => this.SUBRULE(this.description) },
          { ALT: () => this.SUBRULE(this.owner) },
          { ALT: () => this.SUBRULE(this.defaultEnv) },
          { ALT: () => this.SUBRULE(this.include) },
          { ALT: () => this.SUBRULE(this.paramDecl) },
          { ALT: () => this.SUBRULE(this.varDecl) },
          { ALT: () => this.SUBRULE(this.secretDecl) },
          { ALT: () => this.SUBRULE(this.hostDecl) },
          { ALT: () => this.SUBRULE(this.databaseDecl) },
          { ALT: () => this.SUBRULE(this.envBlock) },
          { ALT: () => this.SUBRULE(this.section) },
          { ALT: () => this.SUBRULE(this.step) },
          { ALT: () => this.SUBRULE(this.finallyBlock) },
        ]),
      ) as CstNode;
      this.ACTION(() => this.onItem?.(item));
    });
    this.CONSUME(EOF);
  });

  /** `runbook NAME version SEMVER` (NAME a string or a name). */
  public header = this.RULE("header", () => {
    this.CONSUME(Kw.runbook);
    this.OR([
      { ALT: () => this.CONSUME1(T.AnyString, L.name) },
      { ALT: () => this.CONSUME(T.Identifier, L.name) },
    ]);
    this.CONSUME(Kw.version);
    this.CONSUME2(T.AnyString, L.version);
  });

  public description = this.RULE("description", () => {
    this.CONSUME(Kw.description);
    this.CONSUME(T.AnyString, L.text);
  });

  public owner = this.RULE("owner", () => {
    this.CONSUME(Kw.owner);
    this.CONSUME(T.AnyString, L.text);
  });

  public defaultEnv = this.RULE("defaultEnv", () => {
    this.CONSUME(Kw.default);
    this.CONSUME(Kw.env);
    this.CONSUME(T.Identifier, L.name);
  });

  public include = this.RULE("include", () => {
    this.CONSUME(Kw.include);
    this.CONSUME(T.AnyString, L.path);
  });

  // ------------------------------------------------------------ declarations

  public paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Kw.param);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.literal, L.value);
  });

  public varDecl = this.RULE("varDecl", () => {
    this.CONSUME(Kw.var);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.literal, L.value);
  });

  /** `secret NAME = env "VAR"` / `… = file "path"` / `… = command "pass show x"` (`command` is a word of the language only here) */
  public secretDecl = this.RULE("secretDecl", () => {
    this.CONSUME(Kw.secret);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.Equals);
    this.OR([
      { ALT: () => this.CONSUME(Kw.env, L.source) },
      { ALT: () => this.CONSUME(Kw.file, L.source) },
      { GATE: () => this.LA(1).image === "command", ALT: () => this.CONSUME2(T.Identifier, L.source) },
    ]);
    this.CONSUME(T.AnyString, L.ref);
  });

  /** `host NAME = "user@addr"` / `host NAME = ["…", "…"]` / `host NAME = local` (a name, not a keyword: only here is it a word of the language) */
  public hostDecl = this.RULE("hostDecl", () => {
    this.CONSUME(Kw.host);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.Equals);
    this.OR([
      { ALT: () => this.CONSUME(T.AnyString, L.target) },
      { ALT: () => this.SUBRULE(this.hostGroup, L.group) },
      { GATE: () => this.LA(1).image === "local", ALT: () => this.CONSUME2(T.Identifier, L.local) },
    ]);
  });

  /** `database NAME = sqlite "path" [on HOST]` / `… = mysql "url" [password SECRET] [via HOST]` */
  public databaseDecl = this.RULE("databaseDecl", () => {
    this.CONSUME(Kw.database);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.Equals);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Kw.sqlite);
          this.CONSUME1(T.AnyString, L.path);
          this.OPTION(() => {
            this.CONSUME(Kw.on);
            this.CONSUME1(T.Identifier, L.on);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Kw.mysql);
          this.CONSUME2(T.AnyString, L.url);
          this.OPTION2(() => {
            this.CONSUME(Kw.password);
            this.CONSUME2(T.Identifier, L.password);
          });
          this.OPTION3(() => {
            this.CONSUME(Kw.via);
            this.CONSUME3(T.Identifier, L.via);
          });
        },
      },
    ]);
  });

  /** `env NAME { protected  confirm "…"  approvals N from "group" [within D]  overrides… }` */
  public envBlock = this.RULE("envBlock", () => {
    this.CONSUME(Kw.env);
    this.CONSUME(T.Identifier, L.name);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR(
        (this.envAlts ??= [
          { ALT: () => this.CONSUME(Kw.protected) },
          { ALT: () => this.SUBRULE(this.confirmStmt) },
          { ALT: () => this.SUBRULE(this.approvalsStmt) },
          { ALT: () => this.SUBRULE(this.paramDecl) },
          { ALT: () => this.SUBRULE(this.varDecl) },
          { ALT: () => this.SUBRULE(this.secretDecl) },
          { ALT: () => this.SUBRULE(this.hostDecl) },
          { ALT: () => this.SUBRULE(this.databaseDecl) },
        ]),
      ),
    );
    this.CONSUME(T.RBrace);
  });

  /** `approvals N from "group" [within DURATION]`: signed sign-off before the env's first step. */
  public approvalsStmt = this.RULE("approvalsStmt", () => {
    this.CONSUME(Kw.approvals);
    this.CONSUME(T.NumberLiteral, L.count);
    this.CONSUME(Kw.from);
    this.CONSUME(T.AnyString, L.group);
    this.OPTION(() => {
      this.CONSUME(Kw.within);
      this.CONSUME(T.Duration, L.duration);
    });
  });

  // ------------------------------------------------------------ sections and steps

  public section = this.RULE("section", () => {
    this.CONSUME(Kw.section);
    this.CONSUME(T.AnyString, L.title);
    this.CONSUME(T.LBrace);
    this.MANY((this.parts.steps ??= () => this.SUBRULE(this.step)));
    this.CONSUME(T.RBrace);
  });

  public finallyBlock = this.RULE("finallyBlock", () => {
    this.CONSUME(Kw.finally);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.step));
    this.CONSUME(T.RBrace);
  });

  /** `step "Title" [as id] [on HOST] [when COND] [unless COND] { … }` */
  public step = this.RULE("step", () => {
    this.CONSUME(Kw.step);
    this.CONSUME1(T.AnyString, L.title);
    this.OPTION(
      (this.parts.stepAs ??= () => {
        this.CONSUME(Kw.as);
        this.OR([
          { ALT: () => this.CONSUME1(T.Identifier, L.id) },
          { ALT: () => this.CONSUME2(T.AnyString, L.id) },
        ]);
      }),
    );
    this.OPTION2(
      (this.parts.stepOn ??= () => {
        this.CONSUME(Kw.on);
        this.CONSUME2(T.Identifier, L.on);
      }),
    );
    this.OPTION3(
      (this.parts.stepWhen ??= () => {
        this.CONSUME(Kw.when);
        this.SUBRULE1(this.cond, L.when);
      }),
    );
    this.OPTION4(
      (this.parts.stepUnless ??= () => {
        this.CONSUME(Kw.unless);
        this.SUBRULE2(this.cond, L.unless);
      }),
    );
    this.SUBRULE(this.block);
  });

  /** `{ statement* }` — a step body, or an `undo { … }` body. */
  public block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY((this.parts.statement ??= () =>
      this.OR(
        // One alternative per entry of the statements table, in its order.
        (this.stmtAlts ??= STATEMENT_KINDS.map((k) => {
          const rule = this.statementRule(STATEMENTS[k].rule);
          return { ALT: () => this.SUBRULE(rule) };
        })),
      )),
    );
    this.CONSUME(T.RBrace);
  });

  // ------------------------------------------------------------ statements

  public requireStmt = this.RULE("requireStmt", () => {
    this.CONSUME(Kw.require);
    this.SUBRULE(this.cond, L.cond);
    this.OPTION(() => {
      this.CONSUME(Kw.else);
      this.CONSUME(T.AnyString, L.why);
    });
  });

  public confirmStmt = this.RULE("confirmStmt", () => {
    this.CONSUME(Kw.confirm);
    this.CONSUME(T.AnyString, L.text);
  });

  public manualStmt = this.RULE("manualStmt", () => {
    this.CONSUME(Kw.manual);
    this.CONSUME(T.AnyString, L.text);
  });

  public noteStmt = this.RULE("noteStmt", () => {
    this.CONSUME(Kw.note);
    this.CONSUME(T.AnyString, L.text);
  });

  /** `run "command" [as USER] [into [secret] NAME]` (USER a name or a string; `into` is a word of the language only here and after `sql`) */
  public runStmt = this.RULE("runStmt", () => {
    this.CONSUME(Kw.run);
    this.CONSUME1(T.AnyString, L.command);
    this.OPTION(
      (this.parts.runAs ??= () => {
        this.CONSUME(Kw.as);
        this.OR([
          { ALT: () => this.CONSUME(T.Identifier, L.user) },
          { ALT: () => this.CONSUME2(T.AnyString, L.user) },
        ]);
      }),
    );
    this.OPTION2({ GATE: () => this.LA(1).image === "into", DEF: () => this.SUBRULE(this.intoClause) });
  });

  /** `into [secret] NAME`: the value a `run` prints or a `sql` query returns, for later steps. */
  public intoClause = this.RULE("intoClause", () => {
    this.CONSUME(T.Identifier, L.into);
    this.OPTION(() => this.CONSUME(Kw.secret, L.captureSecret));
    this.CONSUME2(T.Identifier, L.capture);
  });

  /** `edit "path" { replace [all] "old" with "new" … }` */
  public editStmt = this.RULE("editStmt", () => {
    this.CONSUME(Kw.edit);
    this.CONSUME(T.AnyString, L.path);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.replaceClause));
    this.CONSUME(T.RBrace);
  });

  public replaceClause = this.RULE("replaceClause", () => {
    this.CONSUME(Kw.replace);
    this.OPTION(() => this.CONSUME(Kw.all));
    this.CONSUME1(T.AnyString, L.old);
    this.CONSUME(Kw.with);
    this.CONSUME2(T.AnyString, L.new);
  });

  /** `upload [template] "local" to "remote"` (`template` is a word of the language only here) */
  public uploadStmt = this.RULE("uploadStmt", () => {
    this.CONSUME(Kw.upload);
    this.OPTION({ GATE: () => this.LA(1).image === "template", DEF: () => this.CONSUME(T.Identifier, L.template) });
    this.CONSUME1(T.AnyString, L.from);
    this.CONSUME(Kw.to);
    this.CONSUME2(T.AnyString, L.to);
  });

  public downloadStmt = this.RULE("downloadStmt", () => {
    this.CONSUME(Kw.download);
    this.CONSUME1(T.AnyString, L.from);
    this.CONSUME(Kw.to);
    this.CONSUME2(T.AnyString, L.to);
  });

  public sqlStmt = this.RULE("sqlStmt", () => {
    this.CONSUME(Kw.sql);
    this.CONSUME(T.Identifier, L.db);
    this.CONSUME(T.AnyString, L.text);
    this.OPTION({ GATE: () => this.LA(1).image === "into", DEF: () => this.SUBRULE(this.intoClause) });
  });

  /** `export DB [tables [...]] to "path" [format csv|web2py]` */
  public exportStmt = this.RULE("exportStmt", () => {
    this.CONSUME(Kw.export);
    this.CONSUME1(T.Identifier, L.db);
    this.OPTION(() => {
      this.CONSUME(Kw.tables);
      this.SUBRULE(this.list, L.tables);
    });
    this.CONSUME(Kw.to);
    this.CONSUME(T.AnyString, L.to);
    this.OPTION2(() => {
      this.CONSUME(Kw.format);
      this.CONSUME2(T.Identifier, L.format);
    });
  });

  public importStmt = this.RULE("importStmt", () => {
    this.CONSUME(Kw.import);
    this.CONSUME(T.Identifier, L.db);
    this.CONSUME(Kw.from);
    this.CONSUME(T.AnyString, L.from);
  });

  /** `sync DB from ENV.DB [tables [...]]` */
  public syncStmt = this.RULE("syncStmt", () => {
    this.CONSUME(Kw.sync);
    this.CONSUME1(T.Identifier, L.db);
    this.CONSUME(Kw.from);
    this.CONSUME2(T.Identifier, L.fromEnv);
    this.CONSUME(T.Dot);
    this.CONSUME3(T.Identifier, L.fromDb);
    this.OPTION(() => {
      this.CONSUME(Kw.tables);
      this.SUBRULE(this.list, L.tables);
    });
  });

  /**
   * `wait until COND [every D] [timeout D]`. `timeout` is also a statement (the step's
   * timeout), so the wait's own `every`/`timeout` must stay on the line of what precedes it.
   */
  public waitStmt = this.RULE("waitStmt", () => {
    this.CONSUME(Kw.wait);
    this.CONSUME(Kw.until);
    this.SUBRULE(this.cond, L.cond);
    this.OPTION({
      GATE: () => this.sameLine(),
      DEF: () => {
        this.CONSUME(Kw.every);
        this.CONSUME1(T.Duration, L.every);
      },
    });
    this.OPTION2({
      GATE: () => this.sameLine(),
      DEF: () => {
        this.CONSUME(Kw.timeout);
        this.CONSUME2(T.Duration, L.timeout);
      },
    });
    // `timeout D every D` reads as well as the contract's `every D timeout D`.
    this.OPTION3({
      GATE: () => this.sameLine(),
      DEF: () => {
        this.CONSUME2(Kw.every);
        this.CONSUME3(T.Duration, L.every);
      },
    });
  });

  /** `undo "command"` / `undo { statements }` */
  public undoStmt = this.RULE("undoStmt", () => {
    this.CONSUME(Kw.undo);
    this.OR([
      { ALT: () => this.CONSUME(T.AnyString, L.command) },
      { ALT: () => this.SUBRULE(this.block, L.body) },
    ]);
  });

  public timeoutStmt = this.RULE("timeoutStmt", () => {
    this.CONSUME(Kw.timeout);
    this.CONSUME(T.Duration, L.duration);
  });

  public retryStmt = this.RULE("retryStmt", () => {
    this.CONSUME(Kw.retry);
    this.CONSUME(T.NumberLiteral, L.count);
    this.OPTION(() => {
      this.CONSUME(Kw.every);
      this.CONSUME(T.Duration, L.every);
    });
  });

  public allowFailureStmt = this.RULE("allowFailureStmt", () => {
    this.CONSUME(Kw.allow);
    this.CONSUME(Kw.failure);
  });

  public parallelStmt = this.RULE("parallelStmt", () => {
    this.CONSUME(Kw.parallel);
    this.CONSUME(T.NumberLiteral, L.count);
  });

  // ------------------------------------------------------------ conditions and values

  /**
   * `COND and COND or COND …`: one flat chain of operands and `and`/`or` operators; to-ast.ts
   * applies the precedence (`and` binds tighter). One CST node per condition instead of a
   * node per precedence level keeps the CST of a large runbook small.
   */
  public cond = this.RULE("cond", () => {
    this.SUBRULE(this.unaryCond, L.operand);
    this.MANY(
      (this.parts.condMore ??= () => {
        this.OR(
          (this.logicAlts ??= [
            { ALT: () => this.CONSUME(Kw.and, L.logic) },
            { ALT: () => this.CONSUME(Kw.or, L.logic) },
          ]),
        );
        this.SUBRULE2(this.unaryCond, L.operand);
      }),
    );
  });

  /** `not COND` | `( COND )` | `VALUE [op VALUE]` */
  public unaryCond = this.RULE("unaryCond", () => {
    this.OR(
      (this.unaryAlts ??= [
        {
          ALT: () => {
            this.CONSUME(Kw.not);
            this.SUBRULE(this.unaryCond, L.operand);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.cond, L.inner);
            this.CONSUME(T.RParen);
          },
        },
        {
          ALT: () => {
            this.SUBRULE1(this.value, L.left);
            this.OPTION((this.parts.comparison ??= () => {
              this.OR2(
                (this.opAlts ??= [
                  { ALT: () => this.CONSUME(T.EqEq, L.op) },
                  { ALT: () => this.CONSUME(T.NotEq, L.op) },
                  { ALT: () => this.CONSUME(T.LtEq, L.op) },
                  { ALT: () => this.CONSUME(T.GtEq, L.op) },
                  { ALT: () => this.CONSUME(T.Lt, L.op) },
                  { ALT: () => this.CONSUME(T.Gt, L.op) },
                  { ALT: () => this.CONSUME(Kw.contains, L.op) },
                  { ALT: () => this.CONSUME(Kw.matches, L.op) },
                  { ALT: () => this.CONSUME(Kw.in, L.op) },
                ]),
              );
              this.SUBRULE2(this.value, L.right);
            }));
          },
        },
      ]),
    );
  });

  /**
   * literal | name[.member…] | env | succeeds/output/exists "…" [on HOST] | query DB "…".
   * The literals are `literal`'s alternatives written out (no `literal` node per value).
   */
  public value = this.RULE("value", () => {
    this.OR(
      (this.valueAlts ??= [
        ...this.literalAlternatives(),
        {
          ALT: () => {
            this.OR2(
              (this.nameAlts ??= [
                { ALT: () => this.CONSUME1(T.Identifier, L.name) },
                // `run.id`: `run` is a keyword but also the built-in value `run`.
                { ALT: () => this.CONSUME(Kw.run, L.name) },
              ]),
            );
            this.MANY(
              (this.parts.member ??= () => {
                this.CONSUME(T.Dot);
                this.CONSUME2(T.Identifier, L.member);
              }),
            );
          },
        },
        { ALT: () => this.CONSUME(Kw.env) },
        {
          ALT: () => {
            this.OR3([
              { ALT: () => this.CONSUME(Kw.succeeds, L.probe) },
              { ALT: () => this.CONSUME(Kw.output, L.probe) },
              { ALT: () => this.CONSUME(Kw.exists, L.probe) },
            ]);
            this.CONSUME1(T.AnyString, L.arg);
            this.OPTION(
              (this.parts.probeOn ??= () => {
                this.CONSUME(Kw.on);
                this.CONSUME3(T.Identifier, L.on);
              }),
            );
          },
        },
        {
          ALT: () => {
            this.CONSUME(Kw.query, L.probe);
            this.CONSUME4(T.Identifier, L.db);
            this.CONSUME2(T.AnyString, L.arg);
          },
        },
      ]),
    );
  });

  /** string | number | duration | true | false | list */
  public literal = this.RULE("literal", () => {
    this.OR((this.literalAlts ??= this.literalAlternatives()));
  });

  /** string | number | duration | true | false | list: `literal`'s alternatives, also `value`'s. */
  private literalAlternatives(): IOrAlt<unknown>[] {
    return [
      { ALT: () => this.CONSUME(T.AnyString, L.string) },
      { ALT: () => this.CONSUME(T.NumberLiteral, L.number) },
      { ALT: () => this.CONSUME(T.Duration, L.duration) },
      { ALT: () => this.CONSUME(Kw.true, L.bool) },
      { ALT: () => this.CONSUME(Kw.false, L.bool) },
      { ALT: () => this.SUBRULE(this.list) },
    ];
  }

  /** `[a, b, c]`, a trailing comma allowed. */
  /** A host group: a list whose members may each have values of their own: `["a@w1" { role = "primary" }, "a@w2"]`. */
  public hostGroup = this.RULE("hostGroup", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.hostMember, L.item);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.hostMember, L.item);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  public hostMember = this.RULE("hostMember", () => {
    this.SUBRULE(this.literal, L.target);
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      this.MANY(() => {
        this.CONSUME(T.Identifier, L.name);
        this.CONSUME(T.Equals);
        this.SUBRULE2(this.literal, L.value);
      });
      this.CONSUME(T.RBrace);
    });
  });

  public list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.literal, L.item);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.literal, L.item);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  /** The rule of a statement the statements table names (a name with no rule is a bug: thrown when the parser is built). */
  private statementRule(name: string): (idx: number) => CstNode {
    const rule = (this as unknown as Record<string, unknown>)[name];
    if (typeof rule !== "function") throw new Error(`internal error: the statements table names a rule the parser lacks: ${name}`);
    return rule as (idx: number) => CstNode;
  }

  /** The text being parsed (set with `input`). */
  sourceText = "";

  /** The next token starts on the line where the previous one ends. */
  private sameLine(): boolean {
    const prev = this.LA(0);
    const next = this.LA(1);
    if (!valid(prev.startOffset) || !valid(next.startOffset)) return false;
    return !lineBreakBetween(this.sourceText, endOffset(prev), next.startOffset);
  }
}

let fastParser: RunbookParser | undefined;
let recoveringParser: RunbookParser | undefined;

/**
 * The parser, built on first use (grammar analysis runs once per process). It has no error
 * recovery: a valid file needs none, and leaving it out makes the parser quicker to build
 * (what `runbook check` on a good file waits for). A file with a syntax error is parsed
 * again by the recovering parser, built only then, which reports every error in one pass.
 */
export function getParser(): RunbookParser {
  return (fastParser ??= new RunbookParser({ recovery: false }));
}

function getRecoveringParser(): RunbookParser {
  return (recoveringParser ??= new RunbookParser({ recovery: true }));
}

/** The grammar (Chevrotain's serialized GAST), e.g. for tooling. */
export function getGrammar() {
  return getParser().getSerializedGastProductions();
}

// ---------------------------------------------------------------- parseSource

export interface ParseResult {
  cst?: CstNode;
  diagnostics: Diagnostic[];
  /** The tokens the parser read (for the formatter); empty when the file was read in pieces. */
  tokens: IToken[];
  /** Comment tokens, in order; empty when the file was read in pieces. */
  comments: IToken[];
}

export interface ParseOptions {
  /**
   * Called with each top-level item's CST as soon as it is parsed, before the rest of the
   * file: to-ast.ts builds sections and steps then, so their CST is short-lived.
   */
  onItem?: (item: CstNode) => void;
  /** The file's SourceText, when the caller already made one. */
  source?: SourceText;
  /** Characters per piece (see `parseInPieces`); tests make it small. */
  pieceSize?: number;
}

/**
 * Lexes and parses one file. Never throws on bad input. With `onItem`, a large file is read
 * in pieces (`parseInPieces`): the result is the same, but its tokens are not kept.
 */
/** The span of a real token (parse-errors.ts; compile.ts reads it from here). */
export { tokenSpan };

export function parseSource(file: string, text: string, options: ParseOptions = {}): ParseResult {
  const { onItem, source: src = new SourceText(file, text), pieceSize = PIECE_SIZE } = options;
  if (onItem && text.length > pieceSize) {
    const pieces = parseInPieces(text, src, onItem, pieceSize);
    if (pieces) return pieces;
  }
  const lexed = T.lex(text);
  const diagnostics: Diagnostic[] = [];
  const lexErrorLines = new Set<number>();
  let swallowedFrom = Infinity; // offset from which an unterminated `"""` ate the rest of the file
  const badStrings = new Set<IToken>();

  for (const e of lexed.errors) {
    const bad = text.slice(e.offset, e.offset + e.length);
    // One lexer error per line: the rest of a line like `host h = 'a@b'` is noise.
    const line = src.lineAt(e.offset);
    if (lexErrorLines.has(line)) continue;
    lexErrorLines.add(line);
    diagnostics.push({
      severity: "error",
      code: "syntax",
      message: messages.unexpectedCharacter(printable(bad), [...bad].length),
      span: src.span(e.offset, e.length),
      ...(bad.startsWith("'") ? { notes: [messages.singleQuoteNote()] } : {}),
    });
  }
  const tokens = lexed.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const tt = tok.tokenType;
    if (tt === T.UnterminatedString) {
      badStrings.add(tok);
      diagnostics.push({
        severity: "error",
        code: "syntax",
        message: messages.unterminatedString(),
        span: tokenSpan(src, tok),
        notes: [messages.unterminatedStringNote()],
      });
    } else if (tt === T.UnterminatedTripleString) {
      badStrings.add(tok);
      swallowedFrom = Math.min(swallowedFrom, tok.startOffset);
      diagnostics.push({
        severity: "error",
        code: "syntax",
        message: messages.unterminatedTripleString(),
        span: src.span(tok.startOffset, 3),
      });
    }
  }

  const deep = tooDeep(tokens);
  if (deep) {
    diagnostics.push({ severity: "error", code: "syntax", message: messages.nestedTooDeep(MAX_NESTING), span: tokenSpan(src, deep), notes: [messages.nestedTooDeepNote()] });
    return { cst: undefined, diagnostics, tokens: lexed.tokens, comments: lexed.groups.comments ?? [] };
  }

  let parser = getParser();
  const before = diagnostics.length;
  let cst = runParser(parser, lexed.tokens, onItem, src, diagnostics);
  if (diagnostics.length === before && (!cst || parser.errors.length > 0)) {
    // Items already handed to `onItem` belong to the abandoned tree; the caller builds the
    // rest from the recovered CST.
    parser = getRecoveringParser();
    cst = runParser(parser, lexed.tokens, undefined, src, diagnostics);
  }
  const seen = new Set<number>();
  // With every `{` closed, a stray `}` at the top level after an earlier error is that
  // error's echo (recovery closed a block early), not a mistake of its own.
  const balanced = cst && parser.errors.length > 0 && bracesBalance(lexed.tokens);
  for (const e of cst ? parser.errors : []) {
    let d: Diagnostic | undefined;
    try {
      d = explain(src, e, lexed.tokens);
    } catch {
      d = { severity: "error", code: "syntax", message: messages.unexpected(`\`${e.token?.image ?? "?"}\``), span: src.span(0, 0) };
    }
    if (!d) continue;
    const tok = e.token;
    const prev = (e as { previousToken?: IToken }).previousToken;
    // Follow-on errors of a lexer error or an unterminated string are noise.
    const at = tok && valid(tok.startOffset) ? tok.startOffset : text.length;
    if ((tok && valid(tok.startOffset) && lexErrorLines.has(src.lineAt(tok.startOffset))) || at >= swallowedFrom) continue;
    if (prev && badStrings.has(prev)) continue;
    if (balanced && tok?.tokenType === T.RBrace && atTopLevel(e) && diagnostics.some((x) => x.severity === "error")) continue;
    if (seen.has(d.span.offset)) continue;
    seen.add(d.span.offset);
    diagnostics.push(d);
  }
  if (cst && parser.errors.length > 0 && !diagnostics.some((d) => d.severity === "error")) {
    // Every parser error was filtered as noise: still never let a recovered tree pass as valid.
    const tok = parser.errors[0]!.token;
    const ok = tok && tok.tokenType !== EOF && valid(tok.startOffset);
    diagnostics.push({
      severity: "error",
      code: "syntax",
      message: messages.unexpected(ok ? describeActual(tok) : "end of file"),
      span: ok ? tokenSpan(src, tok) : src.span(text.length, 0),
    });
  }
  resetErrorInfos();
  parser.input = []; // the parser is kept for the next file: it must not keep this one's tokens alive
  return { cst, diagnostics, tokens: lexed.tokens, comments: lexed.groups.comments ?? [] };
}

/** Characters per piece of a large file: its tokens then take about half a megabyte. */
export const PIECE_SIZE = 32 * 1024;

/**
 * Lexes and parses a large, valid file a piece at a time, so that its tokens die young: a
 * whole file's tokens (about 90 bytes each, 14 a step) outlive several young-generation
 * collections and get copied into the old generation, which made lexing cost twice what
 * it does here. A piece ends after a `}` that starts a line (how a formatted file closes
 * its top-level sections, steps and env blocks) once it is at least `size` characters long.
 * A piece must lex without a problem and end with exactly that `}` token, which makes its
 * tokens those the whole file's lexer would make there; and it must parse as a run of whole
 * items, which the file's parse would read the same way (no top-level item goes on after
 * its closing brace). Anything else (an error anywhere, a `}` inside a `"""` string)
 * returns undefined, and `parseSource` reads the whole file as one, reporting as usual (the
 * items already handed to `onItem` are built again from that parse).
 */
function parseInPieces(text: string, src: SourceText, onItem: (item: CstNode) => void, size: number): ParseResult | undefined {
  const parser = getParser();
  const children = newChildren();
  let eof: IToken[] | undefined;
  for (let base = 0; base < text.length; ) {
    const cut = text.indexOf("\n}", base + size);
    const end = cut < 0 ? text.length : cut + 2;
    if (base === 0 && end === text.length) return undefined; // one piece: the usual way
    const lexed = T.lex(text.slice(base, end));
    if (lexed.errors.length > 0) return undefined;
    const tokens = lexed.tokens;
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i]!;
      const tt = tok.tokenType;
      if (tt === T.UnterminatedString || tt === T.UnterminatedTripleString) return undefined;
      tok.startOffset += base;
    }
    const last = tokens[tokens.length - 1];
    if (end < text.length && (last?.tokenType !== T.RBrace || last.startOffset !== end - 1)) return undefined;
    if (tooDeep(tokens)) return undefined;
    const problems: Diagnostic[] = [];
    const cst = runParser(parser, tokens, onItem, src, problems);
    parser.input = [];
    if (!cst || problems.length > 0 || parser.errors.length > 0) return undefined;
    for (const key in cst.children) {
      const from = cst.children[key]!;
      if (key === "EOF") {
        eof = from as IToken[];
        continue;
      }
      const into = (children[key] ??= []);
      for (let i = 0; i < from.length; i++) into.push(from[i]!);
    }
    base = end;
  }
  if (eof) children["EOF"] = eof;
  resetErrorInfos();
  return { cst: { name: "file", children }, diagnostics: [], tokens: [], comments: [] };
}

/**
 * How deep conditions and lists may nest: `(` and `[` each open a level, and so does each
 * `not` until its operand (`not not (a)` is 3 deep). The parser and everything that walks
 * conditions and values recurse once per level; past this a file is refused, at the token
 * that goes too deep, instead of running out of stack. (Chains of `and`/`or` are not nesting:
 * to-ast.ts keeps their trees shallow.)
 */
export const MAX_NESTING = 100;

/** The first token nested deeper than MAX_NESTING, if any: one pass, no recursion. */
export function tooDeep(tokens: readonly IToken[]): IToken | undefined {
  /** The `not`s before each open `(` or `[`. */
  const nots: number[] = [];
  let outer = 0; // levels of the open brackets and the `not`s before them
  let pending = 0; // `not`s since the last operand started
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const tt = tok.tokenType;
    if (tt === Kw.not) pending++;
    else if (tt === T.LParen || tt === T.LBracket) {
      outer += pending + 1;
      nots.push(pending);
      pending = 0;
    } else {
      if ((tt === T.RParen || tt === T.RBracket) && nots.length > 0) outer -= nots.pop()! + 1;
      pending = 0;
      continue;
    }
    if (outer + pending > MAX_NESTING) return tok;
  }
  return undefined;
}

function bracesBalance(tokens: IToken[]): boolean {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tt = tokens[i]!.tokenType;
    depth += tt === T.LBrace ? 1 : tt === T.RBrace ? -1 : 0;
  }
  return depth === 0;
}

/** An error raised in the `file` rule itself (between top-level items). */
function atTopLevel(e: IRecognitionException): boolean {
  const stack = e.context?.ruleStack ?? [];
  return stack.length <= 1;
}

/** Runs `parser.file()`; a stack overflow or a bug becomes a diagnostic, never an exception. */
function runParser(parser: RunbookParser, tokens: IToken[], onItem: ((item: CstNode) => void) | undefined, src: SourceText, diagnostics: Diagnostic[]): CstNode | undefined {
  resetErrorInfos();
  parser.input = tokens;
  parser.sourceText = src.text;
  parser.onItem = onItem;
  try {
    return parser.file();
  } catch (e) {
    // Syntax errors never get here (they are recorded); what is left is a stack overflow on
    // absurdly deep nesting, or a bug. Never let it escape as a stack trace.
    const deep = e instanceof RangeError;
    diagnostics.push({
      severity: "error",
      code: deep ? "syntax" : "internal",
      message: deep ? messages.nestedTooDeeply() : messages.internal(e instanceof Error ? e.message : String(e)),
      span: src.span(0, 0),
    });
    return undefined;
  } finally {
    parser.onItem = undefined;
  }
}
