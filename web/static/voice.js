// Voice search's microphone: records with getUserMedia, keeps the samples
// in memory and encodes them as a 16-bit PCM mono WAV file in the browser,
// the format POST /v1/search/voice reads (any rate: the server resamples).

// MAX_SECONDS ends a recording nobody stopped (the server's voice.max_seconds
// is 15 by default).
export const MAX_SECONDS = 8;

// encodeWAV returns a WAV blob of mono samples in [-1, 1] at rate Hz.
export function encodeWAV(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const text = (off, s) => { for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i)); };
  text(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true); // bytes per second
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  text(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([buf], { type: 'audio/wav' });
}

// Recorder captures the microphone until stop() (or MAX_SECONDS), then
// resolves done with the WAV blob.
export class Recorder {
  static supported() {
    return Boolean(navigator.mediaDevices?.getUserMedia) && Boolean(window.AudioContext);
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    this.ctx = new AudioContext();
    const src = this.ctx.createMediaStreamSource(this.stream);
    // ScriptProcessorNode needs no extra module file (an AudioWorklet
    // would), and a few seconds of audio is all it carries.
    this.node = this.ctx.createScriptProcessor(4096, 1, 1);
    this.chunks = [];
    this.node.onaudioprocess = (e) => this.chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    src.connect(this.node);
    this.node.connect(this.ctx.destination);
    this.done = new Promise((resolve) => { this.resolve = resolve; });
    this.timer = setTimeout(() => this.stop(), MAX_SECONDS * 1000);
    return this.done;
  }

  stop() {
    if (!this.resolve) return;
    clearTimeout(this.timer);
    this.node.disconnect();
    this.stream.getTracks().forEach((t) => t.stop());
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const all = new Float32Array(n);
    let off = 0;
    for (const c of this.chunks) { all.set(c, off); off += c.length; }
    const rate = this.ctx.sampleRate;
    this.ctx.close();
    const resolve = this.resolve;
    this.resolve = null;
    resolve(n > 0 ? encodeWAV(all, rate) : null);
  }
}
