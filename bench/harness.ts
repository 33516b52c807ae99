/** Rounds and interleaving, medians and ratios, the table and the JSON report. No I/O besides the report. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MeasureReport, SeedReport } from './memory.js';
import type { Measurement } from './systems/system.js';
import type { RoundWorkload, SystemName, Target } from './workloads.js';
import { BASELINE, MEMORY_LIMIT_MB, NO_BASELINE_RATIO, OWN_BASELINE, TARGETS } from './workloads.js';

// ---------------------------------------------------------------------------------------------------------
// Rounds

/** One timed run of one workload by one system in one round. */
export interface RunRecord {
  round: number;
  workload: RoundWorkload;
  system: SystemName;
  /** 0 = ran first among the systems in this round. */
  position: number;
  records?: number;
  ms?: number;
  /** Records per second. */
  rate?: number;
  conflicts?: number;
  error?: string;
}

/** `items` rotated left by `round`: round 0 runs A B C, round 1 B C A, round 2 C A B, … */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export type RunOne = (
  round: number,
  workload: RoundWorkload,
  system: SystemName,
) => Promise<Measurement | null | undefined>;

/**
 * Runs `rounds` rounds. In each round every workload runs once per system, the systems one after another in
 * that round's rotated order, so slow drifts of a noisy machine hit every system alike. `run` returns `null`
 * when the system has no such workload; a thrown error is recorded and the rounds go on.
 */
export async function runRounds(options: {
  rounds: number;
  workloads: readonly RoundWorkload[];
  systems: readonly SystemName[];
  run: RunOne;
  onRecord?: (record: RunRecord, of: { rounds: number }) => void;
}): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order = rotate(options.systems, round);
    for (const workload of options.workloads) {
      for (const [position, system] of order.entries()) {
        const record: RunRecord = { round: round + 1, workload, system, position };
        try {
          const m = await options.run(round + 1, workload, system);
          if (m === null) continue;
          if (m === undefined) record.error = 'system unavailable';
          else {
            record.records = m.records;
            record.ms = round3(m.ms);
            record.rate = round3(m.records / (m.ms / 1000));
            if (m.conflicts !== undefined) record.conflicts = m.conflicts;
          }
        } catch (error) {
          record.error = error instanceof Error ? error.message : String(error);
        }
        records.push(record);
        options.onRecord?.(record, { rounds: options.rounds });
      }
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * A ratio of two systems' rates. `value`, the one checked against a target, is the median of the per-round
 * ratios: each round runs the systems back to back, so a round's ratio compares them under the same machine
 * conditions, and a round in which the shared machine ran slow (seen: every system at half speed) moves both
 * rates of its ratio alike. The ratio of the two medians can pair one system's fast round with the other's
 * slow one; it is kept beside it, for comparison with earlier runs.
 */
export interface Ratio {
  /** A system, or `fencepost <workload>` for a ratio to fencepost's own rate on another workload. */
  of: string;
  /** The median of the per-round ratios. */
  value: number;
  /** The ratio of the two systems' median rates. */
  ofMedians: number;
  target?: number;
  pass?: boolean;
}

export interface Summary {
  workload: RoundWorkload;
  system: SystemName;
  rounds: number;
  median?: number;
  min?: number;
  max?: number;
  medianConflicts?: number;
  vsBaseline?: Ratio | 'n/a';
  vsEmmett?: Ratio | 'n/a';
  /** Its rate over fencepost's own rate on another workload (session: append-seq; see OWN_BASELINE). */
  vsOwn?: Ratio | 'n/a';
  /** Whether fencepost met every target of the workload; absent when not checked. */
  check?: 'PASS' | 'FAIL' | 'ERROR';
  errors: string[];
}

export interface MemoryResult extends MeasureReport {
  records: number;
  seed: SeedReport;
  limitMb: number;
  check?: 'PASS' | 'FAIL';
  error?: string;
}

const rateOf = (r: RunRecord): number | undefined => (r.error === undefined ? r.rate : undefined);

/** Medians per workload and system, ratios to plain-pg and Emmett, and fencepost's checks against its targets. */
export function summarize(
  records: readonly RunRecord[],
  options: { workloads: readonly RoundWorkload[]; systems: readonly SystemName[]; checkTargets: boolean },
): Summary[] {
  const runs = (workload: RoundWorkload, system: SystemName) =>
    records.filter((r) => r.workload === workload && r.system === system);
  const ratio = (
    workload: RoundWorkload,
    system: SystemName,
    of: SystemName,
    ofWorkload: RoundWorkload = workload,
    target?: number,
  ): Ratio | undefined => {
    const mine = runs(workload, system);
    const theirs = runs(ofWorkload, of);
    const a = median(mine.map(rateOf).filter(isNumber));
    const b = median(theirs.map(rateOf).filter(isNumber));
    if (a === undefined || b === undefined) return undefined;
    const perRound = mine.flatMap((r) => {
      const other = theirs.find((t) => t.round === r.round);
      const x = rateOf(r);
      const y = other && rateOf(other);
      return x !== undefined && y !== undefined ? [x / y] : [];
    });
    const result: Ratio = {
      of: ofWorkload === workload ? of : `fencepost ${ofWorkload}`,
      value: round3(median(perRound) ?? a / b),
      ofMedians: round3(a / b),
    };
    if (target !== undefined && options.checkTargets) {
      result.target = target;
      result.pass = result.value >= target;
    }
    return result;
  };

  const summaries: Summary[] = [];
  for (const workload of options.workloads) {
    const target: Target = TARGETS[workload];
    for (const system of options.systems) {
      const mine = runs(workload, system);
      if (mine.length === 0) continue;
      const rates = mine.map(rateOf).filter(isNumber);
      const conflicts = mine.flatMap((r) =>
        r.error === undefined && r.conflicts !== undefined ? [r.conflicts] : [],
      );
      const s: Summary = {
        workload,
        system,
        rounds: rates.length,
        errors: mine.flatMap((r) => (r.error === undefined ? [] : [`round ${r.round}: ${r.error}`])),
      };
      if (rates.length > 0) {
        s.median = round3(median(rates)!);
        s.min = round3(Math.min(...rates));
        s.max = round3(Math.max(...rates));
      }
      if (conflicts.length > 0) s.medianConflicts = median(conflicts)!;
      const isFencepost = system === 'fencepost';

      const own = OWN_BASELINE[workload];
      if (own && isFencepost) s.vsOwn = ratio(workload, system, 'fencepost', own, target.vsOwn) ?? 'n/a';
      if (workload === 'session') {
        s.vsBaseline = 'n/a';
        s.vsEmmett = 'n/a';
      } else {
        if (system !== BASELINE) {
          s.vsBaseline = NO_BASELINE_RATIO.has(workload)
            ? 'n/a'
            : ratio(workload, system, BASELINE, workload, isFencepost ? target.vsBaseline : undefined);
        }
        if (isFencepost) s.vsEmmett = ratio(workload, system, 'emmett', workload, target.vsEmmett);
      }

      if (options.checkTargets && isFencepost) {
        const checks = [s.vsBaseline, s.vsEmmett, s.vsOwn].filter((r): r is Ratio => typeof r === 'object');
        if (s.errors.length > 0 || rates.length === 0) s.check = 'ERROR';
        else if (checks.some((r) => r.pass !== undefined)) {
          s.check = checks.every((r) => r.pass !== false) ? 'PASS' : 'FAIL';
        }
      }
      summaries.push(s);
    }
  }
  return summaries;
}

// ---------------------------------------------------------------------------------------------------------
// The table

const int = (n: number | undefined): string =>
  n === undefined ? '-' : Math.round(n).toLocaleString('en-US');

function ratioCell(r: Ratio | 'n/a' | undefined): string {
  if (r === undefined) return '';
  if (r === 'n/a') return 'n/a';
  const value = `${r.value.toFixed(2)} (${r.ofMedians.toFixed(2)})`;
  if (r.target === undefined) return value;
  return `${value} ${r.pass ? '>=' : '<'} ${r.target}`;
}

export function formatTable(summaries: readonly Summary[], memory?: MemoryResult): string {
  const header = [
    'workload',
    'system',
    'records/s',
    'min..max',
    'vs plain-pg',
    'vs emmett',
    'other',
    'check',
  ];
  const rows: string[][] = summaries.map((s) => [
    s.workload,
    s.system,
    int(s.median),
    s.min === undefined ? '-' : `${int(s.min)}..${int(s.max)}`,
    ratioCell(s.vsBaseline),
    ratioCell(s.vsEmmett),
    [
      s.medianConflicts !== undefined ? `conflicts ${int(s.medianConflicts)}` : '',
      s.vsOwn !== undefined ? `vs own ${OWN_BASELINE[s.workload]} ${ratioCell(s.vsOwn)}` : '',
      s.errors.length > 0 ? `${s.errors.length} error(s)` : '',
    ]
      .filter(Boolean)
      .join(', '),
    s.check ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = new Set([2, 3]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  let previous: string | undefined;
  for (const [i, row] of rows.entries()) {
    const workload = summaries[i]?.workload;
    if (previous !== undefined && workload !== previous) out.push('');
    previous = workload;
    out.push(line(row));
  }
  if (memory) {
    out.push('');
    if (memory.error) out.push(`memory (fencepost, ${int(memory.records)} records): ERROR ${memory.error}`);
    else {
      out.push(
        `memory (fencepost, ${int(memory.records)} records, seeded by ${memory.seed.method} in ` +
          `${(memory.seed.ms / 1000).toFixed(1)} s): peak RSS readSession ${memory.read.peakRssMb.toFixed(0)} MB ` +
          `(${int(memory.read.records / (memory.read.ms / 1000))} records/s), follow ` +
          `${memory.follow.peakRssMb.toFixed(0)} MB (${int(memory.follow.records / (memory.follow.ms / 1000))} ` +
          `records/s); RSS at start ${memory.rssStartMb.toFixed(0)} MB, after connect ${memory.rssBaselineMb.toFixed(0)} MB; ` +
          `limit ${MEMORY_LIMIT_MB} MB` +
          (memory.check ? `  ${memory.check}` : ''),
      );
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// The JSON report

/** Writes `report` to `<dir>/<timestamp>.json` and returns the path. */
export async function writeReport(dir: string, startedAt: Date, report: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

function isNumber(x: number | undefined): x is number {
  return x !== undefined;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
