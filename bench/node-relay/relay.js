'use strict';
// Baseline for bench/ws.sh: the usual Node.js fan-out relay. It SUBSCRIBEs
// to one Redis channel and sends each message, as a text frame, to every
// connected WebSocket client (the broadcast loop of the ws documentation).
//
//   node relay.js --port 18387 --redis-port 16395 --channel bench:node
//
// Prints "ready" on stdout once it listens and is subscribed; SIGTERM stops it.
const WebSocket = require('ws');
const Redis = require('ioredis');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const port = Number(args.port || 18387);
const channel = args.channel || 'bench:node';

const wss = new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate: false });
const sub = new Redis({ host: '127.0.0.1', port: Number(args['redis-port'] || 6379), lazyConnect: false });

sub.on('messageBuffer', (ch, msg) => {
  for (const client of wss.clients) {
    if (client.readyState === WebSocket.OPEN) client.send(msg, { binary: false });
  }
});

let listening = false, subscribed = false;
const maybeReady = () => { if (listening && subscribed) process.stdout.write('ready\n'); };
wss.on('listening', () => { listening = true; maybeReady(); });
sub.subscribe(channel).then(() => { subscribed = true; maybeReady(); },
  (err) => { console.error('relay: subscribe failed:', err.message); process.exit(1); });
wss.on('error', (err) => { console.error('relay:', err.message); process.exit(1); });

const stop = () => { sub.disconnect(); wss.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
