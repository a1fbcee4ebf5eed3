import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBooks, type AccountState } from '../../examples/order-check.js';
import type { Answer } from '../../examples/order-entities.js';
import { settled, startOrderService } from '../../examples/order-service.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-order-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CUSTOMERS = Array.from({ length: 7 }, (_, i) => `c${i}`);
/** Order i: every 40th has a quantity out of range, every 50th is poisoned. */
const order = (i: number) => ({ id: `o-${i}`, sku: i % 50 === 0 ? 'POISON' : ['sku-a', 'sku-b', 'sku-c'][i % 3]!, qty: i % 40 === 0 ? 99 : 1 + (i % 3), customer: CUSTOMERS[i % 7]! });

async function post(url: string, body: unknown): Promise<{ status: number; answer: Answer }> {
  const res = await fetch(`${url}/orders`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, answer: (await res.json()) as Answer };
}

async function accounts(url: string): Promise<AccountState[]> {
  return Promise.all(CUSTOMERS.map(async (c) => (await fetch(`${url}/accounts/${c}`)).json() as Promise<AccountState>));
}

describe('the order service example, end to end over HTTP', () => {
  it("decides each order once by its id, rejects bad and poisoned ones, outlives its Pricer's thread, and charges each placed order once, across a restart", async () => {
    const service = await startOrderService({ path: dir, threads: 2 });
    const answers = new Map<string, Answer>();
    const statuses = new Map<number, number>();
    const place = async (body: unknown): Promise<Answer> => {
      const { status, answer } = await post(service.url, body);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status !== 400) answers.set(answer.id, answer);
      return answer;
    };
    // 150 orders, 15 at a time: 40, 80 and 120 are out of range, 50, 100 and 150 poisoned.
    for (let start = 1; start <= 150; start += 15) await Promise.all(Array.from({ length: 15 }, (_, k) => place(order(start + k))));
    await place('not json');
    await place({ sku: 'sku-a', qty: 1, customer: 'c1' }); // no id
    expect(Object.fromEntries(statuses)).toEqual({ 201: 144, 422: 6, 400: 2 });
    expect(answers.get('o-50')).toMatchObject({ status: 'rejected', reason: 'pricing failed: poisoned order o-50' });
    expect(answers.get('o-40')).toMatchObject({ status: 'rejected', reason: 'quantity 99 is out of range' });

    // Sent again, each order answers the outcome it has (replay) and is not charged again.
    const again = await Promise.all(Array.from({ length: 30 }, (_, k) => post(service.url, order(k + 1))));
    for (const { answer } of again) expect(answer).toEqual({ ...answers.get(answer.id), replay: true });

    // An order that ends the Pricer's thread, among others being priced: priced again alone, it
    // ends that thread too and is rejected; the others are placed.
    const others = Array.from({ length: 20 }, (_, k) => ({ id: `k-${k}`, sku: 'sku-b', qty: 1, customer: CUSTOMERS[k % 7]! }));
    const [killer, ...rest] = await Promise.all([place({ id: 'killer', sku: 'KILL-THREAD', qty: 1, customer: 'c1' }), ...others.map(place)]);
    expect(killer).toMatchObject({ status: 'rejected', reason: "pricing failed: it ends the Pricer's thread (priced again alone, it ended that one too)", alone: true });
    expect(rest.map((a) => a.status)).toEqual(others.map(() => 'placed'));
    expect(service.system.stats().threads.reduce((n, t) => n + t.replaced, 0)).toBe(2);

    // Once the charges the Orders sent after their commits have arrived: each placed order once.
    await expect.poll(() => settled(service.system.stats()), { timeout: 5000 }).toBe(true);
    const books = checkBooks(answers, await accounts(service.url));
    expect(books).toMatchObject({ placed: 164, rejected: 7, chargedOnce: 164, ok: true });
    const before = await accounts(service.url);
    await service.stop();

    // A new system on the same path has every order and account as they were.
    const next = await startOrderService({ path: dir, threads: 2 });
    try {
      expect((await post(next.url, order(1))).answer).toEqual({ ...answers.get('o-1'), replay: true });
      expect((await post(next.url, others[0])).answer).toEqual({ ...answers.get('k-0'), replay: true });
      expect(await accounts(next.url)).toEqual(before);
    } finally {
      await next.stop();
    }
  });
});
