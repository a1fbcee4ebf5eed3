// Waits for a condition that another thread makes true, polling on the event loop (not a sleep
// with a guessed duration): resolves as soon as it holds, fails loudly after `timeoutMs`.

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
