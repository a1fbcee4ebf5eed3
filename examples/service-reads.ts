// What the demo drivers read from a running service over HTTP: its stats once it has handled
// everything it accepted, and every account the orders named.

import { Agent } from 'node:http';
import type { SystemStats } from 'troupe';
import { requestJson } from './http-json.js';
import type { AccountState } from './order-check.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The service's stats once it has handled everything it accepted (three looks in a row), or its last after 10 s. */
export async function settle(url: string): Promise<{ stats: SystemStats; settled: boolean }> {
  const agent = new Agent({ keepAlive: true });
  try {
    let inARow = 0;
    for (const until = performance.now() + 10_000; ; await sleep(50)) {
      const { body } = await requestJson<SystemStats & { settled: boolean }>(agent, `${url}/stats`, 'GET');
      inARow = body.settled ? inARow + 1 : 0;
      if (inARow === 3 || performance.now() > until) return { stats: body, settled: inARow === 3 };
    }
  } finally {
    agent.destroy();
  }
}

/** Every account the orders named, read from the service. */
export async function readAccounts(url: string, customers: string[]): Promise<AccountState[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const accounts: AccountState[] = [];
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < customers.length) {
      const { status, body } = await requestJson<AccountState>(agent, `${url}/accounts/${encodeURIComponent(customers[next++]!)}`, 'GET');
      if (status !== 200) throw new Error(`reading an account answered ${status}: ${JSON.stringify(body)}`);
      accounts.push(body);
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  agent.destroy();
  return accounts;
}
