/**
 * The GraphDef JSON of a TF.js GraphModel (model.json's `modelTopology`): node and attribute shapes as
 * tfjs-converter writes them, and readers that accept both of its string encodings (base64, or the byte
 * arrays of older converters).
 */

/** One attribute value, as in TensorFlow's AttrValue JSON. Integers may be strings (int64). */
export interface AttrValue {
  s?: string | number[];
  i?: number | string;
  f?: number;
  b?: boolean;
  type?: string | number;
  list?: {s?: Array<string | number[]>, i?: Array<number | string>, f?: number[], b?: boolean[]};
  [key: string]: unknown;
}

/** One node of the graph. */
export interface NodeDef {
  name: string;
  op: string;
  /** `name`, `name:index` (output `index` of node `name`), or `^name` (a control dependency). */
  input?: string[];
  device?: string;
  attr?: Record<string, AttrValue>;
}

/** A GraphModel's modelTopology. */
export interface GraphDef {
  node: NodeDef[];
  library?: unknown;
  versions?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Checks that `topology` is a GraphDef (a list of named nodes with ops); throws naming what is wrong. */
export function asGraphDef(topology: unknown, what: string): GraphDef {
  if (!isRecord(topology) || !Array.isArray(topology['node'])) {
    throw new Error(`${what}: the model topology has no node list, so it is not a GraphModel`);
  }
  const names = new Set<string>();
  for (const [i, n] of (topology['node'] as unknown[]).entries()) {
    if (!isRecord(n) || typeof n['name'] !== 'string' || typeof n['op'] !== 'string') {
      throw new Error(`${what}: node ${i} of the model topology has no name or op`);
    }
    if (n['input'] != null && !(Array.isArray(n['input']) && n['input'].every((x) => typeof x === 'string'))) {
      throw new Error(`${what}: node '${n['name']}' has a malformed input list`);
    }
    if (names.has(n['name'])) throw new Error(`${what}: two nodes are named '${n['name']}'`);
    names.add(n['name']);
  }
  return topology as unknown as GraphDef;
}

/** The node an input refers to: `name` of `name`, `name:1` or `^name`. */
export function inputNode(input: string): string {
  const name = input.startsWith('^') ? input.slice(1) : input;
  const colon = name.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(name.slice(colon + 1)) ? name.slice(0, colon) : name;
}

/** Whether the input is a control dependency (`^name`). */
export function isControlInput(input: string): boolean {
  return input.startsWith('^');
}

/** Data inputs (control dependencies excluded). */
export function dataInputs(node: NodeDef): string[] {
  return (node.input ?? []).filter((i) => !isControlInput(i));
}

function decodeString(s: string | number[]): string {
  return Array.isArray(s) ? String.fromCharCode(...s) : atob(s);
}

export function attrBool(node: NodeDef, name: string, def: boolean): boolean {
  const v = node.attr?.[name];
  return v?.b != null ? v.b : def;
}

export function attrNumber(node: NodeDef, name: string, def: number): number {
  const v = node.attr?.[name];
  if (v?.i != null) return Number(v.i);
  if (v?.f != null) return v.f;
  return def;
}

export function attrString(node: NodeDef, name: string, def: string): string {
  const v = node.attr?.[name];
  return v?.s != null ? decodeString(v.s) : def;
}

export function attrInts(node: NodeDef, name: string, def: number[]): number[] {
  const v = node.attr?.[name];
  return v?.list?.i != null ? v.list.i.map(Number) : def;
}

export function attrStrings(node: NodeDef, name: string, def: string[]): string[] {
  const v = node.attr?.[name];
  return v?.list?.s != null ? v.list.s.map(decodeString) : def;
}

export const intAttr = (v: number): AttrValue => ({i: String(v)});
export const floatAttr = (v: number): AttrValue => ({f: v});
export const boolAttr = (v: boolean): AttrValue => ({b: v});
/** Strings are written base64-encoded, as current tfjs-converter versions do. Only ASCII is needed. */
export const stringAttr = (v: string): AttrValue => ({s: btoa(v)});

/**
 * Node names in an order where every node comes after its inputs (Kahn's algorithm). Nodes on a cycle
 * (the loops of TF control flow) follow in file order.
 */
export function topologicalOrder(graph: GraphDef): string[] {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const pending = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const n of graph.node) {
    const parents = new Set((n.input ?? []).map(inputNode).filter((p) => byName.has(p)));
    pending.set(n.name, parents.size);
    for (const p of parents) children.set(p, [...(children.get(p) ?? []), n.name]);
  }
  const order: string[] = [];
  const ready = graph.node.filter((n) => pending.get(n.name) === 0).map((n) => n.name);
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const c of children.get(name) ?? []) {
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (order.length < graph.node.length) {
    const placed = new Set(order);
    for (const n of graph.node) if (!placed.has(n.name)) order.push(n.name);
  }
  return order;
}
