import { describe, expect, it } from 'vitest';
import { startOrderService } from '../../examples/order-service.js';

describe('the order service example, end to end over HTTP', () => {
  it('answers every request, poisoned ones included, survives a worker thread dying, and its counts add up', async () => {
    const service = await startOrderService({ threads: 2, port: 0 });
    // First, an order that ends its worker thread: it alone fails (503); the pool replaces the
    // thread and the checkouts there restart behind the same refs.
    const kill = await fetch(`${service.url}/orders`, { method: 'POST', body: JSON.stringify({ sku: 'KILL-THREAD', qty: 1, customer: 'k' }) });
    expect(kill.status).toBe(503);
    expect(((await kill.json()) as { code: string }).code).toBe('ERR_ACTOR_FAILED');
    const statuses = new Map<number, number>();
    const poisonedIds: number[] = [];
    const post = async (i: number): Promise<void> => {
      let body: string;
      if (i % 75 === 0) body = 'not json';
      else {
        const sku = i % 50 === 0 ? 'POISON' : ['sku-a', 'sku-b', 'sku-c'][i % 3]!;
        const qty = i % 40 === 0 ? 99 : 1 + (i % 3); // 99 is out of range: rejected before pricing
        if (sku === 'POISON' && qty !== 99) poisonedIds.push(i);
        body = JSON.stringify({ sku, qty, customer: `c${i % 7}` });
      }
      const res = await fetch(`${service.url}/orders`, { method: 'POST', body });
      await res.json();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    };
    // 300 requests, 20 at a time.
    for (let start = 0; start < 300; start += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => post(start + k + 1)));
    }
    const stats = (await (await fetch(`${service.url}/stats`)).json()) as { counts: typeof service.counts };
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^troupe_messages_handled_total\{thread="1"\} [1-9]\d*$/m);
    const { report, ledger, restarts } = await service.stop();

    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBe(300);
    expect(statuses.get(503) ?? 0).toBe(0);
    expect(service.counts.threadKills).toBe(1);
    expect(service.system.stats().threads.map((t) => t.replaced).reduce((a, b) => a + b)).toBe(1);
    expect(statuses.get(400)).toBe(4); // i = 75, 150, 225, 300
    expect(service.counts.placed).toBe(statuses.get(201));
    expect(service.counts.rejected).toBe(statuses.get(422)); // bad quantities and poisoned orders
    expect(ledger.charges).toBe(service.counts.placed);
    expect(poisonedIds.length).toBeGreaterThan(0);
    expect(restarts).toBe(poisonedIds.length); // one Pricer restart per poisoned order that got priced
    expect(stats.counts.placed).toBeLessThanOrEqual(service.counts.placed);
    expect(service.system.stats().accepted).toBe(report.processed + report.deadLettered);
    // What the dead thread was running (the killing order's messages) is dead-lettered, by count.
    expect(report.deadLettered).toBeGreaterThan(0);
  });
});
