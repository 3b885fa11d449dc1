// tap-flat.mjs — a node:test reporter that writes flat TAP 13 for meson's TAP parser: every test and subtest is
// one numbered line at column 0 named by its path ("parent › child"; a '#' in a name becomes '＃', meson's parser
// reads no escape), SKIP/TODO directives as TAP has them, the failure's error and stack, the test files'
// stdout/stderr and node's summary as '#' comments, and a late plan.
// Node's own tap reporter indents subtests, which meson reports as "Unknown TAP output lines".
// Who calls it: tests/browser/meson.build (node --test --test-reporter=<this file>).  What it assumes: node 20's
// reporter events (test:start before a test's subtests, test:pass/test:fail with nesting, details and skip/todo).

function comment(text) {
  const lines = String(text).replace(/\n+$/, '').split('\n');
  return lines.map((l) => '# ' + l + '\n').join('');
}

function directive(data) {
  if (data.skip !== undefined && data.skip !== false)
    return ' # SKIP' + (typeof data.skip === 'string' ? ' ' + data.skip : '');
  if (data.todo !== undefined && data.todo !== false)
    return ' # TODO' + (typeof data.todo === 'string' ? ' ' + data.todo : '');
  return '';
}

function failure(details) {
  const e = details?.error;
  if (!e) return '';
  const cause = e.cause instanceof Error ? e.cause : null;
  return comment(cause ? (cause.stack || String(cause)) : (e.cause !== undefined ? String(e.cause) : e.message));
}

export default async function* tapFlat(source) {
  const path = [];
  let n = 0;
  yield 'TAP version 13\n';
  for await (const { type, data } of source) {
    if (type === 'test:start') {
      path.length = data.nesting;
      path[data.nesting] = data.name;
    } else if (type === 'test:pass' || type === 'test:fail') {
      const name = [...path.slice(0, data.nesting), data.name].join(' › ').replace(/\s+/g, ' ').replace(/#/g, '＃');
      n += 1;
      yield (type === 'test:pass' ? 'ok ' : 'not ok ') + n + ' - ' + name + directive(data) + '\n';
      if (type === 'test:fail') yield failure(data.details);
    } else if (type === 'test:diagnostic' || type === 'test:stdout' || type === 'test:stderr') {
      yield comment(data.message);
    }
  }
  yield '1..' + n + '\n';
}
