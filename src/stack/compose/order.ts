// Start order from depends_on: topological, stable (file order among services whose dependencies are met).
import type { ComposeProject, ComposeService } from './types.ts';

/** Services in an order that starts every dependency first; teardown is the reverse. Throws on a cycle. */
export function startOrder(project: Pick<ComposeProject, 'services'>): ComposeService[] {
  const placed = new Set<string>();
  const order: ComposeService[] = [];
  const pending = [...project.services];
  while (pending.length > 0) {
    const index = pending.findIndex((s) => s.dependsOn.every((d) => placed.has(d.service)));
    if (index < 0) {
      const cycle = findCycle(pending.map((s) => ({ name: s.name, deps: s.dependsOn.map((d) => d.service) })));
      throw new Error(`dependency cycle: ${cycle?.join(' → ') ?? pending.map((s) => s.name).join(', ')}`);
    }
    const [next] = pending.splice(index, 1) as [ComposeService];
    placed.add(next.name);
    order.push(next);
  }
  return order;
}

/** First dependency cycle found, as a closed walk ["a", "b", "a"]; undefined when acyclic. Unknown names are skipped. */
export function findCycle(nodes: readonly { name: string; deps: readonly string[] }[]): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.name, n.deps]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done' || !deps.has(name)) return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const d of deps.get(name) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const found = visit(n.name);
    if (found) return found;
  }
  return undefined;
}
