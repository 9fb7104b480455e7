/** WGSL that finds a column's first stored value in a tile of the tiled-bitmap format (docs/format.md). */

/**
 * `fn firstValue(t, c) -> u32`: the value index of column c's first stored value in tile t, from the
 * `header` and `offsets` bindings: the tile's offset, the stored prefix of c's group of 4 columns, and
 * the popcounts of the columns before c in its group (selects rather than a loop: Tint guards every loop
 * with a counter).
 */
export function firstValueWgsl(): string {
  return `
      fn firstValue(t : u32, c : u32) -> u32 {
        let h = t * 36u;
        let g = c / 4u;
        let prefixes = u32(header[h + 32u + g / 2u]);
        var e = u32(offsets[t]) + ((prefixes >> ((g % 2u) * 16u)) & 0xffffu);
        ${[0, 1, 2].map((i) => `e = e + select(0u, countOneBits(u32(header[h + g * 4u + ${i}u])), c % 4u > ${i}u);`).join('\n        ')}
        return e;
      }`;
}
