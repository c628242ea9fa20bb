import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBuffer, rmsDbfs } from '../src/audio/mulaw.js';
import { speechLike } from '../src/audio/speechlike.js';
import { WavError, mulawToWav, readWavFile, wavInfo, wavToMulaw, writeWavFile } from '../src/audio/wav.js';

/** A plain PCM16 WAV built by hand (independent of the writer under test). */
function pcm16Wav(
  rate: number,
  channels: number,
  frames: number,
  sample: (frame: number, ch: number) => number,
): Buffer {
  const data = Buffer.alloc(frames * channels * 2);
  for (let f = 0; f < frames; f++)
    for (let c = 0; c < channels; c++) data.writeInt16LE(sample(f, c), (f * channels + c) * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

function zeroCrossings(samples: Int16Array): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1] ?? 0) < 0 !== (samples[i] ?? 0) < 0) n++;
  return n;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('WAV', () => {
  it('writes PCM16 8 kHz mono that reads back to the same audio', () => {
    const mu = speechLike({ ms: 700, seed: 11 });
    const wav = mulawToWav(mu);
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wavInfo(wav)).toMatchObject({
      format: 1,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 16,
      frames: 5600,
      durationMs: 700,
    });
    expect(wav.length).toBe(44 + 5600 * 2);
    const back = wavToMulaw(wav);
    expect(back).toHaveLength(mu.length);
    // Same samples (a -0 byte may come back as +0, which is the same sound).
    expect(decodeBuffer(back)).toEqual(decodeBuffer(mu));
  });

  it('writes mu-law (format 7) that reads back byte for byte', () => {
    const mu = Buffer.concat([speechLike({ ms: 333, seed: 5 }), Buffer.from([0x12])]); // odd length: pad byte
    expect(mu.length % 2).toBe(1);
    const wav = mulawToWav(mu, 'mulaw');
    expect(wavInfo(wav)).toMatchObject({
      format: 7,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 8,
      frames: mu.length,
    });
    expect(wavToMulaw(wav).equals(mu)).toBe(true);
  });

  it('converts a 16 kHz stereo PCM16 file to 8 kHz mono with the right duration and pitch', () => {
    const rate = 16000;
    const frames = rate * 1.5; // 1.5 s
    const wav = pcm16Wav(rate, 2, frames, (f, ch) =>
      Math.round((ch === 0 ? 10000 : 8000) * Math.sin((2 * Math.PI * 400 * f) / rate)),
    );
    const mu = wavToMulaw(wav);
    expect(mu.length).toBe(12000); // 1.5 s at 8 kHz
    const pcm = decodeBuffer(mu);
    // 400 Hz over 1.5 s = 1200 zero crossings; a wrong rate would shift this by a factor of 2.
    expect(Math.abs(zeroCrossings(pcm) - 1200)).toBeLessThan(10);
    // Downmix is the average: amplitude ≈ 9000 → RMS ≈ 6364 → about -14.2 dBFS.
    expect(rmsDbfs(mu)).toBeGreaterThan(-15.5);
    expect(rmsDbfs(mu)).toBeLessThan(-13);
  });

  it('resamples 44.1 kHz mono to the right length', () => {
    const wav = pcm16Wav(44100, 1, 44100 * 2, (f) => Math.round(5000 * Math.sin((2 * Math.PI * 300 * f) / 44100)));
    const mu = wavToMulaw(wav);
    expect(mu.length).toBe(16000);
    expect(Math.abs(zeroCrossings(decodeBuffer(mu)) - 1200)).toBeLessThan(10);
  });

  it('skips unknown chunks before the data', () => {
    const plain = pcm16Wav(8000, 1, 800, () => 1000);
    const list = Buffer.alloc(8 + 5);
    list.write('LIST', 0, 'latin1');
    list.writeUInt32LE(5, 4); // odd size: a pad byte follows
    const withList = Buffer.concat([plain.subarray(0, 36), list, Buffer.alloc(1), plain.subarray(36)]);
    expect(wavToMulaw(withList)).toHaveLength(800);
  });

  it('rejects garbage and unsupported encodings with a clear WavError', () => {
    expect(() => wavToMulaw(Buffer.from('this is not a wav file at all'))).toThrow(/not a WAV file/);
    expect(() => wavToMulaw(Buffer.alloc(0))).toThrow(WavError);
    const eightBit = pcm16Wav(8000, 1, 100, () => 0);
    eightBit.writeUInt16LE(8, 34); // claim 8-bit PCM
    expect(() => wavToMulaw(eightBit)).toThrow(/unsupported WAV encoding \(format 1, 8 bits\)/);
    const noData = pcm16Wav(8000, 1, 10, () => 0).subarray(0, 36);
    expect(() => wavToMulaw(noData)).toThrow(/no data chunk/);
  });

  it('reads and writes files, naming the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callrelay-wav-'));
    dirs.push(dir);
    const mu = speechLike({ ms: 400, seed: 2 });
    const path = join(dir, 'heard.wav');
    await writeWavFile(path, mu);
    expect(decodeBuffer(await readWavFile(path))).toEqual(decodeBuffer(mu));
    const bad = join(dir, 'bad.wav');
    await writeFile(bad, 'garbage');
    await expect(readWavFile(bad)).rejects.toThrow(/bad\.wav: not a WAV file/);
  });
});
