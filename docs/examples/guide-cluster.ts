// guide-cluster.ts: one node of a cluster. Run it in two terminals against a local nats-server
// (`nats-server -js`): `node --import tsx guide-cluster.ts a` and `... guide-cluster.ts b`.
import { isMainThread } from 'node:worker_threads';
import { createSystem, NodeDownError } from 'troupe';
import { Counter } from './counter.js';

if (isMainThread) {
  const name = process.argv[2] ?? 'a';
  const system = await createSystem({
    cluster: { servers: 'nats://127.0.0.1:4222', name, definitions: [Counter] },
    handleSignals: true,
  });
  system.cluster!.on('join', (member) => console.log(`${member.name} joined`));
  system.cluster!.on('leave', (member, reason) => console.log(`${member.name} left (${reason})`));

  // Each node registers a counter of its own; the others find it by name.
  system.register(`counter-${name}`, system.spawn(Counter, { start: 0 }));

  setInterval(async () => {
    for (const member of system.cluster!.members()) {
      if (member.self) continue;
      const counter = await system.lookup<typeof Counter>(`counter-${member.name}`, { node: member.name });
      if (counter === undefined) continue;
      counter.tell('add', 1); // the same ref API as on this node
      try {
        console.log(`${member.name}'s counter: ${await counter.ask('get')}`);
      } catch (error) {
        if (error instanceof NodeDownError) console.log(`${member.name} is gone`);
        else throw error;
      }
    }
  }, 1000).unref();
}
