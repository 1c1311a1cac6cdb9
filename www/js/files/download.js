// Downloads through fetch (so that a token or a share password can go in a
// header): the body is read as a stream with progress into a Blob, which is
// then saved under the server's file name.

// The file name of a Content-Disposition header (filename* first, RFC 5987),
// or fallback.
export function dispositionName(header, fallback = 'download') {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch (e) {
      // a malformed escape: try the plain one
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)/i.exec(header);
  if (plain) return (plain[1] !== undefined ? plain[1] : plain[2]).trim();
  return fallback;
}

// Reads res's body into a Blob, calling onProgress(bytes, size) on the way
// (size from Content-Length, or null). signal aborts.
export async function readBody(res, onProgress, signal = null) {
  const len = res.headers.get('Content-Length');
  const size = len === null ? null : Number(len);
  const type = res.headers.get('Content-Type') || 'application/octet-stream';
  if (!res.body || !res.body.getReader) {
    const blob = await res.blob();
    onProgress(blob.size, blob.size);
    return blob;
  }
  const reader = res.body.getReader();
  const parts = [];
  let bytes = 0;
  onProgress(0, size);
  for (;;) {
    if (signal && signal.aborted) {
      reader.cancel();
      throw new DOMException('The download was cancelled', 'AbortError');
    }
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    bytes += value.length;
    onProgress(bytes, size);
  }
  if (size !== null && bytes !== size) {
    throw new Error(`The download stopped after ${bytes} of ${size} bytes`);
  }
  return new Blob(parts, { type });
}
