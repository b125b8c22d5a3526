// What the e2e scripts share: a bounded wait on a promise, and the real graceway binary started on
// a free port whose log lines can be awaited (the scripts wait for lines instead of sleeping).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const STEP_MS = 20000;

// Rejects with "timed out: <what>" when `promise` takes longer than one step.
export function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), STEP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Starts `binary` on `port` (0: a free one) with debug logs and a 10 s drain window, then `extra`
// flags. Returns { child, lines, exited, waitForLine(needle) }; waitForLine fails at once if
// graceway exits first.
export function startGraceway(binary, extra = [], { port = 0 } = {}) {
  const child = spawn(binary, ['--port', String(port), '--log-level', 'debug', '--drain-timeout', '10s', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (line.includes(w.needle)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitForLine = (needle) => {
    const seen = lines.find((l) => l.includes(needle));
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve, reject) => {
      waiters.push({ needle, resolve });
      exited.then(({ code, signal }) => reject(new Error(`graceway exited (${code ?? signal}) before "${needle}"`)));
    }), `log line "${needle}"`);
  };
  return { child, lines, exited, waitForLine };
}

// After SIGTERM: graceway exits 0 on its own (no signal) and logged no error-level line.
export async function expectCleanExit(server) {
  const { code, signal } = await withTimeout(server.exited, 'graceway exit');
  assert.equal(signal, null);
  assert.equal(code, 0, 'graceway exits 0 after a clean drain');
  const errorLines = server.lines.filter((l) => / error /.test(l));
  assert.deepEqual(errorLines, [], 'graceway logged no error-level line');
  return code;
}

// A failed script: the error, graceway's whole log, graceway killed, exit 1.
export function failWith(server, e) {
  console.error('FAILED:', e?.stack ?? e);
  console.error('--- graceway log ---\n' + server.lines.join('\n'));
  server.child.kill('SIGKILL');
  process.exit(1);
}
