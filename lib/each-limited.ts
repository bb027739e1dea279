/**
 * Runs `task` for every item, at most `limit` at a time; resolves when all are done, rejects with the first
 * failure once the tasks already started have settled. For fan-outs whose order does not matter (presence to
 * N contacts): N round trips side by side instead of one after another.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
