// counter.ts: an actor lives in a module of its own, so any worker thread can import it.
import { defineActor } from 'troupe';

export const Counter = defineActor(import.meta.url, 'Counter', {
  init: (args: { start: number }) => ({ count: args.start }),
  handlers: {
    add: (ctx, n: number) => { ctx.state.count += n; },
    get: (ctx) => ctx.state.count, // what a handler returns answers an ask
  },
});
