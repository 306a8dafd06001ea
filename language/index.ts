// The public API of the language front end: compile a runbook (parse, includes, check)
// and render its diagnostics. The CLI and the runtime import from here.

export { compile, compileSource, type CompileOptions, type CompileResult } from "./compile.js";
export { parseSource, type ParseResult } from "./parser.js";
export {
  renderDiagnostics,
  hasErrors,
  sortDiagnostics,
  summarize,
  type Diagnostic,
  type DiagnosticFormat,
  type RenderOptions,
  type Severity,
} from "./diagnostics.js";
export type { Span } from "./span.js";
export * from "./ast.js";
