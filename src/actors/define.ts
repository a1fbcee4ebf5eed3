// defineActor: an actor as plain data. The pair (moduleUrl, name) is how any thread finds the
// definition again: it imports the module, whose defineActor call registers it. No source
// strings, no eval. The registry lives on globalThis so that two copies of this module in one
// thread (a built runtime and a TypeScript actor module) still share it.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { invalid, validateFunction, validateObject, validateString } from '../validate.js';
import { resolveSupervision, type SupervisionPolicy } from './supervision/supervisor.js';
import type { ActorDefinition, ActorSpec, AnyDefinition, Handlers } from './types.js';

const REGISTRY_KEY = Symbol.for('troupe.definitions');
type Registry = Map<string, AnyDefinition>;
const registry: Registry = ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] as Registry | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] = new Map());

const DEFINITION = Symbol.for('troupe.definition');
const HANDLERS = Symbol.for('troupe.handlers');
const SUPERVISION = Symbol.for('troupe.supervision');

type HandlerTable = Record<string, ((ctx: never, payload: unknown) => unknown) | undefined>;

function moduleFileExists(url: string): boolean {
  try {
    return existsSync(fileURLToPath(url));
  } catch {
    return false; // not a valid file URL
  }
}

/** The last definition lookupDefinition found: a burst of spawns of one kind looks it up once. */
let lastFound: AnyDefinition | undefined;

export function definitionKey(moduleUrl: string, name: string): string {
  return `${moduleUrl}#${name}`;
}

export function defineActor<Args, State, H extends Handlers<State>>(
  moduleUrl: string,
  name: string,
  spec: ActorSpec<Args, State, H>,
): ActorDefinition<Args, State, H> {
  return defineKind(moduleUrl, name, spec, {});
}

/**
 * defineActor with fields of another kind of actor on the definition (an entity's), so that a
 * thread that imports the module finds that kind too. `spec` is what the cell runs.
 */
export function defineKind<Args, State, H extends Handlers<State>>(
  moduleUrl: string,
  name: string,
  spec: ActorSpec<Args, State, H>,
  kind: Record<symbol, unknown>,
): ActorDefinition<Args, State, H> {
  validateString(moduleUrl, 'defineActor(moduleUrl)');
  if (!/^(file|data|https?):/.test(moduleUrl)) throw invalid('defineActor(moduleUrl)', 'a module URL (import.meta.url)', moduleUrl);
  // A worker finds the definition by importing this URL: one that names no file would work for
  // an actor on this thread and fail on any other. Refused here, wherever the actor would go.
  if (moduleUrl.startsWith('file:') && !moduleFileExists(moduleUrl)) {
    throw invalid('defineActor(moduleUrl)', "the URL of an existing module file (pass the defining module's import.meta.url)", moduleUrl);
  }
  validateString(name, 'defineActor(name)');
  validateObject(spec, 'defineActor(spec)');
  if (spec.init !== undefined) validateFunction(spec.init, 'defineActor(spec).init');
  validateObject(spec.handlers, 'defineActor(spec).handlers');
  for (const [type, handler] of Object.entries(spec.handlers)) validateFunction(handler, `defineActor(spec).handlers.${type}`);
  for (const hook of ['onStart', 'onStop', 'onRestart', 'onTerminated', 'receive'] as const) {
    if (spec[hook] !== undefined) validateFunction(spec[hook], `defineActor(spec).${hook}`);
  }
  // A prototype-free copy: a message type such as 'constructor' or '__proto__' finds no handler.
  // Made by spreading then dropping the prototype, which keeps V8's fast properties (a lookup
  // costs ~2 ns); Object.create(null) would make a dictionary (~9 ns per message).
  const table = Object.setPrototypeOf({ ...spec.handlers }, null) as HandlerTable;
  const supervision = resolveSupervision(spec.supervision, 'defineActor(spec).supervision');
  const definition = Object.freeze({ ...kind, moduleUrl, name, spec, [DEFINITION]: true, [HANDLERS]: table, [SUPERVISION]: supervision }) as ActorDefinition<
    Args,
    State,
    H
  >;
  registry.set(definitionKey(moduleUrl, name), definition);
  lastFound = undefined;
  return definition;
}

/** The modules of every definition known on this thread (what a spare thread imports ahead). */
export function definedModules(): string[] {
  return [...new Set([...registry.values()].map((d) => d.moduleUrl))];
}

export function isDefinition(value: unknown): value is AnyDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINITION] === true;
}

export function lookupDefinition(moduleUrl: string, name: string): AnyDefinition | undefined {
  const last = lastFound;
  if (last !== undefined && last.name === name && last.moduleUrl === moduleUrl) return last;
  const found = registry.get(definitionKey(moduleUrl, name));
  if (found !== undefined) lastFound = found;
  return found;
}

/**
 * The definition another node may start here by its name alone (a portable name: a file URL
 * differs between machines): one that this process's own code defined, from a module file (not a
 * `data:` URL), and the only one of that name. null otherwise: nothing from the wire picks code.
 */
export function portableDefinition(name: string): AnyDefinition | null {
  let found: AnyDefinition | null = null;
  for (const definition of registry.values()) {
    if (definition.name !== name) continue;
    if (found !== null) return null; // two of that name: which is meant cannot be told
    found = definition;
  }
  return found !== null && found.moduleUrl.startsWith('file:') ? found : null;
}

/** Every definition another node may name here (portableDefinition): one per name. */
export function portableDefinitions(): AnyDefinition[] {
  const names = new Set<string>();
  for (const definition of registry.values()) names.add(definition.name);
  const out: AnyDefinition[] = [];
  for (const name of names) {
    const found = portableDefinition(name);
    if (found !== null) out.push(found);
  }
  return out;
}

/** The definition's own supervision policy (validated at defineActor), or null. */
export function definitionSupervision(definition: AnyDefinition): SupervisionPolicy | null {
  return (definition as unknown as Record<symbol, SupervisionPolicy | null>)[SUPERVISION] ?? null;
}

export function handlerTable(definition: AnyDefinition): HandlerTable {
  return (definition as unknown as Record<symbol, HandlerTable>)[HANDLERS]!;
}

/** Calls a message's handler, or else the definition's receive (the caller checked one exists). */
export function callHandler(ctx: unknown, type: string, payload: unknown, handler: HandlerTable[string], receive: AnyDefinition['spec']['receive']): unknown {
  return handler !== undefined ? handler(ctx as never, payload) : receive!(ctx as never, type, payload);
}
