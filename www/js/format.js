// How sizes and durations read everywhere in the client.

// 1536 -> "1.5 KB", 52428800 -> "50 MB".
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

// Seconds as "less than a second", "12 s", "3 min 4 s", "2 h 5 min".
export function duration(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 1) return 'less than a second';
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
