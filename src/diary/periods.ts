import type { DiaryGrouping } from './types.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_MS = 86_400_000;

/** A date on the calendar, without a time of day or a zone. `month` is 1 to 12. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** One period of a grouping: its key, label and the civil dates it starts on and ends before. */
export interface PeriodSpan {
  key: string;
  label: string;
  first: CivilDate;
  /** First date after the period. */
  next: CivilDate;
}

/**
 * Calendar of one IANA time zone: which civil date an instant falls on, when a civil date
 * starts, and the UTC offset at an instant. Days are cut where the zone's clocks pass
 * midnight, so a day with a daylight-saving change lasts 23 or 25 hours.
 */
export class ZoneCalendar {
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #starts = new Map<string, number>();

  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Returns the civil date and time of day of `ms` in the zone. */
  wallClock(ms: number): CivilDate & { hour: number; minute: number; second: number } {
    const parts: Record<string, number> = {};
    for (const part of this.#format.formatToParts(ms)) {
      if (part.type !== 'literal') {
        parts[part.type] = Number(part.value);
      }
    }

    return {
      year: parts.year ?? 0,
      month: parts.month ?? 0,
      day: parts.day ?? 0,
      hour: parts.hour ?? 0,
      minute: parts.minute ?? 0,
      second: parts.second ?? 0,
    };
  }

  dateOf(ms: number): CivilDate {
    const { year, month, day } = this.wallClock(ms);
    return { year, month, day };
  }

  /** Returns the zone's offset from UTC at `ms`, in milliseconds (east positive). */
  offsetAt(ms: number): number {
    const clock = this.wallClock(ms);
    const asUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
  }

  /**
   * Returns the first instant of `date` in the zone. That is midnight, unless the clocks
   * skip midnight on that date (as in zones that change at 00:00), where it is the first
   * instant after the gap.
   */
  startOf(date: CivilDate): number {
    const key = dateKey(date);
    const cached = this.#starts.get(key);
    if (cached !== undefined) {
      return cached;
    }

    const midnightUtc = Date.UTC(date.year, date.month - 1, date.day);
    let guess = midnightUtc - this.offsetAt(midnightUtc);
    guess = midnightUtc - this.offsetAt(guess);

    const clock = this.wallClock(guess);
    let start = guess;
    if (compareDates(clock, date) !== 0 || clock.hour !== 0 || clock.minute !== 0 || clock.second !== 0) {
      start = this.#searchStart(date, midnightUtc);
    }

    this.#starts.set(key, start);
    return start;
  }

  /** Finds the first second whose date is `date` or later, within a day of UTC midnight. */
  #searchStart(date: CivilDate, midnightUtc: number): number {
    let low = midnightUtc - DAY_MS;
    let high = midnightUtc + DAY_MS;
    while (high - low > 1000) {
      const middle = Math.floor((low + high) / 2000) * 1000;
      if (compareDates(this.dateOf(middle), date) >= 0) {
        high = middle;
      } else {
        low = middle;
      }
    }
    return high;
  }

  /** Formats `ms` as ISO 8601 with the zone's offset, such as `2026-03-29T00:00:00+01:00`. */
  isoString(ms: number): string {
    const offset = this.offsetAt(ms);
    const local = new Date(Math.floor(ms / 1000) * 1000 + offset).toISOString().slice(0, 19);
    const sign = offset < 0 ? '-' : '+';
    const minutes = Math.abs(offset) / 60_000;
    return `${local}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
  }
}

/** Returns the period of `grouping` that contains `date`. */
export function periodOf(date: CivilDate, grouping: DiaryGrouping): PeriodSpan {
  if (grouping === 'day') {
    return { key: dateKey(date), label: dayLabel(date), first: date, next: addDays(date, 1) };
  }

  if (grouping === 'month') {
    const first = { year: date.year, month: date.month, day: 1 };
    const next = date.month === 12 ? { year: date.year + 1, month: 1, day: 1 } : { year: date.year, month: date.month + 1, day: 1 };
    return { key: `${date.year}-${pad(date.month)}`, label: `${MONTHS[date.month - 1]} ${date.year}`, first, next };
  }

  // ISO 8601 weeks start on Monday, and week 1 is the week with the year's first Thursday.
  const first = addDays(date, -((weekday(date) + 6) % 7));
  const thursday = addDays(first, 3);
  const week = Math.floor((dayNumber(thursday) - dayNumber({ year: thursday.year, month: 1, day: 1 })) / 7) + 1;
  const last = addDays(first, 6);
  return { key: `${thursday.year}-W${pad(week)}`, label: `Week ${week}, ${rangeLabel(first, last)}`, first, next: addDays(first, 7) };
}

/** Returns every period from the one containing `from` to the one containing `to`, both included. */
export function periodsBetween(from: CivilDate, to: CivilDate, grouping: DiaryGrouping): PeriodSpan[] {
  const periods: PeriodSpan[] = [];
  let period = periodOf(from, grouping);
  while (compareDates(period.first, to) <= 0) {
    periods.push(period);
    period = periodOf(period.next, grouping);
  }
  return periods;
}

export function compareDates(a: CivilDate, b: CivilDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

export function dateKey(date: CivilDate): string {
  return `${String(date.year).padStart(4, '0')}-${pad(date.month)}-${pad(date.day)}`;
}

function addDays(date: CivilDate, days: number): CivilDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY_MS);
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

/** Days since 1970-01-01 of a civil date, counted on the proleptic Gregorian calendar. */
function dayNumber(date: CivilDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / DAY_MS;
}

/** Day of the week, 0 for Sunday. */
function weekday(date: CivilDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

function dayLabel(date: CivilDate): string {
  return `${WEEKDAYS[weekday(date)]} ${date.day} ${MONTHS[date.month - 1]} ${date.year}`;
}

/** Labels a range of dates as `23–29 March 2026`, `30 March – 5 April 2026` or `29 December 2025 – 4 January 2026`. */
function rangeLabel(first: CivilDate, last: CivilDate): string {
  if (first.year !== last.year) {
    return `${first.day} ${MONTHS[first.month - 1]} ${first.year} – ${last.day} ${MONTHS[last.month - 1]} ${last.year}`;
  }
  if (first.month !== last.month) {
    return `${first.day} ${MONTHS[first.month - 1]} – ${last.day} ${MONTHS[last.month - 1]} ${last.year}`;
  }
  return `${first.day}–${last.day} ${MONTHS[first.month - 1]} ${first.year}`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
