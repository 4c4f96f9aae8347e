#!/usr/bin/env node
/**
 * attn — run, sweep, report, compare. Each subcommand lives in src/commands/<name>.ts and exports
 * `summary` (one line for `attn --help`), `help` (its own --help text) and `main(argv) → exit code`.
 */
import { BackendError, ProblemError } from '@attn/reference';
import { closeBackends } from './backends.js';
import { UsageError } from './usage-error.js';

interface Command {
  summary: string;
  help: string;
  /** more help computed at run time (the backends' version tables) */
  helpExtra?: () => Promise<string>;
  main(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  run: () => import('./commands/run.js'),
  sweep: () => import('./commands/sweep.js'),
  report: () => import('./commands/report.js'),
  compare: () => import('./commands/compare.js'),
};

async function topHelp(): Promise<string> {
  const lines = ['attn — verify and benchmark three-stage memory-efficient attention kernels', '', 'Usage: attn <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const summary = await load().then((c) => c.summary, () => '(not available)');
    lines.push(`  ${name.padEnd(9)} ${summary}`);
  }
  lines.push('', "Run 'attn <command> --help' for a command's options.");
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await topHelp());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})`);
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help + (command.helpExtra ? await command.helpExtra() : ''));
    return 0;
  }
  return command.main(rest);
}

const isUserError = (e: unknown): e is Error =>
  e instanceof UsageError || e instanceof ProblemError || e instanceof BackendError;

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  console.error(`attn: ${e instanceof Error ? e.message : String(e)}`);
  code = isUserError(e) ? 2 : 1;
}
await closeBackends().catch(() => undefined);
process.exitCode = code;
