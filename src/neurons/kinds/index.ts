/**
 * The registry of layer kinds: one line per kind. Everything that depends on a layer's kind
 * looks it up here; the types of layer options, resolved layers and model nodes are derived
 * from it, so a kind added here is a kind everywhere (and an exhaustive `switch` elsewhere
 * fails to compile until it handles it).
 */
import { CONV_KIND } from './conv.js';
import type { LayerKind, ResolvedLayerBase } from './kind.js';
import { POOL_KIND } from './pool.js';

export const LAYER_KINDS = {
  conv: CONV_KIND,
  pool: POOL_KIND,
} as const;

type Kinds = typeof LAYER_KINDS;
export type LayerKindName = keyof Kinds;
type Parts<K extends LayerKindName> = Kinds[K] extends LayerKind<infer O, infer R, infer N, infer _S> ? { options: O; resolved: R; node: N } : never;
/** The options of any layer kind (a discriminated union on `kind`). */
export type LayerOptions = { [K in LayerKindName]: Parts<K>['options'] }[LayerKindName];
/** A resolved layer of any kind after the input. */
export type ResolvedHiddenLayer = { [K in LayerKindName]: Parts<K>['resolved'] }[LayerKindName];
/** A model-description node of any kind. */
export type LayerNode = { [K in LayerKindName]: Parts<K>['node'] }[LayerKindName];

/** The kind entry of a layer, typed loosely for generic code (the resolved layer knows its kind). */
export function kindOf(layer: { kind: string }): LayerKind<{ kind: string }, ResolvedLayerBase, { kind: string }> {
  const kind = (LAYER_KINDS as Record<string, unknown>)[layer.kind];
  if (kind === undefined) throw new RangeError(`unknown layer kind ${JSON.stringify(layer.kind)}`);
  return kind as LayerKind<{ kind: string }, ResolvedLayerBase, { kind: string }>;
}

/** The kind entry whose model nodes have kind `node`, if any. */
export function kindOfNode(node: string): LayerKind<{ kind: string }, ResolvedLayerBase, { kind: string }> | undefined {
  return Object.values(LAYER_KINDS).find((k) => k.node === node) as LayerKind<{ kind: string }, ResolvedLayerBase, { kind: string }> | undefined;
}
