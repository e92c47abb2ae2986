/**
 * A 64-bit FNV-1a hash of a string, as 16 hex digits. Pure and identical on every platform
 * (sim/ stays free of node:crypto so it runs anywhere, including worker threads and browsers).
 */
export function fnv1a64(text: string): string {
  // Two 32-bit halves of the 64-bit state, with the 64-bit prime 0x100000001b3 applied by parts.
  let h0 = 0x84222325; // low
  let h1 = 0xcbf29ce4; // high
  for (let i = 0; i < text.length; i++) {
    h0 = (h0 ^ text.charCodeAt(i)) >>> 0; // keep it unsigned: the carry below assumes 0 ≤ h0 < 2^32
    // (h1:h0) * 0x100000001b3 = (h1:h0) * 0x1b3 + (h0 << 40)
    const lo = h0 * 0x1b3;
    const hi = h1 * 0x1b3 + (h0 << 8) + Math.floor(lo / 0x100000000);
    h0 = lo >>> 0;
    h1 = hi >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h0.toString(16).padStart(8, '0');
}
