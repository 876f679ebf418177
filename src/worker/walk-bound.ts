/**
 * What a value from a worker costs the host to walk as a tree — checked on
 * the main thread before the value is handed out.
 *
 * Invariant: a guest value that reaches the host through a worker (a result,
 * a thrown value, a host call's arguments, a pool result) costs at most
 * `resultBytes` to walk as a tree, shared references counted every time a
 * walk reaches them.
 *
 * Structured clone keeps shared references (it is a graph copy), so
 * `x=[1]; for (i=0;i<40;i++) x=[x,x]` crosses as 41 objects — and then costs
 * 2^40 steps in every tree walk a host does (`JSON.stringify`,
 * `util.inspect`, `console.log`). The realm's own decoder in the worker
 * already refuses such a value (src/boundary/decode-cost.ts); this is the
 * same bound again on the thread whose death would be the host's, so that no
 * path through the worker (rexec's own errors, values the worker-side code
 * builds) can skip it. The units here are never larger than the in-thread
 * decoder's for the same value, so a value the realm accepted is never
 * refused here.
 *
 * Cycles keep working: an edge back to an ancestor on the walk's current path
 * costs one unit (walkers that handle cycles print a marker there). The walk
 * stops as soon as the bound is passed, so it costs O(limit) at most, and it
 * is iterative (the guest controls the depth).
 *
 * @packageDocumentation
 */

/** Walk units of one value itself, excluding its children. */
function ownCost(v: unknown): number {
  if (typeof v === "string") return v.length + 1;
  if (typeof v !== "object" || v === null) return 1;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength + 1;
  return 1;
}

/** Children a tree walk visits (Map keys and values, Set items, own enumerable properties), with the cost of their keys. */
function childrenOf(v: object): { items: unknown[]; keyCost: number } {
  if (v instanceof Date || v instanceof RegExp || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { items: [], keyCost: 0 };
  if (v instanceof Map) {
    const items: unknown[] = [];
    for (const [k, x] of v) items.push(k, x);
    return { items, keyCost: 0 };
  }
  if (v instanceof Set) return { items: [...v], keyCost: 0 };
  const keys = Object.keys(v);
  let keyCost = 0;
  const rec = v as Record<string, unknown>;
  const items = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    keyCost += keys[i]!.length + 1;
    items[i] = rec[keys[i]!];
  }
  return { items, keyCost };
}

/**
 * The tree-walk cost of `value`, or `Infinity` once it passes `limit`
 * (counting stops there).
 */
export function walkCost(value: unknown, limit: number): number {
  let cost = ownCost(value);
  if (typeof value !== "object" || value === null) return cost;
  const onPath = new Set<object>([value]);
  const first = childrenOf(value);
  cost += first.keyCost;
  const stack: Array<{ node: object; items: unknown[]; i: number }> = [{ node: value, items: first.items, i: 0 }];
  while (stack.length > 0) {
    if (cost > limit) return Infinity;
    const top = stack[stack.length - 1]!;
    if (top.i >= top.items.length) {
      onPath.delete(top.node);
      stack.pop();
      continue;
    }
    const child = top.items[top.i++];
    cost += ownCost(child);
    if (typeof child !== "object" || child === null || onPath.has(child)) continue;
    const next = childrenOf(child);
    cost += next.keyCost;
    onPath.add(child);
    stack.push({ node: child, items: next.items, i: 0 });
  }
  return cost > limit ? Infinity : cost;
}
