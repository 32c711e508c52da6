// Kneedle (Satopää et al. 2011), offline, no smoothing, S = 1 by default (docs/ANALYSIS.md, Capacity).
// The knee is the onset of diminishing returns — an "efficiency knee", not the capacity.

export type KneeCurve = 'concave-increasing' | 'convex-increasing';

export interface Knee {
  index: number;
  x: number;
  y: number;
}

export function kneedle(xs: readonly number[], ys: readonly number[], curve: KneeCurve = 'concave-increasing', sensitivity = 1): Knee | null {
  const pts = xs
    .map((x, i) => [x, ys[i]!] as const)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
    .sort((a, b) => a[0] - b[0]);
  if (pts.length < 3) return null;
  const [x0, x1] = [pts[0]![0], pts[pts.length - 1]![0]];
  const ysOnly = pts.map((p) => p[1]);
  const [y0, y1] = [Math.min(...ysOnly), Math.max(...ysOnly)];
  if (!(x1 > x0) || !(y1 > y0)) return null;
  const xn = pts.map((p) => (p[0] - x0) / (x1 - x0));
  const yn = pts.map((p) => (p[1] - y0) / (y1 - y0));
  const yd = xn.map((x, i) => (curve === 'concave-increasing' ? yn[i]! - x : x - yn[i]!));
  const meanDx = (xn[xn.length - 1]! - xn[0]!) / (xn.length - 1);
  const maxima: number[] = [];
  for (let i = 1; i < yd.length - 1; i++) if (yd[i]! >= yd[i - 1]! && yd[i]! > yd[i + 1]!) maxima.push(i);
  for (let m = 0; m < maxima.length; m++) {
    const i = maxima[m]!;
    const threshold = yd[i]! - sensitivity * meanDx;
    const next = maxima[m + 1] ?? yd.length;
    for (let j = i + 1; j < yd.length; j++) {
      if (j >= next) break;
      if (yd[j]! < threshold) return { index: i, x: pts[i]![0], y: pts[i]![1] };
    }
  }
  return null;
}
