/**
 * The README documents every CLI command with each of its options, and every environment variable: the
 * lists are taken from the program and the configuration themselves, so a new option or variable fails here
 * until it is documented.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { envVarOf, settingNames } from '../src/config/config.js';

const readme = readFileSync('README.md', 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

/** Every command that runs something (not a group such as `models`), with its path: ['models', 'pull']. */
function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (!subs.length) return [{ path, cmd }];
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('README', () => {
  it('documents every CLI command and each of its options', () => {
    const cli = section('CLI');
    const migrate = section('Migrating from the Python Doctor');
    const missing: string[] = [];
    for (const { path, cmd } of leaves(buildProgram())) {
      const name = `doctor ${path.join(' ')}`;
      // the command's row(s) in the CLI table (or, for migrate qdrant, its own flag table)
      const rows = cli.split('\n').filter((l) => l.startsWith('|') && (l.includes(`\`${name} `) || l.includes(`\`${name}\``)));
      if (!rows.length) {
        missing.push(name);
        continue;
      }
      const text = rows.join('\n') + (path[0] === 'migrate' ? migrate : '');
      for (const o of cmd.options) {
        const flag = o.long!;
        if (!new RegExp(`${flag}(?![\\w-])`).test(text)) missing.push(`${name} ${flag}`);
      }
    }
    for (const o of buildProgram().options) {
      if (o.long !== '--version' && !cli.includes(`\`${o.long}`)) missing.push(`global ${o.long}`);
    }
    assert.deepEqual(missing, []);
  });

  it('documents every environment variable, and the token\'s minimum length', () => {
    const config = section('Configuration');
    assert.deepEqual(settingNames.map(envVarOf).filter((v) => !config.includes(`\`${v}\``)), []);
    assert.match(config, /`DOCTOR_API_TOKEN` \| unset \| when set \(at least 8 characters/);
  });
});
