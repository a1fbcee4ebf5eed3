// A ref to an entity: the thread its key picks, and its address (module, name, key) instead of an
// actor key. What it sends goes to that thread, which finds or starts the key's one activation
// there (entities.ts); so the ref stays good however often the entity leaves memory and returns.

import { registerWireClass } from '../../runtime/codec.js';
import { ActorRefImpl, type RefHost } from '../actor-ref.js';

/** An entity's address: the module and name of its definition, and its key. */
export type EntityAddress = readonly [moduleUrl: string, name: string, key: string];

export class EntityRefImpl extends ActorRefImpl {
  readonly #address: EntityAddress;

  constructor(node: RefHost, thread: number, address: EntityAddress) {
    super(node, thread, 0);
    this.#address = address;
    this.name = address[1];
  }

  override get entity(): EntityAddress {
    return this.#address;
  }

  /** `Name/key`: an entity is known by its key, which is not secret (an actor's id is). */
  override get id(): string {
    return `${this.#address[1]}/${this.#address[2]}`;
  }
}

/** What decodes an entity ref: the host of the thread reading it. */
export interface EntityRefHost {
  entityRef(address: EntityAddress): EntityRefImpl;
}

registerWireClass(
  EntityRefImpl,
  0x44, // not 0x42: msgpackr carries BigInts wider than 64 bits under that type
  (ref) => ref.entity,
  (data, context) => (context as EntityRefHost).entityRef(data as EntityAddress),
);
