// The `runbook` command line: wires commander to one module per command under
// cli/commands/ and returns an exit code (CLI.md). Command modules are imported
// only when their command runs, so `runbook check` never loads ink, ssh2 or mysql2.

import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { durationMs } from "../language/strings.js";
import { maskUrlPasswords } from "../language/url-password.js";
import { Exit, processIO, UsageError, type CliIO } from "./io.js";
import { packageVersion, versionText } from "./version.js";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A positive whole number (`--limit`): anything else is a usage error naming what was given. */
function positiveInt(value: string): number {
  if (!/^\s*\d+\s*$/.test(value) || Number.parseInt(value, 10) <= 0) throw new InvalidArgumentError("expected a positive whole number.");
  return Number.parseInt(value, 10);
}

/** `--connect-timeout`: a duration like the language's (`10s`, `500ms`, `1m`), more than zero. */
function connectTimeout(value: string): number {
  const ms = durationMs(value.trim());
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError("expected a duration such as 10s or 500ms.");
  return ms;
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  let exitCode: number = Exit.ok;
  const program = new Command("runbook");
  program
    .description("Run release and maintenance procedures written as runbooks, right every time.")
    // As commander's .version(), but package.json is read only when the version is asked for.
    .option("-V, --version", "output the version number")
    .on("option:version", () => {
      const text = versionText(packageVersion());
      io.stdout.write(`${text}\n`);
      throw new CommanderError(0, "commander.version", text);
    })
    .exitOverride()
    .showHelpAfterError("(run `runbook --help` for usage)")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(maskUrlPasswords(s)),
    });

  const stateOption = () => new Option("--state <url>", "journal location: a SQLite path or mysql://… (default $RUNBOOK_STATE or ~/.local/state/runbook/journal.db)");

  // Only the command being run is defined (commander builds every option of every
  // command otherwise, which `runbook check` would wait for); all of them for help,
  // `--version` and unknown commands.
  const commands: Record<string, () => unknown> = {
    check: () =>
      program
        .command("check")
        .description("parse and check runbooks; no side effects")
        .argument("<file...>", "runbook files")
        .option("--env <name>", "also plan each file for this env")
        .addOption(new Option("--format <format>", "diagnostics format").choices(["text", "json", "github"]).default("text"))
        .option("--strict", "treat warnings as errors (exit 1)")
        .action(async (files: string[], opts) => {
          const { checkCommand } = await import("./commands/check.js");
          exitCode = await checkCommand(files, opts, io);
        }),
    fmt: () =>
      program
        .command("fmt")
        .description("rewrite runbooks in canonical form")
        .argument("<file...>", "runbook files")
        .option("--check", "change nothing; exit 1 and list the files that are not formatted")
        .action(async (files: string[], opts) => {
          const { fmtCommand } = await import("./commands/fmt.js");
          exitCode = await fmtCommand(files, opts, io);
        }),
    plan: () =>
      program
        .command("plan")
        .description("what a run would do, from the source alone: no host, database or secret is touched")
        .argument("<file>", "runbook file")
        .option("--env <name>", "environment, or `all` for every env")
        .option("--set <name=value>", "set a param (repeatable)", collect, [])
        .addOption(new Option("--format <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
        .action(async (file: string, opts) => {
          const { planCommand } = await import("./commands/plan.js");
          exitCode = await planCommand(file, opts, io);
        }),
    run: () =>
      program
        .command("run")
        .description("run a runbook (interactive step-through on a terminal)")
        .argument("<file>", "runbook file")
        .option("--env <name>", "environment (default: `default env`, or the only env)")
        .option("--dry-run", "walk the runbook, change nothing")
        .option("--no-probe", "with --dry-run: show read-only guards unevaluated")
        .option("--set <name=value>", "set a param (repeatable)", collect, [])
        .option("--yes", "answer confirmations and manual steps (not in a protected env)")
        .option("--approve <step>", "answer the confirmations of STEP in a protected env; `env` answers the env's own (repeatable)", collect, [])
        .option("--from <step>", "start at this step")
        .option("--only <step>", "run only this step (repeatable)", collect, [])
        .addOption(new Option("--on-failure <mode>", "without a terminal: what to do when a step fails").choices(["stop", "rollback"]).default("stop"))
        .option("--json", "print one JSON object per event (NDJSON)")
        .option("--no-tui", "plain log instead of the interactive UI")
        .option("--accept-new-host-keys", "record unknown SSH host keys (changed keys are always refused)")
        .option("--connect-timeout <duration>", "how long reaching each host or database may take (default 10s)", connectTimeout)
        .option("--require-commit <sha>", "refuse unless the runbook and its includes are exactly those of this git commit (the reviewed one)")
        .option("--allow-dirty", "run in a protected env even though the runbook has uncommitted changes")
        .option("--key <file>", "an env with approvals: the SSH key of who runs the release (default: ssh-agent's first key)")
        .addOption(stateOption())
        .action(async (file: string, opts) => {
          const { runCommand } = await import("./commands/run.js");
          exitCode = await runCommand(file, opts, io);
        }),
    resume: () =>
      program
        .command("resume")
        .description("continue a stopped run from its journal")
        .argument("<run-id>", "run id (or a unique prefix)")
        .option("--yes", "rerun an interrupted step and answer confirmations (not in a protected env)")
        .option("--approve <step>", "answer the confirmations of STEP in a protected env (repeatable)", collect, [])
        .option("--force", "resume even though the runbook changed since the run started")
        .addOption(
          new Option("--still-running <choice>", "a command of the earlier attempt still runs: follow its output until it ends, wait for it, end it, or go on without rerunning its step").choices([
            "follow",
            "wait",
            "end",
            "go-on",
          ]),
        )
        .addOption(new Option("--on-failure <mode>", "what to do when a step fails").choices(["stop", "rollback"]).default("stop"))
        .option("--json", "print one JSON object per event (NDJSON)")
        .option("--no-tui", "plain log instead of the interactive UI")
        .option("--accept-new-host-keys", "record unknown SSH host keys")
        .option("--connect-timeout <duration>", "how long reaching each host or database may take (default 10s)", connectTimeout)
        .option("--key <file>", "an env with approvals: the SSH key of who runs the release (default: ssh-agent's first key)")
        .option("--approval <file>", "a signed approval written by `runbook approve --out` (repeatable)", collect, [])
        .addOption(stateOption())
        .action(async (runId: string, opts) => {
          const { resumeCommand } = await import("./commands/resume.js");
          exitCode = await resumeCommand(runId, opts, io);
        }),
    history: () =>
      program
        .command("history")
        .description("past runs, newest first")
        .argument("[file]", "only runs of this runbook")
        .option("--env <name>", "only runs in this env")
        .option("--limit <n>", "at most this many runs", positiveInt)
        .option("--json", "JSON output")
        .addOption(stateOption())
        .action(async (file: string | undefined, opts) => {
          const { historyCommand } = await import("./commands/history.js");
          exitCode = await historyCommand(file, opts, io);
        }),
    show: () =>
      program
        .command("show")
        .description("one run: its steps, output, confirmations")
        .argument("<run-id>", "run id (or a unique prefix)")
        .option("--json", "JSON output")
        .option("--approval-request", "a run waiting for approval: print what `runbook approve --request` needs, as JSON")
        .addOption(stateOption())
        .action(async (runId: string, opts) => {
          const { showCommand } = await import("./commands/show.js");
          exitCode = await showCommand(runId, opts, io);
        }),
    approve: () =>
      program
        .command("approve")
        .description("sign off a run waiting for approval (ssh-keygen -Y sign)")
        .argument("[run-id]", "run id (or a unique prefix); not needed with --request")
        .option("--request <file>", "the request from `runbook show RUN_ID --approval-request` (no journal needed; with --out)")
        .option("--key <file>", "your SSH private key (default: ssh-agent's first key)")
        .option("--as <principal>", "who you are in allowed_signers (default: your key's one member of the group)")
        .option("--out <file>", "write the signed approval to this file (for `resume --approval`) instead of the journal")
        .option("--yes", "sign without asking")
        .addOption(stateOption())
        .action(async (runId: string | undefined, opts) => {
          const { approveCommand } = await import("./commands/approve.js");
          exitCode = await approveCommand(runId, opts, io);
        }),
    diff: () =>
      program
        .command("diff")
        .description("what changed between two versions of a runbook (files or GIT_REV:PATH)")
        .argument("<old>", "old version")
        .argument("<new>", "new version")
        .addOption(new Option("--format <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
        .option("--accept-risk", "exit 0 even when the change has risks (they are still listed)")
        .action(async (oldRef: string, newRef: string, opts) => {
          const { diffCommand } = await import("./commands/diff.js");
          exitCode = await diffCommand(oldRef, newRef, opts, io);
        }),
    review: () =>
      program
        .command("review")
        .description("a pull request's runbook changes in one markdown comment: risks, steps per env, check")
        .argument("[args...]", "[BASE] [HEAD] [PATH...]: the base branch or revision, the review starts at its merge base with HEAD (default origin/HEAD, else main, else master); the head revision (default HEAD); paths that limit the review to the runbooks under them (after -- when they could be taken for revisions)")
        .option("--base <rev>", "the base branch or revision (the same as BASE)")
        .addOption(new Option("--format <format>", "output format (github: annotations, and the markdown added to $GITHUB_STEP_SUMMARY)").choices(["markdown", "json", "github"]).default("markdown"))
        .option("--accept-risk", "exit 0 even when a change has risks (they are still listed)")
        .addOption(new Option("--fail-on <what>", "what fails the review: risk (exit 5, the default) or only errors (as --accept-risk)").choices(["risk", "errors"]).default("risk"))
        .option("--max-chars <n>", "leave out runbook sections past this many characters of markdown (default 60000)", positiveInt)
        .action(async (args: string[], opts) => {
          const { reviewCommand } = await import("./commands/review.js");
          // Where `--` stood among the arguments: what follows it is paths.
          const dash = argv.indexOf("--");
          const dashIndex = dash < 0 ? -1 : args.length - (argv.length - dash - 1);
          exitCode = await reviewCommand(args, dashIndex, opts, io);
        }),
    unlock: () =>
      program
        .command("unlock")
        .description("clear the lock of a run whose holder is gone")
        .argument("<file>", "runbook file")
        .requiredOption("--env <name>", "environment")
        .option("--force", "clear it even when the holder may be alive (another machine)")
        .addOption(stateOption())
        .action(async (file: string, opts) => {
          const { unlockCommand } = await import("./commands/unlock.js");
          exitCode = await unlockCommand(file, opts, io);
        }),
    lsp: () =>
      program
        .command("lsp")
        .description("a language server for editors (LSP over stdio)")
        .option("--stdio", "talk over stdin and stdout (the only way; accepted for editors that pass it)")
        .action(async () => {
          const { runLsp } = await import("./commands/lsp.js");
          exitCode = await runLsp(io);
        }),
    completion: () =>
      program
        .command("completion")
        .description("print a shell completion script")
        .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"]))
        .action(async (shell: "bash" | "zsh" | "fish") => {
          const { completionCommand } = await import("./commands/completion.js");
          exitCode = completionCommand(shell, io);
        }),
  };
  // The shell completion scripts ask this hidden entry what fits the word being typed.
  if (argv[0] === "__complete") {
    for (const define of Object.values(commands)) define();
    const { completeWords } = await import("./commands/completion.js");
    return completeWords(program, argv.slice(1), io);
  }
  const only = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? argv[0] : undefined;
  for (const [name, define] of Object.entries(commands)) if (only === undefined || name === only) define();

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, `help`, --version: 0. No command at all (the help goes to stderr), a bad flag or argument: a usage error.
      return err.exitCode === 0 ? Exit.ok : Exit.usage;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`runbook: ${maskUrlPasswords(err.message)}\n`);
      return Exit.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`runbook: internal error: ${maskUrlPasswords(message)}\n`);
    if (io.env.RUNBOOK_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${maskUrlPasswords(err.stack)}\n`);
    return Exit.failed;
  }
}
