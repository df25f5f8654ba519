// The versions stored with each report. They live apart from prompt.ts and schema.ts so that
// `stepper report`, which compares them with a stored report's, does not load the prompt builder.

/** Version of the prompt text; stored with each report so a prompt change can be traced. */
export const PROMPT_VERSION = 1;

/** Version of the report's shape; stored with each report so rows of an older shape can be recognized. */
export const REPORT_SCHEMA_VERSION = 1;
