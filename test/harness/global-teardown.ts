import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__runbookTestStack as { dir: string; stops: (() => Promise<void>)[] } | undefined;
  if (!stack) return;
  await Promise.all(stack.stops.map((stop) => stop().catch((err) => console.error('teardown:', err))));
  rmSync(stack.dir, { recursive: true, force: true });
}
