// The board picker's rows (pure, unit-tested): each board's CPU and memory in readable units, and
// whether the model compiled last fits it.
import type { BoardInfo } from './protocol';

/** Bytes in the largest binary unit that keeps a whole number readable: 512 KB, 4 MB, 1 GB. */
export function size(n?: number): string {
  if (!n) return '?';
  const units: [number, string][] = [[1 << 30, 'GB'], [1 << 20, 'MB'], [1 << 10, 'KB']];
  for (const [u, name] of units) {
    if (n >= u) {
      const v = n / u;
      return `${v >= 10 || Number.isInteger(v) ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)} ${name}`;
    }
  }
  return `${n.toLocaleString('en-US')} B`;
}

/** What the last compiled model needs of a board: its arena (RAM) and its weights (flash). */
export interface Need { model: string; arena: number; flash: number }

/** "fits model (arena 4.6 KB, weights 21 KB)" or "model does not fit: arena 300 KB > 256 KB RAM". */
export function fit(b: BoardInfo, need: Need): string {
  const over = [
    b.ram_bytes && need.arena > b.ram_bytes ? `arena ${size(need.arena)} > ${size(b.ram_bytes)} RAM` : '',
    b.flash_bytes && need.flash > b.flash_bytes ? `weights ${size(need.flash)} > ${size(b.flash_bytes)} flash` : '',
  ].filter(Boolean);
  return over.length ? `$(warning) ${need.model} does not fit: ${over.join(', ')}` : `$(check) fits ${need.model}`;
}

export function boardItem(b: BoardInfo, now: string, need?: Need) {
  const parts = [b.cpu ?? '', `${size(b.ram_bytes)} RAM`, `${size(b.flash_bytes)} flash`];
  if (need) parts.push(fit(b, need));
  if (b.name === now) parts.push('current');
  return { label: b.name, description: parts.filter(Boolean).join(' · '), detail: b.description, picked: b.name === now };
}
