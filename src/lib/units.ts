const KIB = 1024;
const MIB = KIB * 1024;
const GIB = MIB * 1024;

/** Bytes for people: "512 bytes", "3.4 KiB", "6.1 MiB", "1.2 GiB" (binary units, as Squidex states its limits). */
export function formatBytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(1)} GiB`;
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  if (n >= KIB) return `${(n / KIB).toFixed(1)} KiB`;
  return `${n} byte${n === 1 ? '' : 's'}`;
}
