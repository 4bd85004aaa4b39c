export function label(s: string): string {
  return `[${s}]`;
}
