// `runbook completion bash|zsh|fish`: a script that completes commands, flags, env
// names, step ids and run ids. Each script only asks `runbook __complete CWORD
// WORDS...` (completeWords below), which reads the commands and flags from the CLI's
// own definitions, envs and steps from the runbook named on the line, and run ids
// from the journal; when it has nothing to offer, the shell completes file names.

import { existsSync } from "node:fs";
import * as path from "node:path";
import type { Command, Option } from "commander";
import { allSteps } from "../../language/ast.js";
import { compile } from "../../language/compile.js";
import { runnableEnvs } from "../../language/scope.js";
import { Exit, type CliIO } from "../io.js";

export type Shell = "bash" | "zsh" | "fish";

const scripts: { [S in Shell]: string } = {
  bash: `# runbook completion for bash: eval "$(runbook completion bash)"
_runbook_complete() {
  local IFS=$'\\n'
  COMPREPLY=($(runbook __complete "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null))
}
complete -o default -o bashdefault -F _runbook_complete runbook
`,
  zsh: `#compdef runbook
# runbook completion for zsh: eval "$(runbook completion zsh)" (after compinit)
_runbook_complete() {
  local -a candidates
  candidates=("\${(@f)$(runbook __complete $((CURRENT - 1)) "\${words[@]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then
    compadd -Q -- "\${candidates[@]}"
  else
    _files
  fi
}
compdef _runbook_complete runbook
`,
  fish: `# runbook completion for fish: runbook completion fish | source
function __runbook_complete
  set -l words (commandline -opc)
  set -l cur (commandline -ct)
  set -l candidates (runbook __complete (count $words) $words "$cur" 2>/dev/null)
  if test (count $candidates) -gt 0
    printf '%s\\n' $candidates
  else
    __fish_complete_path "$cur"
  end
end
complete -c runbook -f -a '(__runbook_complete)'
`,
};

export function completionCommand(shell: Shell, io: CliIO): number {
  io.stdout.write(scripts[shell]);
  return Exit.ok;
}

const STEP_FLAGS = new Set(["--from", "--only", "--approve"]);
const RUN_ID_COMMANDS = new Set(["resume", "show"]);

/** `runbook __complete CWORD WORD0 WORD1 ...`: the candidates for word CWORD, one a line. */
export async function completeWords(program: Command, args: string[], io: CliIO): Promise<number> {
  const cword = Number.parseInt(args[0] ?? "", 10);
  const words = args.slice(1);
  if (!Number.isInteger(cword) || cword < 1) return Exit.ok;
  const cur = words[cword] ?? "";
  const out = (candidates: Iterable<string>) => {
    const fit = [...new Set(candidates)].filter((c) => c.startsWith(cur));
    if (fit.length > 0) io.stdout.write(`${fit.join("\n")}\n`);
    return Exit.ok;
  };
  const help = program.createHelp();
  const commands = help.visibleCommands(program).filter((c) => c.name() !== "help");
  if (cword === 1) return out(commands.map((c) => c.name()));
  const cmd = commands.find((c) => c.name() === words[1]);
  if (!cmd) return Exit.ok;
  const options = help.visibleOptions(cmd);
  const optionOf = (word: string | undefined): Option | undefined => options.find((o) => o.long === word || o.short === word);
  const takesValue = (o: Option | undefined) => o !== undefined && (o.required || o.optional);

  // The positional words before the cursor, and the flags given with their values.
  const positional: string[] = [];
  const given = new Map<string, string>();
  for (let i = 2; i < cword; i++) {
    const w = words[i]!;
    const o = optionOf(w);
    if (o && takesValue(o)) {
      given.set(o.long ?? w, words[i + 1] ?? "");
      i++;
    } else if (!w.startsWith("-")) positional.push(w);
  }
  const prevOption = optionOf(words[cword - 1]);
  if (takesValue(prevOption)) {
    const long = prevOption!.long ?? "";
    if (prevOption!.argChoices) return out(prevOption!.argChoices);
    const file = positional[0];
    if (long === "--env") return out([...envsOf(file, io), ...(cmd.name() === "plan" ? ["all"] : [])]);
    if (STEP_FLAGS.has(long)) return out([...stepsOf(file, io), ...(long === "--approve" ? ["env"] : [])]);
    return Exit.ok;
  }
  if (cur.startsWith("-")) return out(options.flatMap((o) => (o.long ? [o.long] : [])));
  if (RUN_ID_COMMANDS.has(cmd.name()) && positional.length === 0) return out(await runIds(given.get("--state"), io));
  return Exit.ok;
}

function runbookOf(file: string | undefined, io: CliIO) {
  if (file === undefined) return undefined;
  const full = path.resolve(io.cwd, file);
  if (!existsSync(full)) return undefined;
  return compile(full, undefined, { check: false }).runbook;
}

function envsOf(file: string | undefined, io: CliIO): string[] {
  const rb = runbookOf(file, io);
  return rb ? runnableEnvs(rb) : [];
}

function stepsOf(file: string | undefined, io: CliIO): string[] {
  const rb = runbookOf(file, io);
  return rb ? allSteps(rb).map((s) => s.id) : [];
}

/** The newest runs' ids; nothing when the journal does not exist yet (completing creates nothing). */
async function runIds(state: string | undefined, io: CliIO): Promise<string[]> {
  const { stateLocation } = await import("../journal-access.js");
  const { openJournal } = await import("../../runtime/journal/index.js");
  try {
    const location = stateLocation(state, io);
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) && !existsSync(location)) return [];
    const journal = await openJournal(location, { env: io.env, onWarning: () => {} });
    try {
      return (await journal.listRuns({ limit: 50 })).map((r) => r.id);
    } finally {
      await journal.close();
    }
  } catch {
    return [];
  }
}
