// Shared by the Node scripts that drive Debian's chromium (the browser tests
// and bench/p2p_bench.mjs) and by tus_upload.mjs.
import * as crypto from 'node:crypto';

export const CHROMIUM = process.env.HS_CHROMIUM || '/usr/bin/chromium';

// Root on a closed network: no sandbox, no GPU, and none of the background
// connections chromium would otherwise try (and fail) to make.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// WebRTC host candidates as plain addresses, not mDNS names nothing resolves.
export const WEBRTC_ARGS = ['--disable-features=WebRtcHideLocalIpsWithMdns'];

// "--key value" pairs into {key: value}; the required keys must be there.
export function parseArgs(argv, required = [], defaults = {}) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${k}`);
    out[k.slice(2)] = argv[i + 1];
  }
  for (const k of required) if (!out[k]) throw new Error(`--${k} is required`);
  return out;
}

export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs main, then prints result as the one JSON line the Python side reads;
// on a throw, with ok false and the error (exit status 1).
export function report(main, result) {
  main().then(() => {
    console.log(JSON.stringify(result));
  }, (e) => {
    result.ok = false;
    result.error = String(e && e.stack ? e.stack : e);
    console.log(JSON.stringify(result));
    process.exitCode = 1;
  });
}
