// Uploads one file to a tus 1.0 endpoint with the real tus-js-client and
// prints one JSON object with what happened. Used by
// tests/integration/test_03_tus_client.py.
//
//   node tus_upload.mjs --endpoint URL --token TOKEN --file PATH --mode MODE
//        [--chunk-size BYTES] [--storage PATH] [--abort-at FRACTION]
//        [--filename NAME] [--filetype TYPE]
//
// Modes:
//   plain      one upload, chunkSize-sized PATCH requests
//   interrupt  starts an upload, aborts it once onProgress passes --abort-at
//              (default 0.3), then starts a second Upload of the same file
//              that finds the first one through its fingerprint in a
//              FileUrlStorage (--storage) and resumes it from the server's
//              offset
//   parallel   parallelUploads: 3 (partial uploads, then a final
//              Upload-Concat)
//
// Output (stdout, one line): {"ok": true, "mode": ..., "url": ..., "file_id":
// ..., "size": ..., "runs": [{"patches": n, "bytes_sent": n, "first_offset":
// n, "posts": n, "heads": n, "statuses": [...], "aborted_at": n}, ...]}
// or {"ok": false, "error": "..."} with exit status 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tus from 'tus-js-client';
import * as common from './common.mjs';

function parseArgs(argv) {
  return common.parseArgs(argv, ['endpoint', 'token', 'file', 'mode']);
}

function newRun() {
  return { patches: 0, bytes_sent: 0, first_offset: null, posts: 0, heads: 0, statuses: [],
    aborted_at: null };
}

// Counts what went over the wire: the bytes of each accepted PATCH are the
// difference between the Upload-Offset the server answered and the one sent.
function hooks(run) {
  return {
    onBeforeRequest(req) {
      const m = req.getMethod();
      if (m === 'PATCH') {
        run.patches += 1;
        if (run.first_offset === null) run.first_offset = Number(req.getHeader('Upload-Offset'));
      } else if (m === 'POST') {
        run.posts += 1;
      } else if (m === 'HEAD') {
        run.heads += 1;
      }
    },
    onAfterResponse(req, res) {
      run.statuses.push(`${req.getMethod()} ${res.getStatus()}`);
      if (req.getMethod() === 'PATCH' && res.getStatus() === 204) {
        const before = Number(req.getHeader('Upload-Offset'));
        const after = Number(res.getHeader('Upload-Offset'));
        run.bytes_sent += after - before;
      }
    },
  };
}

function baseOptions(args, run) {
  return {
    endpoint: args.endpoint,
    headers: { Authorization: `Bearer ${args.token}` },
    chunkSize: Number(args['chunk-size'] || 4 * 1024 * 1024),
    // 409/423 (the server still finishing an aborted PATCH) are retried
    // after a HEAD, as tus-js-client does by default for those codes.
    retryDelays: [50, 200, 500, 1000, 2000],
    metadata: {
      filename: args.filename || path.basename(args.file),
      filetype: args.filetype || 'application/octet-stream',
    },
    ...hooks(run),
  };
}

function uploadOnce(file, options, abortAt, run) {
  return new Promise((resolve, reject) => {
    let upload;
    let aborted = false;
    const { resume, ...rest } = options;
    const opts = {
      ...rest,
      onError: (err) => reject(err),
      onSuccess: () => resolve({ url: upload.url, aborted: false }),
      onProgress: (sent, total) => {
        if (abortAt !== null && !aborted && sent / total >= abortAt) {
          aborted = true;
          run.aborted_at = sent;
          // abort(false): stop sending but keep the upload on the server.
          upload.abort(false).then(() => resolve({ url: upload.url, aborted: true }), reject);
        }
      },
    };
    upload = new tus.Upload(file, opts);
    if (resume) {
      upload.findPreviousUploads().then((previous) => {
        run.previous_uploads = previous.length;
        if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      }, reject);
    } else {
      upload.start();
    }
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const size = fs.statSync(args.file).size;
  const runs = [];
  let url;
  const mode = args.mode;
  if (mode === 'plain') {
    const run = newRun();
    runs.push(run);
    ({ url } = await uploadOnce(fs.createReadStream(args.file), baseOptions(args, run),
      null, run));
  } else if (mode === 'parallel') {
    const run = newRun();
    runs.push(run);
    const opts = { ...baseOptions(args, run), parallelUploads: 3 };
    ({ url } = await uploadOnce(fs.createReadStream(args.file), opts, null, run));
  } else if (mode === 'interrupt') {
    if (!args.storage) throw new Error('--storage is required in interrupt mode');
    const storage = new tus.FileUrlStorage(args.storage);
    const abortAt = Number(args['abort-at'] || 0.3);
    const first = newRun();
    runs.push(first);
    const r1 = await uploadOnce(fs.createReadStream(args.file),
      { ...baseOptions(args, first), urlStorage: storage }, abortAt, first);
    if (!r1.aborted) throw new Error('the first run finished before it could be aborted');
    first.url = r1.url;
    const second = newRun();
    runs.push(second);
    const r2 = await uploadOnce(fs.createReadStream(args.file),
      { ...baseOptions(args, second), urlStorage: storage, resume: true }, null, second);
    second.url = r2.url;
    url = r2.url;
    if (r1.url !== r2.url) throw new Error(`resumed a different upload: ${r1.url} then ${r2.url}`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const fileId = new URL(url, args.endpoint).pathname.split('/').pop();
  process.stdout.write(`${JSON.stringify({ ok: true, mode, url, file_id: fileId, size, runs })}\n`);
}

main().catch((err) => {
  const error = String(err && err.stack ? err.stack : err);
  process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
  process.exit(1);
});
