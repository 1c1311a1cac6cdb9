// The web client's Poller (www/js/poll.js) against a server whose waiting
// polls are all taken (updates_max_waiting): it must honour each answer's
// retry_ms (wait that long before the next poll, not poll again at once)
// and long-poll again once the server grants a wait. Runs the module itself
// in Node, with fetch for the Api; tests/integration/test_05_polls_cap.py
// fills the cap and asserts on what this prints.
//
//   node poll_retry.mjs --base URL --token T --since ID --free-at MS
//                       --chat ID --other-token T2
//
// The cap is full until --free-at (epoch ms). After it, and once a poll has
// been let wait for a second, the other user (T2) sends a message to chat
// ID; the script ends when the Poller emits it. Prints every poll made:
// {start, end (ms from the first), timeout, retry_ms, events}.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as common from './common.mjs';
import { sleep, report } from './common.mjs';

const args = common.parseArgs(process.argv.slice(2),
  ['base', 'token', 'since', 'free-at', 'chat', 'other-token']);
const result = { ok: false, polls: [] };

// www/ is no package with "type": "module": the two modules are copied
// beside a package.json that says they are (poll.js imports ./ws.js).
async function importPoller() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-poll-'));
  for (const f of ['poll.js', 'ws.js']) {
    fs.copyFileSync(new URL(`../../www/js/${f}`, import.meta.url), path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}');
  return import(pathToFileURL(path.join(dir, 'poll.js')).href);
}

async function main() {
  const { Poller } = await importPoller();
  const t0 = Date.now();
  const polls = result.polls;
  // The Api's get() as the web client's: JSON, or a thrown {status, code}.
  const api = {
    async get(p, { signal } = {}) {
      const q = new URL(`${args.base}/api/v1${p}`);
      const rec = { start: Date.now() - t0, timeout: Number(q.searchParams.get('timeout')) };
      polls.push(rec);
      const res = await fetch(q, { headers: { Authorization: `Bearer ${args.token}` }, signal });
      const body = await res.json();
      rec.end = Date.now() - t0;
      if (!res.ok) throw Object.assign(new Error(body.error.message), { status: res.status, code: body.error.code });
      rec.retry_ms = body.retry_ms ?? null;
      rec.events = body.events.length;
      return body;
    },
  };
  const poller = new Poller({ api, since: args.since, timeout: 5 }); // a left poll ends soon
  const got = new Promise((resolve) => poller.on('message.created', (data) => resolve(data)));
  poller.connect();
  // The cap frees itself at free-at; a poll after that waits (it has not
  // ended after a second), then the message ends it.
  const freeAt = Number(args['free-at']);
  const deadline = Date.now() + 30000;
  for (;;) {
    const last = polls[polls.length - 1];
    if (Date.now() > freeAt && last && last.end === undefined && Date.now() - t0 - last.start > 1000) break;
    if (Date.now() > deadline) throw new Error('no poll was let wait');
    await sleep(50);
  }
  const res = await fetch(`${args.base}/api/v1/messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${args['other-token']}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ chat_id: args.chat, content: 'after the short polls' }),
  });
  result.sent = res.status;
  const sentAt = Date.now();
  const data = await Promise.race([got, sleep(10000).then(() => null)]);
  result.delivery_ms = Date.now() - sentAt;
  result.content = data && data.message.content;
  poller.close();
  result.ok = true;
}

report(main, result);
