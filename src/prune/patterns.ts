/** Name patterns for `skip` options: exact names, globs with `*`, or regular expressions. */

/** Whether `name` matches `pattern`. */
export function matchesPattern(name: string, pattern: string | RegExp): boolean {
  if (pattern instanceof RegExp) return pattern.test(name);
  if (!pattern.includes('*')) return name === pattern;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}
