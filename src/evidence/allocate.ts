import type { PatchSection } from '../git/patch-stream.js';

/** A claim on the byte budget: lower `priority` is served first. */
export interface BudgetClaim {
  key: number;
  priority: number;
  size: number;
  /** Smallest grant worth making: below it the claim gets nothing. @default 0 */
  floor?: number;
  /** Order of preference when not every claim of a priority can get its floor: higher first. @default 0 */
  rank?: number;
}

/**
 * Splits `budget` bytes over the claims: priorities are served in order, and within one
 * priority the budget is shared max-min fairly, so every file gets the same share unless
 * it needs less. When a priority cannot give every claim its floor, only the claims of
 * highest rank that fit get a share, because a sliver of every diff shows nothing.
 * Returns bytes per claim key.
 */
export function allocateBudget(claims: readonly BudgetClaim[], budget: number): Map<number, number> {
  const shares = new Map<number, number>();
  const byPriority = new Map<number, BudgetClaim[]>();
  for (const claim of claims) {
    const group = byPriority.get(claim.priority) ?? [];
    group.push(claim);
    byPriority.set(claim.priority, group);
  }

  let remaining = Math.max(0, Math.floor(budget));
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = selectWithinFloors(byPriority.get(priority) as BudgetClaim[], remaining, shares).sort((a, b) => a.size - b.size);
    let left = group.length;

    for (const claim of group) {
      const share = Math.floor(remaining / left);
      const granted = Math.min(claim.size, share);
      shares.set(claim.key, granted);
      remaining -= granted;
      left -= 1;
    }
  }

  return shares;
}

/** Returns the claims that share `remaining`; the others get 0 in `shares`. */
function selectWithinFloors(group: readonly BudgetClaim[], remaining: number, shares: Map<number, number>): BudgetClaim[] {
  const floorOf = (claim: BudgetClaim): number => Math.min(claim.size, claim.floor ?? 0);
  const needed = group.reduce((total, claim) => total + floorOf(claim), 0);
  if (needed <= remaining) {
    return [...group];
  }

  const chosen: BudgetClaim[] = [];
  let used = 0;
  const byRank = [...group].sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0) || a.key - b.key);
  for (const claim of byRank) {
    if (used + floorOf(claim) <= remaining) {
      chosen.push(claim);
      used += floorOf(claim);
    } else {
      shares.set(claim.key, 0);
    }
  }

  return chosen;
}

/**
 * Keeps whole lines of a section's hunk text up to `bytes`. A hunk header left without
 * any of its lines is dropped too. Returns the kept lines and whether any were cut.
 */
export function truncateLines(lines: readonly Buffer[], bytes: number): { lines: Buffer[]; keptBytes: number; cut: boolean } {
  const kept: Buffer[] = [];
  let keptBytes = 0;

  for (const line of lines) {
    if (keptBytes + line.length > bytes) {
      break;
    }

    kept.push(line);
    keptBytes += line.length;
  }

  const cut = kept.length < lines.length;
  while (cut && kept.length > 0 && isHunkHeader(kept[kept.length - 1] as Buffer)) {
    keptBytes -= (kept.pop() as Buffer).length;
  }

  return { lines: kept, keptBytes, cut };
}

/** Bytes a collector may hold beyond twice its budget before it cuts, which bounds how often it cuts. */
const CUT_SLACK_BYTES = 64 * 1024;

/**
 * Collects patch sections from a stream while keeping memory near the budget. Each
 * section may keep at most what it could still be granted, the budget less what
 * higher priorities hold, and when the kept total passes twice the budget every section is
 * cut to its current fair share. Shares only shrink as files arrive, so nothing a final
 * share needs is ever dropped.
 */
export class PatchCollector {
  readonly #budget: number;
  readonly #priorityOf: (index: number) => number;
  readonly #overheadOf: (index: number) => number;
  readonly #minimumBytes: number;
  readonly #slackBytes: number;
  readonly #sections = new Map<number, PatchSection>();
  /** Sections that still keep some text: the only ones a cut can change. */
  readonly #holding = new Set<PatchSection>();
  readonly #keptByPriority = new Map<number, number>();
  #keptTotal = 0;

  /**
   * `overheadOf` gives the bytes a shown section costs besides its lines (its heading),
   * `minimumBytes` the least text worth showing of one file, and `slackBytes` what may be
   * held beyond twice the budget before a cut (64 KiB by default).
   */
  constructor(
    budgetBytes: number,
    priorityOf: (index: number) => number,
    options: { overheadOf?: (index: number) => number; minimumBytes?: number; slackBytes?: number } = {},
  ) {
    this.#budget = Math.max(0, Math.floor(budgetBytes));
    this.#priorityOf = priorityOf;
    this.#overheadOf = options.overheadOf ?? (() => 0);
    this.#minimumBytes = options.minimumBytes ?? 0;
    this.#slackBytes = options.slackBytes ?? CUT_SLACK_BYTES;
  }

  /** Bytes the section at `index` may keep: what is left after higher priorities. */
  limitFor(index: number): number {
    const priority = this.#priorityOf(index);
    let higher = 0;
    for (const [other, kept] of this.#keptByPriority) {
      if (other < priority) {
        higher += kept;
      }
    }

    return Math.max(0, this.#budget - higher);
  }

  add(section: PatchSection): void {
    this.#sections.set(section.index, section);
    this.#adjustKept(section.index, section.keptBytes);
    if (section.keptBytes > 0) {
      this.#holding.add(section);
    }

    // The slack keeps cuts rare when the budget is tiny: each cut visits every holding section.
    if (this.#keptTotal > 2 * this.#budget + this.#slackBytes) {
      this.#cutToShares();
    }
  }

  /** Cuts every section to its final share and returns the sections by index. */
  finish(): Map<number, PatchSection> {
    this.#cutToShares();
    return this.#sections;
  }

  #cutToShares(): void {
    // Claims count a shown section's heading, so the shares add up to what is rendered.
    const claims = [...this.#holding].map((section) => {
      const overhead = section.keptBytes > 0 ? this.#overheadOf(section.index) : 0;
      return {
        key: section.index,
        priority: this.#priorityOf(section.index),
        size: section.keptBytes + overhead,
        floor: this.#minimumBytes + overhead,
        rank: section.totalBytes,
      };
    });
    const shares = allocateBudget(claims, this.#budget);

    for (const section of this.#holding) {
      const overhead = section.keptBytes > 0 ? this.#overheadOf(section.index) : 0;
      const share = Math.max(0, (shares.get(section.index) ?? 0) - overhead);
      if (share >= section.keptBytes) {
        continue;
      }

      const { lines, keptBytes } = truncateLines(section.lines, share);
      this.#adjustKept(section.index, keptBytes - section.keptBytes);
      section.lines = lines;
      section.keptBytes = keptBytes;
      section.truncated = true;
      if (keptBytes === 0) {
        this.#holding.delete(section);
      }
    }
  }

  #adjustKept(index: number, delta: number): void {
    const priority = this.#priorityOf(index);
    this.#keptByPriority.set(priority, (this.#keptByPriority.get(priority) ?? 0) + delta);
    this.#keptTotal += delta;
  }
}

function isHunkHeader(line: Buffer): boolean {
  return line.length >= 2 && line[0] === 0x40 && line[1] === 0x40;
}
