// A progress bar with its percent, speed and time left, for uploads,
// downloads and P2P transfers. The speed is measured over the last two
// seconds of movement; redraws are limited to one every 50 ms (and the last
// value is always drawn).
//
//   const m = new Meter(fmt);          // fmt: the shell's {bytes, duration}
//   row.append(m.el);
//   m.update(bytes, size);             // as often as it comes
//   m.done('took 3 s');                // final line
//
// The element carries data-bytes and data-size (read by the tests).

import { h } from './dom.js';

const RENDER_MS = 50;
const WINDOW_MS = 2000;

export class Meter {
  constructor(fmt, label = 'Progress') {
    this.fmt = fmt;
    this.bar = h('progress', { max: 1000, value: 0, 'aria-label': label });
    this.pct = h('span', { class: 'pct' }, '0%');
    this.speed = h('span', { class: 'speed' });
    this.eta = h('span', { class: 'eta' });
    this.el = h('div', { class: 'meter', dataset: { bytes: '0', size: '0' } },
      this.bar, h('div', { class: 'stats' }, this.pct, this.speed, this.eta));
    this.samples = [];
    this.bytes = 0;
    this.size = 0;
    this.last = 0;
    this.timer = null;
    this.startedAt = null; // when bytes started to move (again)
    this.startBytes = 0;
  }

  // Forgets the speed samples (after a pause or a reconnection the old rate
  // says nothing about the new one).
  reset() {
    this.samples = [];
    this.startedAt = null;
    this.speed.textContent = '';
    this.eta.textContent = '';
  }

  update(bytes, size) {
    if (this.startedAt === null) {
      this.startedAt = performance.now();
      this.startBytes = bytes;
    }
    this.bytes = bytes;
    this.size = size;
    const wait = this.last + RENDER_MS - performance.now();
    if (wait <= 0) this.render();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.render();
      }, wait);
    }
  }

  render() {
    const { bytes, size } = this;
    const now = performance.now();
    this.last = now;
    const frac = size ? Math.min(1, bytes / size) : 1;
    this.bar.value = Math.round(frac * 1000);
    this.pct.textContent = `${Math.floor(frac * 100)}%`;
    this.el.dataset.bytes = String(bytes);
    this.el.dataset.size = String(size);
    const s = this.samples;
    if (s.length && bytes < s[s.length - 1][1]) s.length = 0; // went back (a retry)
    s.push([now, bytes]);
    while (s.length > 2 && now - s[0][0] > WINDOW_MS) s.shift();
    const [t0, b0] = s[0];
    if (now - t0 > 150 && bytes > b0 && bytes < size) {
      const rate = ((bytes - b0) * 1000) / (now - t0);
      this.speed.textContent = `${this.fmt.bytes(Math.round(rate))}/s`;
      this.eta.textContent = `${this.fmt.duration((size - bytes) / rate)} left`;
    }
  }

  // The final state: full bar, the average speed since the last start or
  // reset (a resumed upload counts only what it sent since).
  done(text = '') {
    clearTimeout(this.timer);
    this.timer = null;
    this.bytes = this.size;
    this.render();
    const secs = this.startedAt === null ? null : (performance.now() - this.startedAt) / 1000;
    this.speed.textContent = secs && secs > 0.001 && this.size
      ? `${this.fmt.bytes(Math.round((this.size - this.startBytes) / secs))}/s average` : '';
    this.eta.textContent = text;
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
