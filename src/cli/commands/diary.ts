import { buildDiary, DIARY_GROUPINGS } from '../../api/diary.js';
import type { Diary, DiaryGrouping } from '../../diary/types.js';
import { InvalidOptionError } from '../../errors.js';
import { renderDiaryMarkdown } from '../render/diary-markdown.js';
import { renderDiaryText } from '../render/diary-text.js';
import { paintFor } from '../render/paint.js';

const FORMATS = ['text', 'markdown', 'json', 'html'] as const;
type DiaryFormat = (typeof FORMATS)[number];

/** Widest text view, and the width on a pipe, as `stepper show` uses them. */
const MAX_TEXT_WIDTH = 100;
const PIPE_TEXT_WIDTH = 80;

export interface DiaryCommandOptions {
  since?: string;
  until?: string;
  by?: string;
  author?: string;
  allRepos?: boolean;
  timeZone?: string;
  format?: string;
  json?: boolean;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
}

/** Prints the diary of the current repository, or of every known one with `allRepos`. */
export async function runDiary(options: DiaryCommandOptions): Promise<void> {
  const format = chooseFormat(options);
  const by = options.by ?? 'day';
  if (!DIARY_GROUPINGS.includes(by as DiaryGrouping)) {
    throw new InvalidOptionError('--by', DIARY_GROUPINGS.join(', '), by);
  }

  const diary = await buildDiary({
    since: options.since,
    until: options.until,
    by: by as DiaryGrouping,
    author: options.author,
    allRepos: options.allRepos === true,
    timeZone: options.timeZone,
    cwd: options.cwd,
  });
  process.stdout.write(await render(diary, format));
}

function chooseFormat(options: DiaryCommandOptions): DiaryFormat {
  if (options.json && options.format !== undefined && options.format !== 'json') {
    throw new InvalidOptionError('--format', 'json or no --format together with --json', options.format);
  }

  const format = options.json ? 'json' : (options.format ?? 'text');
  if (!FORMATS.includes(format as DiaryFormat)) {
    throw new InvalidOptionError('--format', FORMATS.join(', '), format);
  }
  return format as DiaryFormat;
}

async function render(diary: Diary, format: DiaryFormat): Promise<string> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(diary, null, 2)}\n`;
    case 'markdown':
      return renderDiaryMarkdown(diary);
    case 'html': {
      const { renderDiaryHtml } = await import('../render/diary-html.js');
      return renderDiaryHtml(diary);
    }
    default:
      return renderDiaryText(diary, { paint: await paintFor(process.stdout), width: textWidth() });
  }
}

function textWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : PIPE_TEXT_WIDTH;
  return Math.min(columns || PIPE_TEXT_WIDTH, MAX_TEXT_WIDTH);
}
